//! Shared neural blocks: the Transformer layer of SASRec/BERT4Rec (RecBole's post-LN layer with
//! a fused QKV projection: one `[d, 3d]` matmul instead of three), attention biases, and the
//! sequence-window data shared by the sequential models.

use crate::common::{dropout, linear, right_aligned, tensor};
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{Device, Tensor};
use rand_chacha::ChaCha8Rng;

/// Additive attention bias value for masked keys (RecBole uses -10000; finite so that fully
/// masked rows give a uniform softmax instead of NaN).
pub const MASKED: f32 = -1e9;

/// One Transformer layer: `h = LN(x + drop(MHA(x)))`, `out = LN(h + drop(FFN(h)))`, GELU FFN.
#[derive(Module, Debug)]
pub struct TransformerLayer {
    qkv: Linear,
    out: Linear,
    ln1: LayerNorm,
    ff1: Linear,
    ff2: Linear,
    ln2: LayerNorm,
    n_heads: usize,
}

impl TransformerLayer {
    /// A layer with N(0, 0.02^2) weights (RecBole `initializer_range`).
    pub fn new(
        rng: &mut ChaCha8Rng,
        d: usize,
        n_heads: usize,
        inner: usize,
        eps: f64,
        device: &Device,
    ) -> Self {
        assert!(d.is_multiple_of(n_heads), "hidden size {d} not divisible by {n_heads} heads");
        TransformerLayer {
            qkv: linear(rng, d, 3 * d, 0.02, device),
            out: linear(rng, d, d, 0.02, device),
            ln1: LayerNormConfig::new(d).with_epsilon(eps).init(device),
            ff1: linear(rng, d, inner, 0.02, device),
            ff2: linear(rng, inner, d, 0.02, device),
            ln2: LayerNormConfig::new(d).with_epsilon(eps).init(device),
            n_heads,
        }
    }

    /// # Shapes
    /// - `x`: `[B, L, d]`
    /// - `bias`: `[B, 1, L, L]` additive attention bias (0 or [`MASKED`])
    /// - returns `[B, L, d]`
    ///
    /// `rng = None` disables dropout (inference).
    pub fn forward(
        &self,
        x: Tensor<3>,
        bias: Tensor<4>,
        attn_drop: f64,
        hidden_drop: f64,
        rng: &mut Option<&mut ChaCha8Rng>,
    ) -> Tensor<3> {
        let [b, l, d] = x.dims();
        let h = self.n_heads;
        let dh = d / h;
        // [B, L, 3, H, dh] -> q, k, v each [B, H, L, dh]
        let qkv = self.qkv.forward(x.clone()).reshape([b, l, 3, h, dh]);
        let q = qkv
            .clone()
            .slice([0..b, 0..l, 0..1, 0..h, 0..dh])
            .reshape([b, l, h, dh])
            .swap_dims(1, 2);
        let k = qkv
            .clone()
            .slice([0..b, 0..l, 1..2, 0..h, 0..dh])
            .reshape([b, l, h, dh])
            .swap_dims(1, 2);
        let v = qkv.slice([0..b, 0..l, 2..3, 0..h, 0..dh]).reshape([b, l, h, dh]).swap_dims(1, 2);
        let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(1.0 / (dh as f64).sqrt()) + bias; // [B, H, L, L]
        let mut p = softmax(scores, 3);
        if let Some(r) = rng.as_deref_mut() {
            p = dropout(p, attn_drop, r);
        }
        let ctx = p.matmul(v).swap_dims(1, 2).reshape([b, l, d]);
        let mut a = self.out.forward(ctx);
        if let Some(r) = rng.as_deref_mut() {
            a = dropout(a, hidden_drop, r);
        }
        let hdn = self.ln1.forward(x + a);
        let mut f = self.ff2.forward(gelu(self.ff1.forward(hdn.clone())));
        if let Some(r) = rng.as_deref_mut() {
            f = dropout(f, hidden_drop, r);
        }
        self.ln2.forward(hdn + f)
    }
}

/// Attention bias `[B, 1, L, L]` for right-aligned windows `ids` `[B, L]` where `pad` marks
/// padding: key `k` is visible to query `q` iff it is not padding and (`causal` => `k <= q`).
pub fn attention_bias(
    ids: &[i64],
    b: usize,
    l: usize,
    pad: i64,
    causal: bool,
    device: &Device,
) -> Tensor<4> {
    let mut v = vec![0f32; b * l * l];
    for r in 0..b {
        let row = &ids[r * l..(r + 1) * l];
        for q in 0..l {
            for k in 0..l {
                if row[k] == pad || (causal && k > q) {
                    v[(r * l + q) * l + k] = MASKED;
                }
            }
        }
    }
    tensor(v, [b, 1, l, l], device)
}

/// Next-item training windows over per-user sequences.
///
/// For a sequence `s` of length `n`, the targets `s[1..n]` are cut into chunks of `stride`
/// (from the end); the chunk ending at target index `hi` is predicted from the right-aligned
/// input window `s[max(0, hi - L) .. hi]`, with loss only on that chunk's targets. Every
/// (prefix, next item) pair is thus used exactly once per epoch, as in RecBole's prefix
/// augmentation, and each target sees at least `L - stride` items of context when available
/// (RecBole: up to `L`).
#[derive(Clone, Debug)]
pub struct Window {
    /// User id.
    pub user: u32,
    /// Right-aligned inputs `[L]` (pad-filled).
    pub inputs: Vec<i64>,
    /// Targets aligned with inputs, `-1` where there is no loss.
    pub targets: Vec<i64>,
}

/// Cut all users' sequences into [`Window`]s.
pub fn next_item_windows(seqs: &[Vec<u32>], l: usize, stride: usize, pad: i64) -> Vec<Window> {
    let stride = stride.clamp(1, l);
    let mut out = Vec::new();
    for (u, s) in seqs.iter().enumerate() {
        let n = s.len();
        if n < 2 {
            continue;
        }
        // Target indices hi, hi-1, ... (1-based positions in s of predicted items).
        let mut hi = n - 1;
        loop {
            let lo = hi.saturating_sub(stride); // targets (lo, hi]
            let start = hi.saturating_sub(l); // inputs s[start..hi]
            let inputs = right_aligned(&s[start..hi], l, pad);
            let mut targets = vec![-1i64; l];
            let len = hi - start;
            for t in (lo + 1).max(1)..=hi {
                // input position of s[t-1] within the right-aligned window
                let pos = l - len + (t - 1 - start);
                targets[pos] = s[t] as i64;
            }
            out.push(Window { user: u as u32, inputs, targets });
            if lo == 0 {
                break;
            }
            hi = lo;
        }
    }
    out
}

/// Group shuffled windows into batches of about `positions` loss targets each.
pub fn pack_windows(windows: &[Window], order: &[usize], positions: usize) -> Vec<Vec<usize>> {
    let mut batches = Vec::new();
    let mut cur = Vec::new();
    let mut count = 0;
    for &w in order {
        count += windows[w].targets.iter().filter(|&&t| t >= 0).count();
        cur.push(w);
        if count >= positions {
            batches.push(std::mem::take(&mut cur));
            count = 0;
        }
    }
    if !cur.is_empty() {
        batches.push(cur);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_every_target_once_with_context() {
        let s: Vec<u32> = (0..12).collect();
        let w = next_item_windows(std::slice::from_ref(&s), 5, 3, 99);
        let mut targets: Vec<i64> =
            w.iter().flat_map(|w| w.targets.iter().copied().filter(|&t| t >= 0)).collect();
        targets.sort();
        assert_eq!(targets, (1..12).collect::<Vec<i64>>());
        for win in &w {
            for p in 0..5 {
                if win.targets[p] >= 0 {
                    // the input at p is the item just before the target
                    assert_eq!(win.inputs[p] + 1, win.targets[p]);
                }
            }
        }
        // last window: inputs 6..11, targets 9, 10, 11 on the last three positions
        assert_eq!(w[0].inputs, vec![6, 7, 8, 9, 10]);
        assert_eq!(w[0].targets, vec![-1, -1, 9, 10, 11]);
        let short = next_item_windows(&[vec![4, 5]], 5, 5, 99);
        assert_eq!(short[0].inputs, vec![99, 99, 99, 99, 4]);
        assert_eq!(short[0].targets, vec![-1, -1, -1, -1, 5]);
    }
}
