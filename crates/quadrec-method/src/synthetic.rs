//! A small seeded generator of interaction sequences with planted structure, for the
//! registry-wide tests: any method that learns anything (popularity, co-occurrence, or order)
//! beats a random scorer on it.
//!
//! Items are split into `n_clusters` contiguous blocks. Each user belongs to one cluster and
//! draws a sequence inside it: with probability `p_follow` the next item is the successor of the
//! previous one on the cluster's ring (order signal for sequential models), otherwise an item
//! drawn from a Zipf law over the cluster (popularity and co-occurrence signal). Items already in
//! the sequence are redrawn, so sequences have no repeats. Leave-one-out: the last item is the
//! test target, the one before the validation target, the rest is train.
//!
//! (The large synthetic data set with realistic statistics lives in quadrec-data; this one is
//! deliberately tiny and has an obvious signal.)

use quadrec_core::Seed;
use quadrec_data::{Interaction, ItemTable, UserTable};
use quadrec_split::TrainView;
use rand::RngExt;
use std::sync::Arc;

/// Shape of the planted data.
#[derive(Clone, Debug)]
pub struct PlantedConfig {
    /// Users.
    pub n_users: u32,
    /// Items (a multiple of `n_clusters` is not required).
    pub n_items: u32,
    /// Clusters of items (and of users).
    pub n_clusters: u32,
    /// Shortest sequence, including the two held-out items (>= 4).
    pub min_len: usize,
    /// Longest sequence.
    pub max_len: usize,
    /// Probability that the next item is the ring successor of the previous one.
    pub p_follow: f64,
    /// Zipf exponent of within-cluster popularity.
    pub zipf: f64,
}

impl PlantedConfig {
    /// Tiny: 24 users x 30 items, for shape/determinism checks (fits in milliseconds).
    pub fn tiny() -> Self {
        PlantedConfig {
            n_users: 24,
            n_items: 30,
            n_clusters: 3,
            min_len: 5,
            max_len: 9,
            p_follow: 0.5,
            zipf: 1.0,
        }
    }

    /// Small: 400 users x 120 items, for the beats-random check.
    pub fn small() -> Self {
        PlantedConfig {
            n_users: 400,
            n_items: 120,
            n_clusters: 6,
            min_len: 6,
            max_len: 16,
            p_follow: 0.5,
            zipf: 1.1,
        }
    }
}

/// Generated data: full sequences plus the leave-one-out train view.
#[derive(Clone, Debug)]
pub struct Planted {
    /// Full per-user sequences (train, then valid target, then test target).
    pub sequences: Vec<Vec<u32>>,
    /// Train rows (all but the last two items of each sequence).
    pub train: TrainView,
}

impl Planted {
    /// Generate from `cfg` and `seed`.
    pub fn generate(cfg: &PlantedConfig, seed: Seed) -> Planted {
        assert!(cfg.min_len >= 4 && cfg.max_len >= cfg.min_len, "bad lengths");
        assert!(cfg.n_clusters >= 1 && cfg.n_items >= cfg.n_clusters * 4, "bad clusters");
        let mut rng = seed.child("planted").rng();
        let per = cfg.n_items / cfg.n_clusters;
        let cluster_items = |c: u32| -> (u32, u32) {
            let lo = c * per;
            let hi = if c + 1 == cfg.n_clusters { cfg.n_items } else { lo + per };
            (lo, hi)
        };
        // Clusters have unequal audiences (weight 1/(c+1)), so global popularity carries signal.
        let cw: Vec<f64> = (0..cfg.n_clusters).map(|c| 1.0 / (c + 1) as f64).collect();
        let cw_total: f64 = cw.iter().sum();
        let mut sequences = Vec::with_capacity(cfg.n_users as usize);
        for _u in 0..cfg.n_users {
            let mut x = rng.random::<f64>() * cw_total;
            let mut c = cfg.n_clusters - 1;
            for (k, w) in cw.iter().enumerate() {
                x -= w;
                if x <= 0.0 {
                    c = k as u32;
                    break;
                }
            }
            let (lo, hi) = cluster_items(c);
            let size = (hi - lo) as usize;
            let len = rng.random_range(cfg.min_len..=cfg.max_len).min(size);
            // Zipf weights over the cluster's items in id order (lowest id = most popular).
            let w: Vec<f64> = (0..size).map(|r| 1.0 / ((r + 1) as f64).powf(cfg.zipf)).collect();
            let total: f64 = w.iter().sum();
            let draw = |rng: &mut rand_chacha::ChaCha8Rng| -> u32 {
                let mut x = rng.random::<f64>() * total;
                for (r, wr) in w.iter().enumerate() {
                    x -= wr;
                    if x <= 0.0 {
                        return lo + r as u32;
                    }
                }
                hi - 1
            };
            let mut seq: Vec<u32> = Vec::with_capacity(len);
            while seq.len() < len {
                let cand = match seq.last() {
                    Some(&prev) if rng.random::<f64>() < cfg.p_follow => {
                        lo + (prev - lo + 1) % (size as u32)
                    }
                    _ => draw(&mut rng),
                };
                if !seq.contains(&cand) {
                    seq.push(cand);
                } else {
                    // Redraw from the popularity law; give up on order for this step.
                    let alt = draw(&mut rng);
                    if !seq.contains(&alt) {
                        seq.push(alt);
                    }
                }
            }
            sequences.push(seq);
        }
        let mut rows = Vec::new();
        for (u, seq) in sequences.iter().enumerate() {
            for (t, &i) in seq[..seq.len() - 2].iter().enumerate() {
                rows.push(Interaction {
                    user: u as u32,
                    item: i,
                    rating: 1.0,
                    timestamp: 1_000_000 + t as i64 * 60,
                });
            }
        }
        let items = ItemTable::with_raw_ids((0..cfg.n_items).map(|i| format!("i{i}")).collect());
        let users = UserTable::with_raw_ids((0..cfg.n_users).map(|u| format!("u{u}")).collect());
        let train = TrainView::from_interactions(
            cfg.n_users,
            cfg.n_items,
            rows,
            Arc::new(items),
            Arc::new(users),
        );
        Planted { sequences, train }
    }

    /// Validation-time input history of `user` (train items).
    pub fn valid_history(&self, user: u32) -> &[u32] {
        let s = &self.sequences[user as usize];
        &s[..s.len() - 2]
    }

    /// Validation target of `user`.
    pub fn valid_target(&self, user: u32) -> u32 {
        let s = &self.sequences[user as usize];
        s[s.len() - 2]
    }

    /// Test-time input history of `user` (train + valid items).
    pub fn test_history(&self, user: u32) -> &[u32] {
        let s = &self.sequences[user as usize];
        &s[..s.len() - 1]
    }

    /// Test target of `user`.
    pub fn test_target(&self, user: u32) -> u32 {
        *self.sequences[user as usize].last().expect("non-empty")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_seeded_and_has_no_repeats() {
        let a = Planted::generate(&PlantedConfig::small(), Seed(1));
        let b = Planted::generate(&PlantedConfig::small(), Seed(1));
        let c = Planted::generate(&PlantedConfig::small(), Seed(2));
        assert_eq!(a.sequences, b.sequences);
        assert_ne!(a.sequences, c.sequences);
        for s in &a.sequences {
            let mut t = s.clone();
            t.sort_unstable();
            t.dedup();
            assert_eq!(t.len(), s.len());
            assert!(s.len() >= 6);
        }
        assert_eq!(a.train.n_items(), 120);
        assert_eq!(a.train.user_items(0), a.valid_history(0));
    }
}
