//! Seeded synthetic data with planted structure, for tests and scaling benchmarks.
//!
//! Model: `K` latent factors (topics). Item `i` has one dominant factor and a Zipf-like
//! popularity within it. User `u` has a dominant factor (70% of draws), a second factor (20%)
//! and 10% uniform-topic draws; within a topic, items are drawn by popularity. Ratings are 5 on
//! the dominant factor, 4 on the second, 1-3 otherwise. Item text is derived from the factor:
//! title words come from the factor's own vocabulary and the genre is `topic-<k>`, so a text
//! encoder can recover the structure. Timestamps increase per user.
//!
//! Rows are produced user by user in a stream, so any size (20M+) is written in constant
//! memory. Every draw descends from `Seed::new(seed)` through named children.

use crate::error::{DataError, Result};
use crate::raw::RawData;
use quadrec_core::Seed;
use rand::RngExt;
use std::io::Write;
use std::path::Path;

/// Generator parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SynthConfig {
    /// Users.
    pub n_users: u32,
    /// Items.
    pub n_items: u32,
    /// Total interactions.
    pub n_interactions: u64,
    /// Latent factors.
    pub n_factors: u32,
    /// Root seed.
    pub seed: u64,
}

/// Share of a user's draws from their dominant factor.
pub const DOMINANT_SHARE: f64 = 0.7;
/// Share from their second factor.
pub const SECOND_SHARE: f64 = 0.2;

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ren", "su", "ta", "vo", "zel", "pra", "qui", "dor", "fen", "gal", "hul",
    "jin", "mor", "nex", "oro", "pel", "ras", "sil", "tor", "ulm", "vix",
];

/// The planted model, built once from the config.
pub struct Planted {
    cfg: SynthConfig,
    /// Dominant factor of each item.
    pub item_factor: Vec<u32>,
    /// Items of each factor, and their cumulative popularity weights.
    by_factor: Vec<(Vec<u32>, Vec<f64>)>,
    /// (dominant, second) factor of each user.
    pub user_factors: Vec<(u32, u32)>,
    counts: Vec<u64>,
}

impl Planted {
    /// Build the planted model (O(users + items) memory).
    pub fn new(cfg: &SynthConfig) -> Result<Self> {
        if cfg.n_users == 0 || cfg.n_items == 0 || cfg.n_factors == 0 || cfg.n_factors > cfg.n_items
        {
            return Err(DataError::EmptyAfterProcessing(
                "synthetic".into(),
                format!("invalid config {cfg:?}"),
            ));
        }
        let root = Seed::new(cfg.seed);
        let k = cfg.n_factors;
        let mut rng = root.child("synth/items").rng();
        let item_factor: Vec<u32> = (0..cfg.n_items).map(|_| rng.random_range(0..k)).collect();
        let mut by_factor: Vec<(Vec<u32>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); k as usize];
        for (i, &f) in item_factor.iter().enumerate() {
            let (items, cum) = &mut by_factor[f as usize];
            let rank = items.len() as f64;
            let w = 1.0 / (rank + 1.0).powf(0.8);
            cum.push(cum.last().copied().unwrap_or(0.0) + w);
            items.push(i as u32);
        }
        let mut rng = root.child("synth/users").rng();
        let user_factors: Vec<(u32, u32)> = (0..cfg.n_users)
            .map(|_| {
                let a = rng.random_range(0..k);
                let b = if k > 1 { (a + 1 + rng.random_range(0..k - 1)) % k } else { a };
                (a, b)
            })
            .collect();
        // Activity per user: weights in [0.25, 1.75), counts proportional, at least 1 each.
        let w: Vec<f64> = (0..cfg.n_users).map(|_| 0.25 + 1.5 * rng.random::<f64>()).collect();
        let total: f64 = w.iter().sum();
        let n = cfg.n_interactions.max(cfg.n_users as u64);
        let mut counts: Vec<u64> =
            w.iter().map(|x| ((x / total) * n as f64).floor().max(1.0) as u64).collect();
        let mut s: u64 = counts.iter().sum();
        let mut u = 0usize;
        let nu = counts.len();
        while s < n {
            counts[u % nu] += 1;
            s += 1;
            u += 1;
        }
        Ok(Planted { cfg: cfg.clone(), item_factor, by_factor, user_factors, counts })
    }

    fn draw_in(&self, f: u32, rng: &mut rand_chacha::ChaCha8Rng) -> u32 {
        let (items, cum) = &self.by_factor[f as usize];
        if items.is_empty() {
            return rng.random_range(0..self.cfg.n_items);
        }
        let x = rng.random::<f64>() * cum[cum.len() - 1];
        items[cum.partition_point(|&c| c <= x).min(items.len() - 1)]
    }

    /// Call `f(user, item, rating, timestamp)` for every interaction, user by user, time order.
    pub fn for_each(&self, mut f: impl FnMut(u32, u32, f32, i64) -> Result<()>) -> Result<()> {
        let root = Seed::new(self.cfg.seed).child("synth/rows");
        let k = self.cfg.n_factors;
        for u in 0..self.cfg.n_users {
            let mut rng = root.index(u as u64).rng();
            let (a, b) = self.user_factors[u as usize];
            let mut t: i64 = 1_500_000_000 + rng.random_range(0..63_072_000);
            for _ in 0..self.counts[u as usize] {
                let x = rng.random::<f64>();
                let topic = if x < DOMINANT_SHARE {
                    a
                } else if x < DOMINANT_SHARE + SECOND_SHARE {
                    b
                } else {
                    rng.random_range(0..k)
                };
                let item = self.draw_in(topic, &mut rng);
                let fi = self.item_factor[item as usize];
                let rating = if fi == a {
                    5.0
                } else if fi == b {
                    4.0
                } else {
                    rng.random_range(1..4) as f32
                };
                t += rng.random_range(60..259_200);
                f(u, item, rating, t)?;
            }
        }
        Ok(())
    }

    /// Title of item `i`: three words of its factor's vocabulary, then a serial number.
    pub fn item_title(&self, i: u32) -> String {
        let f = self.item_factor[i as usize] as usize;
        let mut rng = Seed::new(self.cfg.seed).child("synth/titles").index(i as u64).rng();
        let mut words = Vec::new();
        for _ in 0..3 {
            // Vocabulary of factor f: 8 words, each two syllables chosen by (f, j).
            let j = rng.random_range(0..8usize);
            let w = format!(
                "{}{}",
                SYLLABLES[(f * 7 + j * 3) % 24],
                SYLLABLES[(f * 5 + j * 11 + 1) % 24]
            );
            words.push(w);
        }
        format!("{} {}", words.join(" "), i)
    }
}

/// Generate in memory as [`RawData`] (raw ids are the decimal indices).
pub fn generate(cfg: &SynthConfig) -> Result<RawData> {
    let p = Planted::new(cfg)?;
    let mut raw = RawData::new("synthetic");
    let path = Path::new("<synthetic>");
    let mut ln = 0u64;
    p.for_each(|u, i, r, t| {
        ln += 1;
        raw.push(path, ln, &u.to_string(), &i.to_string(), r, t)
    })?;
    let mut seen = std::collections::HashMap::new();
    for i in 0..cfg.n_items {
        let info = crate::raw::RawItem {
            title: p.item_title(i),
            year: Some(1980 + (i % 40) as i32),
            genres: vec![format!("topic-{}", p.item_factor[i as usize])],
            ..Default::default()
        };
        raw.set_item(
            path,
            i as u64 + 1,
            &i.to_string(),
            info,
            crate::raw::SideIds::Lenient,
            &mut seen,
        )?;
    }
    Ok(raw)
}

/// Write RecBole atomic files `synth.inter`, `synth.item`, `synth.user` into `dir`, streaming,
/// each atomically. `progress(n)` is called every 1M rows.
pub fn write_atomic_files(cfg: &SynthConfig, dir: &Path, progress: &dyn Fn(u64)) -> Result<()> {
    let p = Planted::new(cfg)?;
    let io = |path: &Path| DataError::io(path.to_path_buf());
    let inter = dir.join("synth.inter");
    quadrec_core::fsx::write_atomic_with(&inter, |f| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        writeln!(w, "user_id:token\titem_id:token\trating:float\ttimestamp:float")?;
        let mut n = 0u64;
        let r = p.for_each(|u, i, r, t| {
            n += 1;
            if n.is_multiple_of(1_000_000) {
                progress(n);
            }
            writeln!(w, "{u}\t{i}\t{r}\t{t}").map_err(DataError::io(&inter))
        });
        r.map_err(|e| std::io::Error::other(e.to_string()))?;
        w.flush()
    })
    .map_err(io(&inter))?;
    let item = dir.join("synth.item");
    quadrec_core::fsx::write_atomic_with(&item, |f| {
        let mut w = std::io::BufWriter::new(f);
        writeln!(w, "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq")?;
        for i in 0..cfg.n_items {
            writeln!(
                w,
                "{i}\t{}\t{}\ttopic-{}",
                p.item_title(i),
                1980 + i % 40,
                p.item_factor[i as usize]
            )?;
        }
        w.flush()
    })
    .map_err(io(&item))?;
    let user = dir.join("synth.user");
    quadrec_core::fsx::write_atomic_with(&user, |f| {
        let mut w = std::io::BufWriter::new(f);
        writeln!(w, "user_id:token\tage:float\tregion:token")?;
        let mut rng = Seed::new(cfg.seed).child("synth/user-features").rng();
        for u in 0..cfg.n_users {
            writeln!(w, "{u}\t{}\tr{}", rng.random_range(16..70u32), rng.random_range(0..5u32))?;
        }
        w.flush()
    })
    .map_err(io(&user))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SynthConfig {
        SynthConfig { n_users: 200, n_items: 120, n_interactions: 6000, n_factors: 4, seed: 7 }
    }

    #[test]
    fn deterministic_and_exact_size() {
        let a = generate(&cfg()).unwrap();
        let b = generate(&cfg()).unwrap();
        assert_eq!(a.interactions, b.interactions);
        assert_eq!(a.interactions.len(), 6000);
        let c = generate(&SynthConfig { seed: 8, ..cfg() }).unwrap();
        assert_ne!(a.interactions, c.interactions);
    }

    #[test]
    fn planted_structure_is_recoverable() {
        // Share of each user's rows on their dominant factor must be near 0.7 + 0.1/K, far
        // above the 1/K of unstructured data.
        let c = cfg();
        let p = Planted::new(&c).unwrap();
        let (mut on, mut all) = (0u64, 0u64);
        p.for_each(|u, i, _, _| {
            all += 1;
            on += (p.item_factor[i as usize] == p.user_factors[u as usize].0) as u64;
            Ok(())
        })
        .unwrap();
        let share = on as f64 / all as f64;
        assert!((share - (0.7 + 0.1 / 4.0)).abs() < 0.03, "dominant share {share}");
        // Item text carries the factor: items of one factor share the genre and vocabulary.
        let raw = generate(&c).unwrap();
        let d = crate::process::process("s", raw, &Default::default()).unwrap();
        let i0 = d.items.raw_ids.iter().position(|r| r == "0").unwrap() as u32;
        assert_eq!(d.items.genres(i0), [format!("topic-{}", p.item_factor[0])]);
    }
}
