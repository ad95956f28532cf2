//! The code-token generator of TIGER: a causal (decoder-only) post-LN Transformer with a
//! key/value cache, so that the history is encoded once per user and every beam (or every
//! scored item) only runs its own few code tokens against the cached history.
//!
//! The layer is the same post-LN layer as `quadrec_models::blocks::TransformerLayer` (RecBole's
//! SASRec layer: fused QKV, GELU FFN), re-written here because that one does not expose its keys
//! and values; training (no cache) and cached inference run the same code path.

use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::activation::{gelu, log_softmax, softmax};
use burn::tensor::{Device, Tensor};
use quadrec_models::blocks::MASKED;
use quadrec_models::common::{dropout, int_tensor, linear, normal_param, tensor};
use rand_chacha::ChaCha8Rng;

/// Keys and values of one layer, `[B, H, T, dh]` each.
pub type Kv = (Tensor<4>, Tensor<4>);

/// One post-LN Transformer layer that returns its keys and values.
#[derive(Module, Debug)]
pub struct Layer {
    qkv: Linear,
    out: Linear,
    ln1: LayerNorm,
    ff1: Linear,
    ff2: Linear,
    ln2: LayerNorm,
    n_heads: usize,
}

impl Layer {
    /// N(0, 0.02^2) weights, zero biases.
    pub fn new(
        rng: &mut ChaCha8Rng,
        d: usize,
        n_heads: usize,
        inner: usize,
        device: &Device,
    ) -> Self {
        Layer {
            qkv: linear(rng, d, 3 * d, 0.02, device),
            out: linear(rng, d, d, 0.02, device),
            ln1: LayerNormConfig::new(d).with_epsilon(1e-12).init(device),
            ff1: linear(rng, d, inner, 0.02, device),
            ff2: linear(rng, inner, d, 0.02, device),
            ln2: LayerNormConfig::new(d).with_epsilon(1e-12).init(device),
            n_heads,
        }
    }

    /// # Shapes
    /// - `x`: `[B, S, d]` new tokens
    /// - `past`: cached keys/values `[B, H, P, dh]` of earlier tokens, or `None` (P = 0)
    /// - `bias`: `[B, 1, S, P + S]` additive attention bias
    /// - returns `[B, S, d]` and the keys/values `[B, H, P + S, dh]`
    pub fn forward(
        &self,
        x: Tensor<3>,
        past: Option<Kv>,
        bias: Tensor<4>,
        drop: f64,
        rng: &mut Option<&mut ChaCha8Rng>,
    ) -> (Tensor<3>, Kv) {
        let [b, s, d] = x.dims();
        let h = self.n_heads;
        let dh = d / h;
        let qkv = self.qkv.forward(x.clone()).reshape([b, s, 3, h, dh]);
        let part = |i: usize| {
            qkv.clone()
                .slice([0..b, 0..s, i..i + 1, 0..h, 0..dh])
                .reshape([b, s, h, dh])
                .swap_dims(1, 2)
        };
        let (q, mut k, mut v) = (part(0), part(1), part(2)); // [B, H, S, dh]
        if let Some((pk, pv)) = past {
            k = Tensor::cat(vec![pk, k], 2);
            v = Tensor::cat(vec![pv, v], 2);
        }
        let scores =
            q.matmul(k.clone().swap_dims(2, 3)).mul_scalar(1.0 / (dh as f64).sqrt()) + bias;
        let mut p = softmax(scores, 3); // [B, H, S, P + S]
        if let Some(r) = rng.as_deref_mut() {
            p = dropout(p, drop, r);
        }
        let ctx = p.matmul(v.clone()).swap_dims(1, 2).reshape([b, s, d]);
        let mut a = self.out.forward(ctx);
        if let Some(r) = rng.as_deref_mut() {
            a = dropout(a, drop, r);
        }
        let hdn = self.ln1.forward(x + a);
        let mut f = self.ff2.forward(gelu(self.ff1.forward(hdn.clone())));
        if let Some(r) = rng.as_deref_mut() {
            f = dropout(f, drop, r);
        }
        (self.ln2.forward(hdn + f), (k, v))
    }
}

/// Token layout of the code vocabulary: level `l` code `c` is token `offsets[l] + c`; the
/// padding token is `pad = sum(sizes)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Vocab {
    /// Codes per tuple level.
    pub sizes: Vec<usize>,
    /// First token of each level.
    pub offsets: Vec<usize>,
    /// Padding token.
    pub pad: usize,
}

impl Vocab {
    /// Layout for the given level sizes.
    pub fn new(sizes: Vec<usize>) -> Self {
        let mut offsets = Vec::with_capacity(sizes.len());
        let mut acc = 0;
        for &s in &sizes {
            offsets.push(acc);
            acc += s;
        }
        Vocab { sizes, offsets, pad: acc }
    }

    /// Tuple width.
    pub fn width(&self) -> usize {
        self.sizes.len()
    }

    /// Token of code `c` at level `l`.
    pub fn token(&self, l: usize, c: u32) -> i64 {
        (self.offsets[l] + c as usize) as i64
    }
}

/// The generator network.
#[derive(Module, Debug)]
pub struct TigerNet {
    /// `[vocab + 1, d]` code-token embeddings (last row = padding); tied output layer.
    tok: Param<Tensor<2>>,
    /// `[(max_history + 1) * width, d]` absolute slot embeddings.
    pos: Param<Tensor<2>>,
    ln: LayerNorm,
    layers: Vec<Layer>,
}

/// Cached history of a batch of queries.
pub struct Context {
    /// Per layer keys/values `[Q, H, Tc, dh]`.
    pub kv: Vec<Kv>,
    /// Last-position hidden states `[Q, d]` (they predict the first code).
    pub last: Tensor<2>,
    /// Context tokens `[Q * Tc]` (for the padding mask of later tokens).
    pub ids: Vec<i64>,
    /// Context length `Tc`.
    pub len: usize,
}

impl TigerNet {
    /// A seeded network.
    pub fn new(
        rng: &mut ChaCha8Rng,
        vocab: &Vocab,
        slots: usize,
        d: usize,
        n_layers: usize,
        n_heads: usize,
        inner: usize,
        device: &Device,
    ) -> Self {
        TigerNet {
            tok: normal_param(rng, [vocab.pad + 1, d], 0.02, device),
            pos: normal_param(rng, [slots, d], 0.02, device),
            ln: LayerNormConfig::new(d).with_epsilon(1e-12).init(device),
            layers: (0..n_layers).map(|_| Layer::new(rng, d, n_heads, inner, device)).collect(),
        }
    }

    fn embed(&self, ids: &[i64], b: usize, start: usize, s: usize) -> Tensor<3> {
        let device = self.tok.val().device();
        let d = self.tok.val().dims()[1];
        let e =
            self.tok.val().select(0, int_tensor(ids.to_vec(), [b * s], &device)).reshape([b, s, d]);
        let pos = self.pos.val().slice([start..start + s, 0..d]).unsqueeze_dim::<3>(0);
        self.ln.forward(e + pos)
    }

    /// Hidden states `[B, T, d]` of windows `ids` `[B, T]` starting at slot 0 (causal, padding
    /// keys masked), and the per-layer keys/values.
    pub fn hidden(
        &self,
        ids: &[i64],
        b: usize,
        t: usize,
        pad: usize,
        drop: f64,
        rng: &mut Option<&mut ChaCha8Rng>,
    ) -> (Tensor<3>, Vec<Kv>) {
        let device = self.tok.val().device();
        let mut x = self.embed(ids, b, 0, t);
        if let Some(r) = rng.as_deref_mut() {
            x = dropout(x, drop, r);
        }
        let mut bias = vec![0f32; b * t * t];
        for r in 0..b {
            for q in 0..t {
                for k in 0..t {
                    if ids[r * t + k] == pad as i64 || k > q {
                        bias[(r * t + q) * t + k] = MASKED;
                    }
                }
            }
        }
        let bias = tensor(bias, [b, 1, t, t], &device);
        let mut kvs = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let (y, kv) = layer.forward(x, None, bias.clone(), drop, rng);
            x = y;
            kvs.push(kv);
        }
        (x, kvs)
    }

    /// Encode the queries' context windows `ids` `[Q, Tc]` once (inference).
    pub fn context(&self, ids: Vec<i64>, q: usize, len: usize, pad: usize) -> Context {
        let (h, kv) = self.hidden(&ids, q, len, pad, 0.0, &mut None);
        let d = h.dims()[2];
        let last = h.slice([0..q, len - 1..len, 0..d]).reshape([q, d]);
        Context { kv, last, ids, len }
    }

    /// Hidden states `[R, S, d]` of `S` new tokens per request (`tokens` `[R * S]`), request
    /// `r` continuing the cached context of query `of[r]` at slots `Tc..Tc + S`.
    pub fn extend(
        &self,
        ctx: &Context,
        of: &[usize],
        tokens: &[i64],
        s: usize,
        pad: usize,
    ) -> Tensor<3> {
        let device = self.tok.val().device();
        let r = of.len();
        let tc = ctx.len;
        let mut x = self.embed(tokens, r, tc, s);
        let kk = tc + s;
        let mut bias = vec![0f32; r * s * kk];
        for (i, &qi) in of.iter().enumerate() {
            for a in 0..s {
                for k in 0..kk {
                    let masked =
                        if k < tc { ctx.ids[qi * tc + k] == pad as i64 } else { k - tc > a };
                    if masked {
                        bias[(i * s + a) * kk + k] = MASKED;
                    }
                }
            }
        }
        let bias = tensor(bias, [r, 1, s, kk], &device);
        let idx = int_tensor(of.iter().map(|&q| q as i64).collect(), [r], &device);
        for (layer, (k, v)) in self.layers.iter().zip(&ctx.kv) {
            let past = (k.clone().select(0, idx.clone()), v.clone().select(0, idx.clone()));
            x = layer.forward(x, Some(past), bias.clone(), 0.0, &mut None).0;
        }
        x
    }

    /// Log-probabilities `[n, sizes[l]]` of level-`l` codes from hidden rows `h` `[n, d]`
    /// (softmax restricted to the level's codes; output layer tied to the token embeddings).
    pub fn level_logp(&self, h: Tensor<2>, v: &Vocab, l: usize) -> Tensor<2> {
        let d = self.tok.val().dims()[1];
        let w = self.tok.val().slice([v.offsets[l]..v.offsets[l] + v.sizes[l], 0..d]);
        log_softmax(h.matmul(w.transpose()), 1)
    }
}
