//! DIN: deep interest network, target-aware attention over the user's history.
//!
//! Paper: Zhou et al., "Deep Interest Network for Click-Through Rate Prediction", KDD 2018.
//! Survey: scoring/ranking stage, item scoring (pointwise CTR) task, conventional. Recipe:
//! RecBole 1.2.1 `DIN` defaults (embedding 10, attention MLP [64, 32] on
//! `[h, t, h - t, h * t]` with sigmoid activations, unnormalised (no softmax) masked weights,
//! prediction MLP [256, 256, 256] over `[user, target, pooled history]`, dropout 0, Adam
//! lr 1e-3, batch 2048, BCE) with the shared CTR examples of `ctr.rs`. Differences: ReLU instead
//! of Dice/PReLU in the prediction MLP; the user id is a field (RecBole DIN uses user features).

use super::ctr::{CtrData, CtrMethod, CtrNet, CtrTensors, Mlp, pair_logits};
use crate::common::{int_tensor, linear_xavier, normal_param, tensor, to_vec};
use crate::train::TrainConfig;
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use quadrec_method::{Method, ParamsError, parse_params};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

const ID: &str = "din";

/// DIN params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DinParams {
    /// Embedding size (items shared between target and history).
    pub embedding_size: usize,
    /// Attention MLP hidden sizes.
    pub attention_mlp: Vec<usize>,
    /// Prediction MLP hidden sizes.
    pub mlp_hidden_size: Vec<usize>,
    /// Dropout in the prediction MLP.
    pub dropout: f64,
    /// Example construction.
    pub data: CtrData,
    /// Optimisation.
    pub train: TrainConfig,
}

impl Default for DinParams {
    fn default() -> Self {
        DinParams {
            embedding_size: 10,
            attention_mlp: vec![64, 32],
            mlp_hidden_size: vec![256, 256, 256],
            dropout: 0.0,
            data: CtrData::default(),
            train: TrainConfig::default(),
        }
    }
}

/// DIN.
#[derive(Module, Debug)]
pub struct DinNet {
    user: Param<Tensor<2>>,
    /// `[n_items + 1, d]`, shared by target and history (row n_items = padding).
    item: Param<Tensor<2>>,
    att: Vec<Linear>,
    att_out: Linear,
    mlp: Mlp,
}

impl CtrNet for DinNet {
    fn logits(&self, x: &CtrTensors, rng: Option<&mut ChaCha8Rng>) -> Tensor<2> {
        let [b, h] = x.hist.dims();
        let d = self.item.val().dims()[1];
        let t = self.item.val().select(0, x.item.clone()); // [B, d]
        let hist = self.item.val().select(0, x.hist.clone().reshape([b * h])).reshape([b, h, d]);
        let tt = t.clone().unsqueeze_dim::<3>(1).repeat_dim(1, h); // [B, H, d]
        let mut a = Tensor::cat(
            vec![hist.clone(), tt.clone(), hist.clone() - tt.clone(), hist.clone() * tt],
            2,
        ); // [B, H, 4d]
        for l in &self.att {
            a = sigmoid(l.forward(a));
        }
        let w = self.att_out.forward(a) * x.hist_mask.clone(); // [B, H, 1], padding weight 0
        let pooled = (hist * w).sum_dim(1).reshape([b, d]);
        let u = self.user.val().select(0, x.user.clone());
        self.mlp.forward(Tensor::cat(vec![u, t, pooled], 1), rng)
    }

    /// Many queries at once. DIN's attention weight of a history slot depends on the (target,
    /// history item) pair only, not on the user: the weights of every (target, history item)
    /// pair of the batch are computed ONCE into a table (see [`DinInfer`]) and gathered per
    /// query, instead of once per (query, slot). Per query only the pooling and the
    /// prediction MLP remain. (One query alone: the pair path, [`pair_logits`], measured
    /// faster than a split-layer per-query path.)
    fn batch_logits(
        &self,
        queries: &[(u32, Vec<i64>)],
        items: &[u32],
        pad: i64,
        device: &Device,
    ) -> Vec<f32> {
        // Distinct real history items of the batch: the table pays off when they are fewer
        // than the (query, slot) pairs (943 ML-100K users: ~1,600 vs 18,860).
        let mut distinct: Vec<i64> =
            queries.iter().flat_map(|(_, h)| h.iter().copied()).filter(|&x| x != pad).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let slots: usize = queries.iter().map(|(_, h)| h.len()).sum();
        // The table is `[2048 targets, distinct]` f32 per target chunk: at most 128 MiB.
        const MAX_TABLE_COLUMNS: usize = 16_384;
        match DinInfer::new(self, device) {
            Some(inf)
                if !distinct.is_empty()
                    && distinct.len() < slots
                    && distinct.len() <= MAX_TABLE_COLUMNS =>
            {
                inf.logits(queries, items, pad, &distinct)
            }
            _ => queries
                .iter()
                .flat_map(|(u, h)| pair_logits(self, *u, h, items, pad, device))
                .collect(),
        }
    }
}

/// DIN inference with the first linear layers split by input block, so that nothing is
/// recomputed per (query, target) pair that depends on only one side:
/// - attention layer 1 on `[h, t, h - t, h * t]` is `h (A + C) + t (B - C) + (h * t) D + b`:
///   `h (A + C) + b` per history item, `t (B - C)` per target, and the bilinear
///   `(h_k * t) D = t diag(h_k) D` is ONE matmul `T [M, d] x [d, K * a]` for K history items;
/// - the prediction MLP's first layer on `[u, t, pooled]` is `u Wu + t Wt + pooled Wp`.
///
/// Equal to [`DinNet::logits`] up to float rounding (tested).
struct DinInfer<'a> {
    net: &'a DinNet,
    device: Device,
    /// Item embeddings `[V, d]`.
    emb: Tensor<2>,
    /// `A + C`, `B - C`, `D`: `[d, a]` each; attention layer 1 bias `[a]`.
    w_hist: Tensor<2>,
    w_target: Tensor<2>,
    w_cross: Tensor<2>,
    b_att: Option<Tensor<1>>,
    /// Prediction MLP layer 1 blocks `[d, H1]` (user, target, pooled) and bias `[H1]`.
    wu: Tensor<2>,
    wt: Tensor<2>,
    wp: Tensor<2>,
    b_mlp: Option<Tensor<1>>,
}

impl<'a> DinInfer<'a> {
    /// `None` when the net has no hidden attention layer (nothing to split).
    fn new(net: &'a DinNet, device: &Device) -> Option<Self> {
        let first = net.att.first()?;
        let emb = net.item.val();
        let d = emb.dims()[1];
        let w1 = first.weight.val(); // [4d, a]
        let block = |k: usize| w1.clone().narrow(0, k * d, d);
        let m1 = net.mlp.first();
        let wm = m1.weight.val(); // [3d, H1]
        Some(DinInfer {
            net,
            device: device.clone(),
            emb,
            w_hist: block(0) + block(2),
            w_target: block(1) - block(2),
            w_cross: block(3),
            b_att: first.bias.as_ref().map(|b| b.val()),
            wu: wm.clone().narrow(0, 0, d),
            wt: wm.clone().narrow(0, d, d),
            wp: wm.narrow(0, 2 * d, d),
            b_mlp: m1.bias.as_ref().map(|b| b.val()),
        })
    }

    fn rows(&self, ids: Vec<i64>) -> Tensor<2> {
        let n = ids.len();
        self.emb.clone().select(0, int_tensor(ids, [n], &self.device))
    }

    /// Unmasked attention weights `[M, K]` of targets `t` `[M, d]` (with `t_att = t (B - C)`
    /// `[M, a]`) against K history items `hh` `[K, d]`.
    fn weights(&self, t: &Tensor<2>, t_att: &Tensor<2>, hh: Tensor<2>) -> Tensor<2> {
        let [m, d] = t.dims();
        let k = hh.dims()[0];
        let a = self.w_cross.dims()[1];
        let mut h_part = hh.clone().matmul(self.w_hist.clone()); // [K, a]
        if let Some(b) = &self.b_att {
            h_part = h_part + b.clone().unsqueeze_dim::<2>(0);
        }
        // cross[c, j * a + o] = hh[j, c] * D[c, o]
        let cross = (hh.transpose().unsqueeze_dim::<3>(2)
            * self.w_cross.clone().unsqueeze_dim::<3>(1))
        .reshape([d, k * a]);
        let pre = t.clone().matmul(cross).reshape([m, k, a])
            + t_att.clone().unsqueeze_dim::<3>(1)
            + h_part.unsqueeze_dim::<3>(0); // [M, K, a]
        let mut att = sigmoid(pre);
        for l in &self.net.att[1..] {
            att = sigmoid(l.forward(att));
        }
        self.net.att_out.forward(att).reshape([m, k])
    }

    /// Logits `[queries.len() * items.len()]` (query-major). `table`: the sorted distinct
    /// real history items of all queries; the attention weights of every (target, table
    /// item) pair are computed once and gathered per query.
    fn logits(
        &self,
        queries: &[(u32, Vec<i64>)],
        items: &[u32],
        pad: i64,
        table: &[i64],
    ) -> Vec<f32> {
        let n = items.len();
        let mut out = vec![0f32; queries.len() * n];
        let mut start = 0;
        // Targets in chunks bound the `[M, 64, a]` attention tensors.
        for c in items.chunks(2048) {
            let m = c.len();
            let t = self.rows(c.iter().map(|&i| i as i64).collect()); // [M, d]
            let t_att = t.clone().matmul(self.w_target.clone()); // [M, a]
            let mut t_mlp = t.clone().matmul(self.wt.clone()); // [M, H1]
            if let Some(b) = &self.b_mlp {
                t_mlp = t_mlp + b.clone().unsqueeze_dim::<2>(0);
            }
            // [M, |table|], 64 history items per block
            let parts: Vec<Tensor<2>> =
                table.chunks(64).map(|k| self.weights(&t, &t_att, self.rows(k.to_vec()))).collect();
            let tab = Tensor::cat(parts, 1);
            for (q, (user, hist)) in queries.iter().enumerate() {
                let h = hist.len();
                // pads point at column 0 and are masked to weight 0 (as in `logits`)
                let cols: Vec<i64> =
                    hist.iter().map(|x| table.binary_search(x).map_or(0, |p| p as i64)).collect();
                let mask: Vec<f32> =
                    hist.iter().map(|&x| if x == pad { 0.0 } else { 1.0 }).collect();
                let w = tab.clone().select(1, int_tensor(cols, [h], &self.device))
                    * tensor(mask, [1, h], &self.device); // [M, h]
                let pooled = w.matmul(self.rows(hist.clone())); // [M, d]
                let z = pooled.matmul(self.wp.clone()) + t_mlp.clone() + self.emb_user(*user);
                let s = to_vec(self.net.mlp.forward_after_first(z)); // [M, 1]
                out[q * n + start..q * n + start + m].copy_from_slice(&s);
            }
            start += m;
        }
        out
    }

    /// `u Wu` `[1, H1]`.
    fn emb_user(&self, user: u32) -> Tensor<2> {
        let idx = int_tensor(vec![user as i64], [1], &self.device);
        self.net.user.val().select(0, idx).matmul(self.wu.clone())
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: DinParams = parse_params(ID, v)?;
    let (d, att, hidden, drop) =
        (p.embedding_size, p.attention_mlp.clone(), p.mlp_hidden_size.clone(), p.dropout);
    Ok(Box::new(CtrMethod::new(ID, p.data, p.train, move |rng, nu, ni, dev| {
        let mut layers = Vec::new();
        let mut din = 4 * d;
        for &a in &att {
            layers.push(linear_xavier(rng, din, a, dev));
            din = a;
        }
        DinNet {
            user: normal_param(rng, [nu as usize, d], 0.01, dev),
            item: normal_param(rng, [ni as usize + 1, d], 0.01, dev),
            att: layers,
            att_out: linear_xavier(rng, din, 1, dev),
            mlp: Mlp::new(rng, 3 * d, &hidden, 1, drop, dev),
        }
    })))
}

/// Smoke params.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"embedding_size": 8, "attention_mlp": [8], "mlp_hidden_size": [16], "data": {"history_len": 5},
        "train": {"epochs": 30, "batch_size": 256, "learning_rate": 0.02, "patience": 5}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{BackendKind, device};
    use rand::SeedableRng;

    /// A random DIN with weights large enough that every term matters (init std 0.5 for the
    /// embeddings instead of 0.01), two attention layers and two hidden prediction layers.
    fn net(dev: &Device, att_sizes: &[usize]) -> DinNet {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (d, n_users, n_items) = (6, 3, 40);
        let mut att = Vec::new();
        let mut din = 4 * d;
        for &a in att_sizes {
            att.push(linear_xavier(&mut rng, din, a, dev));
            din = a;
        }
        let with_bias = |l: Linear, rng: &mut ChaCha8Rng| Linear {
            bias: Some(normal_param(rng, [l.weight.val().dims()[1]], 0.3, dev)),
            ..l
        };
        let att: Vec<Linear> = att.into_iter().map(|l| with_bias(l, &mut rng)).collect();
        let att_out = linear_xavier(&mut rng, din, 1, dev);
        DinNet {
            user: normal_param(&mut rng, [n_users, d], 0.5, dev),
            item: normal_param(&mut rng, [n_items + 1, d], 0.5, dev),
            att,
            att_out: with_bias(att_out, &mut rng),
            mlp: Mlp::new(&mut rng, 3 * d, &[16, 12], 1, 0.0, dev),
        }
    }

    #[test]
    fn batch_logits_equal_the_pair_forward() {
        let dev = device(BackendKind::Flex);
        let pad = 40i64;
        let items: Vec<u32> = (0..40).collect();
        for att_sizes in [&[8usize, 4][..], &[8][..], &[][..]] {
            let n = net(&dev, att_sizes);
            // full history, one with padding on the left, one with a repeated item
            let queries =
                [(0u32, vec![3i64, 9, 1, 30, 7]), (1, vec![pad, pad, 12, 5, 39]), (2, vec![4; 5])];
            let mut slow_all = Vec::new();
            for (user, hist) in &queries {
                let slow = pair_logits(&n, *user, hist, &items, pad, &dev);
                let spread = slow.iter().fold(0f32, |m, v| m.max((v - slow[0]).abs()));
                assert!(spread > 1e-3, "scores must differ across items: {slow:?}");
                // one query alone (the table path only when its history repeats an item)
                let one = n.batch_logits(&[(*user, hist.clone())], &items, pad, &dev);
                close(&one, &slow, &format!("att {att_sizes:?} user {user}"));
                slow_all.extend(slow);
            }
            // several queries at once (the attention table over their 9 distinct history
            // items < 15 slots is used), on a subset of items in a scrambled order
            let batch = n.batch_logits(&queries, &items, pad, &dev);
            close(&batch, &slow_all, &format!("att {att_sizes:?} batch"));
            let some: Vec<u32> = vec![39, 0, 17, 5, 5, 22];
            let batch = n.batch_logits(&queries, &some, pad, &dev);
            let want: Vec<f32> = (0..3)
                .flat_map(|q| some.iter().map(move |&i| (q, i)))
                .map(|(q, i)| slow_all[q * items.len() + i as usize])
                .collect();
            close(&batch, &want, &format!("att {att_sizes:?} batch subset"));
        }
    }

    fn close(got: &[f32], want: &[f32], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= 1e-5 * scale, "{what} entry {i}: fast {g} vs pair {w}");
        }
    }

    /// Timing of the two inference paths on a default-sized DIN (random weights; ML-100K
    /// shapes: 1682 items, history 20), same process, side by side. Run:
    /// `cargo test --release -p quadrec-models --lib din_scoring_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing benchmark (prints ms/user of both paths); their equality is asserted by batch_logits_equal_the_pair_forward, which CI runs"]
    fn din_scoring_speed() {
        let dev = device(BackendKind::Flex);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (n_users, n_items, h) = (943u32, 1682u32, 20usize);
        let p = DinParams::default();
        let d = p.embedding_size;
        let mut att = Vec::new();
        let mut din = 4 * d;
        for &a in &p.attention_mlp {
            att.push(linear_xavier(&mut rng, din, a, &dev));
            din = a;
        }
        let net = DinNet {
            user: normal_param(&mut rng, [n_users as usize, d], 0.1, &dev),
            item: normal_param(&mut rng, [n_items as usize + 1, d], 0.1, &dev),
            att,
            att_out: linear_xavier(&mut rng, din, 1, &dev),
            mlp: Mlp::new(&mut rng, 3 * d, &p.mlp_hidden_size, 1, 0.0, &dev),
        };
        let items: Vec<u32> = (0..n_items).collect();
        let users = 40u32;
        let hist = |u: u32| -> Vec<i64> {
            (0..h as i64).map(|j| (u as i64 * 37 + j * 11) % n_items as i64).collect()
        };
        let time = |f: &dyn Fn(u32) -> Vec<f32>| {
            let t = std::time::Instant::now();
            let mut sum = 0f64;
            for u in 0..users {
                sum += f(u).iter().map(|&v| v as f64).sum::<f64>();
            }
            (t.elapsed().as_secs_f64() * 1e3 / users as f64, sum)
        };
        let pad = n_items as i64;
        let (slow_ms, s1) = time(&|u| pair_logits(&net, u, &hist(u), &items, pad, &dev));
        let t = std::time::Instant::now();
        let queries: Vec<(u32, Vec<i64>)> = (0..n_users).map(|u| (u, hist(u))).collect();
        let all = net.batch_logits(&queries, &items, pad, &dev);
        let batch_ms = t.elapsed().as_secs_f64() * 1e3 / n_users as f64;
        let s3: f64 = all[..users as usize * items.len()].iter().map(|&v| v as f64).sum();
        println!(
            "DIN full-catalogue scoring, {n_items} items, history {h}: pair path {slow_ms:.2} ms/user \
             (first {users} users, checksum {s1:.4}); batch path, all {n_users} users in one \
             call: {batch_ms:.2} ms/user (first {users} users' checksum {s3:.4}); ratio {:.2}x",
            slow_ms / batch_ms
        );
    }
}
