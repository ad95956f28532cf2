//! Residual-quantised VAE (RQ-VAE) that turns item embeddings into semantic-ID tuples.
//!
//! Paper: Rajput et al., "Recommender Systems with Generative Retrieval" (TIGER), NeurIPS 2023,
//! section 3.1, after Zeghidour et al.'s residual vector quantiser (SoundStream). An MLP encoder
//! maps an item's text embedding `x` (MiniLM, 384-d) to a latent `z`; `L` codebooks of `C`
//! codes quantise it residually (`r_0 = z`, `c_l = argmin_k |r_l - e_{l,k}|`,
//! `r_{l+1} = r_l - e_{l,c_l}`); an MLP decoder reconstructs `x` from `sum_l e_{l,c_l}` with a
//! straight-through gradient. Loss = reconstruction MSE + `beta * sum_l |r_l - sg(e_{l,c_l})|^2`
//! (the commitment term, `beta = 0.25` as in TIGER).
//!
//! Differences from TIGER, and why:
//! - Codebooks are updated by exponential moving averages of their assigned residuals (the
//!   VQ-VAE-2 / SoundStream rule) instead of by the codebook term of the loss: the EMA update is
//!   the standard remedy for codebook collapse and makes the codebook step independent of the
//!   learning rate. The encoder still gets the commitment gradient.
//! - Codebooks are initialised by k-means (Lloyd, seeded) on the residuals of ALL fitting items
//!   encoded by the initial encoder (TIGER: k-means on the first batch; with ~10^3 items the
//!   first batch is the whole fitting set anyway).
//! - Dead codes (no assignment during the last `restart_every` steps) are restarted at a random
//!   residual of the current batch (SoundStream's codebook restart).
//! - Adam instead of Adagrad, and far fewer steps than TIGER's 20k epochs (a recorded param).
//!
//! Fitting set: the caller passes the items the RQ-VAE may be fitted on (for quadrec, items with
//! at least one TRAIN interaction). Items outside it get codes by encoding their text embedding
//! through the trained encoder and quantising with the trained codebooks: item text is side
//! information, not a label, and nothing is fitted on it.
//!
//! Collision level: items that share all `L` codes get a final code = running index among the
//! items sharing that prefix, so that every item has a unique `L + 1` tuple. Fitting items are
//! numbered first (in id order), then the other items (in id order), so the fitting items'
//! tuples do not depend on items outside the fitting set.

use burn::module::Module;
use burn::nn::Linear;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use quadrec_core::Seed;
use quadrec_models::common::{linear_xavier, tensor, to_vec};
use rand::RngExt;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// RQ-VAE params (nested as `rqvae` in TIGER's params).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RqVaeConfig {
    /// Encoder hidden widths (the decoder mirrors them). TIGER: 512, 256, 128.
    pub hidden: Vec<usize>,
    /// Latent (and codebook vector) width. TIGER: 32.
    pub latent_dim: usize,
    /// Quantisation levels `L` (before the collision level). TIGER: 3.
    pub levels: usize,
    /// Codes per level `C`. TIGER: 256.
    pub codebook_size: usize,
    /// Commitment weight. TIGER: 0.25.
    pub beta: f64,
    /// Adam steps.
    pub steps: usize,
    /// Items per step (sampled without replacement from the fitting set each epoch).
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// EMA decay of the codebook statistics.
    pub ema_decay: f64,
    /// Lloyd iterations of the k-means initialisation.
    pub kmeans_iters: usize,
    /// Restart codes unused during this many steps (0 = never).
    pub restart_every: usize,
}

impl Default for RqVaeConfig {
    fn default() -> Self {
        RqVaeConfig {
            hidden: vec![512, 256, 128],
            latent_dim: 32,
            levels: 3,
            codebook_size: 256,
            beta: 0.25,
            steps: 2000,
            batch_size: 1024,
            learning_rate: 1e-3,
            ema_decay: 0.99,
            kmeans_iters: 20,
            restart_every: 100,
        }
    }
}

/// An MLP with ReLU between layers (none after the last).
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
}

impl Mlp {
    fn new(rng: &mut ChaCha8Rng, widths: &[usize], device: &Device) -> Self {
        Mlp { layers: widths.windows(2).map(|w| linear_xavier(rng, w[0], w[1], device)).collect() }
    }

    /// `[B, d_in] -> [B, d_out]`.
    fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        let n = self.layers.len();
        for (i, l) in self.layers.iter().enumerate() {
            x = l.forward(x);
            if i + 1 < n {
                x = relu(x);
            }
        }
        x
    }
}

/// Encoder and decoder of the RQ-VAE.
#[derive(Module, Debug)]
pub struct RqVaeNet {
    encoder: Mlp,
    decoder: Mlp,
}

/// Residual codebooks, row-major `[levels][codebook_size * latent_dim]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Codebooks {
    /// Vector width.
    pub dim: usize,
    /// Codes per level.
    pub size: usize,
    /// One `[size, dim]` table per level.
    pub tables: Vec<Vec<f32>>,
}

impl Codebooks {
    /// Nearest code (lowest index on ties) of `x` in level `l`.
    pub fn nearest(&self, l: usize, x: &[f32]) -> usize {
        nearest(&self.tables[l], self.size, self.dim, x)
    }

    /// Residual codes of `z` at every level, and the cumulative quantised vectors
    /// `S_l = sum_{j <= l} e_{j, c_j}` (row-major `[levels * dim]`).
    pub fn quantise(&self, z: &[f32]) -> (Vec<u32>, Vec<f32>) {
        let d = self.dim;
        let mut r = z.to_vec();
        let mut s = vec![0f32; d];
        let mut codes = Vec::with_capacity(self.tables.len());
        let mut cum = Vec::with_capacity(self.tables.len() * d);
        for l in 0..self.tables.len() {
            let c = self.nearest(l, &r);
            let e = &self.tables[l][c * d..(c + 1) * d];
            for j in 0..d {
                r[j] -= e[j];
                s[j] += e[j];
            }
            codes.push(c as u32);
            cum.extend_from_slice(&s);
        }
        (codes, cum)
    }
}

fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn nearest(table: &[f32], k: usize, d: usize, x: &[f32]) -> usize {
    let mut best = (f32::INFINITY, 0usize);
    for c in 0..k {
        let dist = sq_dist(&table[c * d..(c + 1) * d], x);
        if dist < best.0 {
            best = (dist, c);
        }
    }
    best.1
}

/// Seeded Lloyd k-means of `n` points `[n, d]` into `k` centroids `[k, d]`, k-means++
/// initialisation (when `n < k`, or all points coincide, the surplus centroids duplicate
/// points; they are restarted as dead codes during training). Empty clusters keep their
/// centroid.
pub fn kmeans(points: &[f32], d: usize, k: usize, iters: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let n = points.len() / d;
    assert!(n > 0 && k > 0, "k-means needs points and k >= 1");
    let row = |i: usize| &points[i * d..(i + 1) * d];
    let first = rng.random_range(0..n);
    let mut cent: Vec<f32> = row(first).to_vec();
    let mut d2: Vec<f64> = (0..n).map(|i| sq_dist(row(i), row(first)) as f64).collect();
    for c in 1..k {
        let total: f64 = d2.iter().sum();
        let pick = if total > 0.0 {
            let mut x = rng.random::<f64>() * total;
            let mut pick = n - 1;
            for (i, &w) in d2.iter().enumerate() {
                x -= w;
                if x <= 0.0 && w > 0.0 {
                    pick = i;
                    break;
                }
            }
            pick
        } else {
            c % n
        };
        cent.extend_from_slice(row(pick));
        for (i, v) in d2.iter_mut().enumerate() {
            *v = v.min(sq_dist(row(i), row(pick)) as f64);
        }
    }
    for _ in 0..iters {
        let mut sum = vec![0f64; k * d];
        let mut cnt = vec![0usize; k];
        for p in points.chunks(d) {
            let c = nearest(&cent, k, d, p);
            cnt[c] += 1;
            for j in 0..d {
                sum[c * d + j] += p[j] as f64;
            }
        }
        for c in 0..k {
            if cnt[c] > 0 {
                for j in 0..d {
                    cent[c * d + j] = (sum[c * d + j] / cnt[c] as f64) as f32;
                }
            }
        }
    }
    cent
}

/// Semantic IDs of a whole catalogue.
#[derive(Clone, Debug, PartialEq)]
pub struct SemanticIds {
    /// Quantisation levels `L` (the tuple has `L + 1` codes: the last is the collision index).
    pub levels: usize,
    /// Codes per quantisation level.
    pub codebook_size: usize,
    /// Size of the collision level (largest number of items sharing one `L`-prefix).
    pub collision_size: usize,
    /// Row-major `[n_items, L + 1]` codes.
    pub codes: Vec<u32>,
    /// Items the RQ-VAE was fitted on (sorted).
    pub fit_items: Vec<u32>,
    /// Trained codebooks.
    pub codebooks: Codebooks,
    /// Mean squared reconstruction error per item on the fitting set at the end of training.
    pub recon_mse: f64,
    /// Distinct `L`-prefixes over the catalogue (= n_items when nothing collides).
    pub distinct_prefixes: usize,
}

impl SemanticIds {
    /// Tuple width `L + 1`.
    pub fn width(&self) -> usize {
        self.levels + 1
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.codes.len() / self.width()
    }

    /// Tuple of item `i`.
    pub fn tuple(&self, i: u32) -> &[u32] {
        let w = self.width();
        &self.codes[i as usize * w..(i as usize + 1) * w]
    }

    /// Vocabulary size of each tuple position.
    pub fn level_sizes(&self) -> Vec<usize> {
        let mut v = vec![self.codebook_size; self.levels];
        v.push(self.collision_size);
        v
    }
}

/// Why semantic IDs could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RqVaeError {
    /// Bad input (empty fitting set, wrong embedding size).
    #[error("rq-vae: {0}")]
    Input(String),
    /// Non-finite loss.
    #[error("rq-vae: non-finite loss {loss} at step {step}")]
    Numerical {
        /// Step.
        step: usize,
        /// Loss value.
        loss: f64,
    },
}

/// EMA statistics of one level.
struct Ema {
    size: Vec<f64>,
    sum: Vec<f64>,
    used: Vec<usize>,
}

/// Fit the RQ-VAE on `fit_items` of `emb` (row-major `[n_items, dim]`) and assign every item a
/// unique `L + 1` tuple. `train_device` is an autodiff device.
pub fn fit_semantic_ids(
    emb: &[f32],
    dim: usize,
    fit_items: &[u32],
    cfg: &RqVaeConfig,
    seed: Seed,
    train_device: &Device,
) -> Result<SemanticIds, RqVaeError> {
    if dim == 0 || !emb.len().is_multiple_of(dim) {
        return Err(RqVaeError::Input(format!("{} values are not rows of {dim}", emb.len())));
    }
    let n_items = emb.len() / dim;
    let mut fit: Vec<u32> = fit_items.to_vec();
    fit.sort_unstable();
    fit.dedup();
    if fit.is_empty() {
        return Err(RqVaeError::Input("empty fitting set".into()));
    }
    if let Some(&bad) = fit.iter().find(|&&i| i as usize >= n_items) {
        return Err(RqVaeError::Input(format!("fitting item {bad} outside {n_items} items")));
    }
    if cfg.levels == 0 || cfg.codebook_size == 0 || cfg.latent_dim == 0 {
        return Err(RqVaeError::Input("levels, codebook_size and latent_dim must be >= 1".into()));
    }
    let (ld, k) = (cfg.latent_dim, cfg.codebook_size);
    let mut init_rng = seed.child("rqvae/init").rng();
    let mut widths = vec![dim];
    widths.extend_from_slice(&cfg.hidden);
    widths.push(ld);
    let encoder = Mlp::new(&mut init_rng, &widths, train_device);
    widths.reverse();
    let decoder = Mlp::new(&mut init_rng, &widths, train_device);
    let mut net = RqVaeNet { encoder, decoder };
    let rows = |items: &[u32]| -> Vec<f32> {
        items.iter().flat_map(|&i| emb[i as usize * dim..(i as usize + 1) * dim].to_vec()).collect()
    };
    let encode = |net: &RqVaeNet, items: &[u32]| -> Vec<f32> {
        let mut out = Vec::with_capacity(items.len() * ld);
        for ch in items.chunks(4096) {
            let x = tensor(rows(ch), [ch.len(), dim], train_device);
            out.extend(to_vec(net.encoder.forward(x)));
        }
        out
    };

    // k-means initialisation, level by level on the residuals of all fitting items.
    let mut km_rng = seed.child("rqvae/kmeans").rng();
    let mut tables = Vec::with_capacity(cfg.levels);
    let mut resid = encode(&net, &fit);
    for _ in 0..cfg.levels {
        let cb = kmeans(&resid, ld, k, cfg.kmeans_iters, &mut km_rng);
        for r in resid.chunks_mut(ld) {
            let c = nearest(&cb, k, ld, r);
            for j in 0..ld {
                r[j] -= cb[c * ld + j];
            }
        }
        tables.push(cb);
    }
    let mut books = Codebooks { dim: ld, size: k, tables };
    let mut ema: Vec<Ema> = books
        .tables
        .iter()
        .map(|t| Ema {
            size: vec![1.0; k],
            sum: t.iter().map(|&v| v as f64).collect(),
            used: vec![0; k],
        })
        .collect();

    let mut optim = AdamConfig::new().init();
    let mut batch_rng = seed.child("rqvae/batches").rng();
    let mut restart_rng = seed.child("rqvae/restart").rng();
    let mut order: Vec<u32> = Vec::new();
    let bs = cfg.batch_size.clamp(1, fit.len());
    let gamma = cfg.ema_decay;
    let mut last_recon = f64::NAN;
    for step in 0..cfg.steps {
        if order.len() < bs {
            let mut o = fit.clone();
            o.shuffle(&mut batch_rng);
            order = o;
        }
        let batch: Vec<u32> = order.split_off(order.len() - bs);
        let x = tensor(rows(&batch), [bs, dim], train_device);
        let z = net.encoder.forward(x.clone()); // [B, ld]
        let zh = to_vec(z.clone());
        // Host-side residual quantisation with the current codebooks.
        let mut cum = vec![0f32; cfg.levels * bs * ld]; // [L, B, ld]
        let mut assign = vec![0usize; cfg.levels * bs];
        let mut resid: Vec<f32> = zh.clone(); // [B, ld], residual entering each level
        let mut s = vec![0f32; bs * ld];
        for l in 0..cfg.levels {
            for b in 0..bs {
                let r = &resid[b * ld..(b + 1) * ld];
                let c = nearest(&books.tables[l], k, ld, r);
                assign[l * bs + b] = c;
                for j in 0..ld {
                    s[b * ld + j] += books.tables[l][c * ld + j];
                }
            }
            cum[l * bs * ld..(l + 1) * bs * ld].copy_from_slice(&s);
            // EMA statistics from the residuals entering this level.
            let e = &mut ema[l];
            let mut cnt = vec![0f64; k];
            let mut sum = vec![0f64; k * ld];
            for b in 0..bs {
                let c = assign[l * bs + b];
                cnt[c] += 1.0;
                e.used[c] += 1;
                for j in 0..ld {
                    sum[c * ld + j] += resid[b * ld + j] as f64;
                }
            }
            for c in 0..k {
                e.size[c] = gamma * e.size[c] + (1.0 - gamma) * cnt[c];
                for j in 0..ld {
                    e.sum[c * ld + j] = gamma * e.sum[c * ld + j] + (1.0 - gamma) * sum[c * ld + j];
                }
            }
            // Next level's residuals (before the codebook moves: same codes as the loss uses).
            for b in 0..bs {
                let c = assign[l * bs + b];
                for j in 0..ld {
                    resid[b * ld + j] -= books.tables[l][c * ld + j];
                }
            }
        }
        // Loss: reconstruction through the straight-through quantised latent + commitment.
        let q = tensor(cum[(cfg.levels - 1) * bs * ld..].to_vec(), [bs, ld], train_device);
        let zq = z.clone() + (q - z.clone()).detach();
        let xh = net.decoder.forward(zq);
        let recon = (x - xh).powf_scalar(2.0).sum_dim(1).mean(); // [1]
        let cums = tensor(cum, [cfg.levels, bs, ld], train_device);
        let commit = (z.unsqueeze_dim::<3>(0) - cums).powf_scalar(2.0).sum_dim(2).mean();
        let loss = recon.clone() + commit.mul_scalar(cfg.beta);
        let lv = loss.clone().into_scalar::<f32>() as f64;
        if !lv.is_finite() {
            return Err(RqVaeError::Numerical { step, loss: lv });
        }
        last_recon = recon.into_scalar::<f32>() as f64;
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(cfg.learning_rate, net, grads);
        // Codebook update (Laplace-smoothed EMA means).
        for (l, e) in ema.iter_mut().enumerate() {
            let total: f64 = e.size.iter().sum();
            for c in 0..k {
                let n = (e.size[c] + 1e-5) / (total + k as f64 * 1e-5) * total;
                for j in 0..ld {
                    books.tables[l][c * ld + j] = (e.sum[c * ld + j] / n) as f32;
                }
            }
        }
        // Dead-code restart: unused codes jump to random residuals of this batch.
        if cfg.restart_every > 0 && (step + 1) % cfg.restart_every == 0 {
            let mut entering = zh.clone();
            for (l, e) in ema.iter_mut().enumerate() {
                for c in 0..k {
                    if e.used[c] == 0 {
                        let b = restart_rng.random_range(0..bs);
                        let v = &entering[b * ld..(b + 1) * ld];
                        books.tables[l][c * ld..(c + 1) * ld].copy_from_slice(v);
                        e.size[c] = 1.0;
                        for j in 0..ld {
                            e.sum[c * ld + j] = v[j] as f64;
                        }
                    }
                }
                e.used.iter_mut().for_each(|u| *u = 0);
                for b in 0..bs {
                    let c = assign[l * bs + b];
                    for j in 0..ld {
                        entering[b * ld + j] -= books.tables[l][c * ld + j];
                    }
                }
            }
        }
    }

    // Codes for every item: fitting items and (through the trained encoder) the others.
    let all: Vec<u32> = (0..n_items as u32).collect();
    let z_all = encode(&net, &all);
    let mut prefixes: Vec<Vec<u32>> = Vec::with_capacity(n_items);
    for zi in z_all.chunks(ld) {
        prefixes.push(books.quantise(zi).0);
    }
    // Collision index: fitting items first (id order), then the others (id order).
    let is_fit = {
        let mut v = vec![false; n_items];
        for &i in &fit {
            v[i as usize] = true;
        }
        v
    };
    let mut next: BTreeMap<Vec<u32>, u32> = BTreeMap::new();
    let mut coll = vec![0u32; n_items];
    for pass in [true, false] {
        for i in 0..n_items {
            if is_fit[i] == pass {
                let slot = next.entry(prefixes[i].clone()).or_insert(0);
                coll[i] = *slot;
                *slot += 1;
            }
        }
    }
    let collision_size = next.values().copied().max().unwrap_or(1) as usize;
    let mut codes = Vec::with_capacity(n_items * (cfg.levels + 1));
    for i in 0..n_items {
        codes.extend_from_slice(&prefixes[i]);
        codes.push(coll[i]);
    }
    if cfg.steps == 0 {
        last_recon = f64::NAN;
    }
    Ok(SemanticIds {
        levels: cfg.levels,
        codebook_size: k,
        collision_size,
        codes,
        fit_items: fit,
        codebooks: books,
        recon_mse: last_recon,
        distinct_prefixes: next.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    fn device() -> Device {
        quadrec_models::device::train_device(quadrec_models::device::BackendKind::Flex)
    }

    /// `n` items in `k` well-separated clusters of a `dim`-d space.
    fn clustered(n: usize, k: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = Seed(seed).rng();
        let centres: Vec<f32> = (0..k * dim).map(|_| rng.random::<f32>() * 4.0 - 2.0).collect();
        (0..n)
            .flat_map(|i| {
                let c = i % k;
                (0..dim)
                    .map(|j| centres[c * dim + j] + 0.05 * (rng.random::<f32>() - 0.5))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn cfg() -> RqVaeConfig {
        RqVaeConfig {
            hidden: vec![32],
            latent_dim: 8,
            levels: 2,
            codebook_size: 4,
            steps: 40,
            batch_size: 32,
            kmeans_iters: 5,
            restart_every: 10,
            ..RqVaeConfig::default()
        }
    }

    #[test]
    fn fits_on_the_fitting_set_only_and_encodes_the_rest() {
        let (n, dim) = (60usize, 12usize);
        let emb = clustered(n, 5, dim, 1);
        let fit: Vec<u32> = (0..40).collect();
        let a = fit_semantic_ids(&emb, dim, &fit, &cfg(), Seed(3), &device()).unwrap();
        // Changing (even wildly) the embeddings of items outside the fitting set changes
        // nothing that was fitted: codebooks, reconstruction error, the fitting items' tuples.
        let mut emb2 = emb.clone();
        for v in &mut emb2[40 * dim..] {
            *v = *v * -7.0 + 3.0;
        }
        let b = fit_semantic_ids(&emb2, dim, &fit, &cfg(), Seed(3), &device()).unwrap();
        assert_eq!(a.codebooks, b.codebooks);
        assert_eq!(a.recon_mse.to_bits(), b.recon_mse.to_bits());
        assert_eq!(a.codes[..40 * 3], b.codes[..40 * 3]);
        assert_eq!(a.fit_items, fit);
        // ... whereas changing a fitting item's embedding changes the fit.
        let mut emb3 = emb.clone();
        emb3[..dim].iter_mut().for_each(|v| *v += 1.0);
        let c = fit_semantic_ids(&emb3, dim, &fit, &cfg(), Seed(3), &device()).unwrap();
        assert_ne!(a.codebooks, c.codebooks);
        // Every item, inside or outside the fitting set, has a tuple with codes in range.
        assert_eq!(a.n_items(), n);
        for i in 0..n as u32 {
            let t = a.tuple(i);
            assert!(t[..2].iter().all(|&x| x < 4) && (t[2] as usize) < a.collision_size);
        }
        assert!(a.recon_mse.is_finite());
        assert!(fit_semantic_ids(&emb, dim, &[], &cfg(), Seed(3), &device()).is_err());
        assert!(fit_semantic_ids(&emb, dim, &[60], &cfg(), Seed(3), &device()).is_err());
    }

    #[test]
    fn collision_level_makes_tuples_unique_and_seed_makes_them_reproducible() {
        let (n, dim) = (50usize, 6usize);
        let emb = clustered(n, 3, dim, 2);
        // 1 level x 2 codes for 50 items: most items collide on the prefix.
        let small = RqVaeConfig { levels: 1, codebook_size: 2, ..cfg() };
        let fit: Vec<u32> = (0..n as u32).collect();
        let s = fit_semantic_ids(&emb, dim, &fit, &small, Seed(4), &device()).unwrap();
        assert!(s.distinct_prefixes <= 2 && s.collision_size >= 25, "{s:?}");
        let mut tuples: Vec<&[u32]> = (0..n as u32).map(|i| s.tuple(i)).collect();
        tuples.sort();
        tuples.dedup();
        assert_eq!(tuples.len(), n, "tuples must be unique");
        // Collision codes are a running index 0, 1, 2, ... per prefix.
        for p in 0..2u32 {
            let mut idx: Vec<u32> =
                (0..n as u32).filter(|&i| s.tuple(i)[0] == p).map(|i| s.tuple(i)[1]).collect();
            idx.sort_unstable();
            assert!(idx.iter().enumerate().all(|(k, &x)| x == k as u32));
        }
        let again = fit_semantic_ids(&emb, dim, &fit, &small, Seed(4), &device()).unwrap();
        assert_eq!(s, again);
        let other = fit_semantic_ids(&emb, dim, &fit, &cfg(), Seed(5), &device()).unwrap();
        let base = fit_semantic_ids(&emb, dim, &fit, &cfg(), Seed(4), &device()).unwrap();
        assert_ne!(other.codebooks, base.codebooks);
    }

    #[test]
    fn kmeans_recovers_separated_clusters() {
        let emb = clustered(90, 3, 4, 7);
        let c = kmeans(&emb, 4, 3, 10, &mut Seed(1).rng());
        // Every point's nearest centroid is shared exactly by the points of its cluster.
        let lab: Vec<usize> = emb.chunks(4).map(|p| nearest(&c, 3, 4, p)).collect();
        for i in 0..90 {
            assert_eq!(lab[i], lab[i % 3], "point {i}");
        }
        let mut distinct = lab[..3].to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 3);
    }
}
