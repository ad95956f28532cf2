//! Llama-architecture decoder (SmolLM2-135M-Instruct) in Burn, loaded from GGUF.
//!
//! Architecture (Touvron et al., 2023, "LLaMA"; SmolLM2: Allal et al., 2025): token embedding,
//! `n_layer` pre-norm blocks `x += Attn(RMSNorm(x)); x += SwiGLU(RMSNorm(x))`, final RMSNorm, and
//! an output head tied to the embedding. Attention is grouped-query (9 query heads share 3
//! key/value heads in SmolLM2-135M) with rotary position embeddings (theta = 100000) in the
//! Hugging Face `rotate_half` layout.
//!
//! llama.cpp's converter permutes the rows of `attn_q` / `attn_k` so that RoPE rotates
//! interleaved pairs `(2i, 2i+1)`; [`Llama::from_gguf`] undoes that permutation so the halves
//! `(i, i + hd/2)` are rotated, exactly as in transformers' `LlamaForCausalLM`.
//!
//! Inference paths (all through [`Llama::forward`]):
//! - prefill / incremental decoding with a [`KvCache`] ([`Llama::generate_greedy`]);
//! - many continuations after one shared prefix: the prefix is run once, the candidates are
//!   packed into one masked sequence that reads the prefix's cache ([`Llama::score_continuations`]);
//! - batched prompts of different lengths, left-padded, with a padding mask
//!   ([`Llama::next_token_logits_batch`]).

use std::path::Path;

use burn::module::{Module, Param};
use burn::tensor::activation::{log_softmax, silu};
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use quadrec_core::Seed;
use rand::RngExt;

use crate::gguf::{GgufError, GgufFile};
use crate::lora::{
    LoraConfig, LoraError, LoraTarget, Proj, read_adapters, save_adapters, tensor_from, to_vec,
};

/// Hyper-parameters of a Llama decoder (from GGUF `llama.*` metadata).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LlamaConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Model width.
    pub hidden: usize,
    /// SwiGLU inner width.
    pub intermediate: usize,
    /// Number of blocks.
    pub n_layer: usize,
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads (grouped-query attention).
    pub n_kv_head: usize,
    /// RoPE base.
    pub rope_theta: f64,
    /// RMSNorm epsilon.
    pub rms_eps: f64,
    /// Maximum context length.
    pub max_position: usize,
}

impl LlamaConfig {
    /// Per-head width.
    pub fn head_dim(&self) -> usize {
        self.hidden / self.n_head
    }
    /// A tiny config for unit tests.
    pub fn tiny() -> Self {
        Self {
            vocab_size: 37,
            hidden: 24,
            intermediate: 40,
            n_layer: 2,
            n_head: 6,
            n_kv_head: 2,
            rope_theta: 10000.0,
            rms_eps: 1e-5,
            max_position: 64,
        }
    }
}

/// One decoder block.
#[derive(Module, Debug)]
pub struct LlamaBlock {
    /// RMSNorm weight before attention `[hidden]`.
    pub attn_norm: Param<Tensor<1>>,
    /// Query projection `[hidden, n_head * hd]`.
    pub q: Proj,
    /// Key projection `[hidden, n_kv * hd]`.
    pub k: Proj,
    /// Value projection `[hidden, n_kv * hd]`.
    pub v: Proj,
    /// Output projection `[n_head * hd, hidden]`.
    pub o: Proj,
    /// RMSNorm weight before the MLP `[hidden]`.
    pub ffn_norm: Param<Tensor<1>>,
    /// SwiGLU gate `[hidden, intermediate]`.
    pub gate: Proj,
    /// SwiGLU up `[hidden, intermediate]`.
    pub up: Proj,
    /// SwiGLU down `[intermediate, hidden]`.
    pub down: Proj,
}

impl LlamaBlock {
    fn proj_mut(&mut self, t: LoraTarget) -> &mut Proj {
        match t {
            LoraTarget::Q => &mut self.q,
            LoraTarget::K => &mut self.k,
            LoraTarget::V => &mut self.v,
            LoraTarget::O => &mut self.o,
            LoraTarget::Gate => &mut self.gate,
            LoraTarget::Up => &mut self.up,
            LoraTarget::Down => &mut self.down,
        }
    }
    fn proj(&self, t: LoraTarget) -> &Proj {
        match t {
            LoraTarget::Q => &self.q,
            LoraTarget::K => &self.k,
            LoraTarget::V => &self.v,
            LoraTarget::O => &self.o,
            LoraTarget::Gate => &self.gate,
            LoraTarget::Up => &self.up,
            LoraTarget::Down => &self.down,
        }
    }
}

/// The decoder.
#[derive(Module, Debug)]
pub struct Llama {
    /// Token embedding `[vocab, hidden]`, also the (tied) output head.
    pub embed: Param<Tensor<2>>,
    /// Blocks.
    pub blocks: Vec<LlamaBlock>,
    /// Final RMSNorm weight `[hidden]`.
    pub norm: Param<Tensor<1>>,
    /// Hyper-parameters.
    #[module(skip)]
    pub config: LlamaConfig,
    /// RoPE tables on the host, `[max_position, head_dim]` each (cos, sin), `rotate_half` layout.
    #[module(skip)]
    rope: RopeTable,
}

#[derive(Debug, Clone)]
struct RopeTable {
    cos: Vec<f32>,
    sin: Vec<f32>,
    hd: usize,
}

impl RopeTable {
    fn new(hd: usize, max_pos: usize, theta: f64) -> Self {
        let half = hd / 2;
        let mut cos = vec![0f32; max_pos * hd];
        let mut sin = vec![0f32; max_pos * hd];
        for p in 0..max_pos {
            for i in 0..half {
                // Same as transformers: inv_freq in f32, angle = pos * inv_freq in f32.
                let inv = (1.0 / theta.powf((2 * i) as f64 / hd as f64)) as f32;
                let a = p as f32 * inv;
                let (s, c) = a.sin_cos();
                cos[p * hd + i] = c;
                cos[p * hd + i + half] = c;
                sin[p * hd + i] = s;
                sin[p * hd + i + half] = s;
            }
        }
        Self { cos, sin, hd }
    }
    /// cos/sin tensors `[B, 1, T, hd]` for per-row positions.
    fn gather(&self, positions: &[Vec<usize>], device: &Device) -> (Tensor<4>, Tensor<4>) {
        let b = positions.len();
        let t = positions[0].len();
        let mut c = Vec::with_capacity(b * t * self.hd);
        let mut s = Vec::with_capacity(b * t * self.hd);
        for row in positions {
            for &p in row {
                c.extend_from_slice(&self.cos[p * self.hd..(p + 1) * self.hd]);
                s.extend_from_slice(&self.sin[p * self.hd..(p + 1) * self.hd]);
            }
        }
        (tensor_from(c, [b, 1, t, self.hd], device), tensor_from(s, [b, 1, t, self.hd], device))
    }
}

/// Keys and values of the tokens seen so far, per block: `[B, n_kv, T_past, hd]` (after RoPE).
#[derive(Debug, Clone)]
pub struct KvCache {
    /// `(keys, values)` per block.
    pub layers: Vec<(Tensor<4>, Tensor<4>)>,
}

impl KvCache {
    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.layers.first().map_or(0, |(k, _)| k.dims()[2])
    }
    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Batch size of the cache.
    pub fn batch(&self) -> usize {
        self.layers.first().map_or(0, |(k, _)| k.dims()[0])
    }
    /// Repeat a batch-1 cache `n` times along the batch axis (shared prefix for `n` candidates).
    pub fn broadcast(&self, n: usize) -> KvCache {
        KvCache {
            layers: self
                .layers
                .iter()
                .map(|(k, v)| {
                    let [_, h, t, d] = k.dims();
                    (k.clone().expand([n, h, t, d]), v.clone().expand([n, h, t, d]))
                })
                .collect(),
        }
    }
}

/// Errors of the decoder.
#[derive(Debug, thiserror::Error)]
pub enum LlamaError {
    /// GGUF problem.
    #[error(transparent)]
    Gguf(#[from] GgufError),
    /// Adapter file problem.
    #[error(transparent)]
    Lora(#[from] LoraError),
    /// Bad call.
    #[error("{0}")]
    Input(String),
}

/// Log-probability of one continuation given the shared prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuationScore {
    /// Sum of the token log-probabilities.
    pub logprob: f64,
    /// Per-token log-probabilities (natural log), in order.
    pub token_logprobs: Vec<f32>,
}

/// Undo llama.cpp's Q/K row permutation of a `[n_head * hd, in]` row-major matrix:
/// GGUF row `h*hd + 2i + s` holds HF row `h*hd + s*hd/2 + i`.
pub fn unpermute_rows(w: &[f32], n_head: usize, hd: usize, inp: usize) -> Vec<f32> {
    let mut out = vec![0f32; w.len()];
    let half = hd / 2;
    for h in 0..n_head {
        for i in 0..half {
            for s in 0..2 {
                let src = (h * hd + 2 * i + s) * inp;
                let dst = (h * hd + s * half + i) * inp;
                out[dst..dst + inp].copy_from_slice(&w[src..src + inp]);
            }
        }
    }
    out
}

fn rms_norm<const D: usize>(x: Tensor<D>, w: &Param<Tensor<1>>, eps: f64) -> Tensor<D> {
    // x / sqrt(mean(x^2) + eps) * w, in the device's float dtype: f32 on the CPU (as
    // transformers' LlamaRMSNorm upcasts); on an f16 wgpu device mean(x^2) is f16 and overflows
    // once |x| exceeds ~250 (the f16 wgpu check runs the tiny config only).
    let ms = x.clone().powi_scalar(2).mean_dim(D - 1);
    x.mul(ms.add_scalar(eps).sqrt().recip()).mul(w.val().unsqueeze())
}

fn rotate_half(x: Tensor<4>) -> Tensor<4> {
    let hd = x.dims()[3];
    let x1 = x.clone().narrow(3, 0, hd / 2);
    let x2 = x.narrow(3, hd / 2, hd / 2);
    Tensor::cat(vec![x2.neg(), x1], 3)
}

/// Repeat kv heads: `[B, n_kv, T, hd]` -> `[B, n_kv * rep, T, hd]`, head `h` uses kv head `h / rep`.
fn repeat_kv(x: Tensor<4>, rep: usize) -> Tensor<4> {
    if rep == 1 {
        return x;
    }
    let [b, h, t, d] = x.dims();
    x.unsqueeze_dim::<5>(2).expand([b, h, rep, t, d]).reshape([b, h * rep, t, d])
}

impl Llama {
    /// Load from a GGUF file (dequantised to f32) onto `device`.
    pub fn from_gguf(g: &GgufFile, device: &Device) -> Result<Self, LlamaError> {
        let arch = g.meta_str("general.architecture")?;
        if arch != "llama" {
            return Err(LlamaError::Input(format!(
                "{}: general.architecture = {arch:?}, expected \"llama\"",
                g.path().display()
            )));
        }
        let u = |k: &str| -> Result<usize, GgufError> { Ok(g.meta_u64(k)? as usize) };
        let config = LlamaConfig {
            vocab_size: g.meta_strings("tokenizer.ggml.tokens")?.len(),
            hidden: u("llama.embedding_length")?,
            intermediate: u("llama.feed_forward_length")?,
            n_layer: u("llama.block_count")?,
            n_head: u("llama.attention.head_count")?,
            n_kv_head: u("llama.attention.head_count_kv")?,
            rope_theta: g.meta_f64("llama.rope.freq_base")?,
            rms_eps: g.meta_f64("llama.attention.layer_norm_rms_epsilon")?,
            max_position: u("llama.context_length")?,
        };
        let (d, hd, ff) = (config.hidden, config.head_dim(), config.intermediate);
        let (nh, nkv) = (config.n_head, config.n_kv_head);
        if g.tensors.iter().any(|t| t.name == "output.weight") {
            return Err(LlamaError::Input(format!(
                "{}: untied output.weight is not supported",
                g.path().display()
            )));
        }
        let vec1 = |name: &str, n: usize| -> Result<Param<Tensor<1>>, LlamaError> {
            Ok(Param::from_tensor(tensor_from(g.dequantize_shaped(name, &[n])?, [n], device)))
        };
        let proj = |name: &str,
                    out: usize,
                    inp: usize,
                    unperm: Option<usize>|
         -> Result<Proj, LlamaError> {
            let mut w = g.dequantize_shaped(name, &[out, inp])?;
            if let Some(heads) = unperm {
                w = unpermute_rows(&w, heads, hd, inp);
            }
            Ok(Proj::from_torch(&w, out, inp, None, device))
        };
        let mut blocks = Vec::with_capacity(config.n_layer);
        for i in 0..config.n_layer {
            let p = |s: &str| format!("blk.{i}.{s}");
            blocks.push(LlamaBlock {
                attn_norm: vec1(&p("attn_norm.weight"), d)?,
                q: proj(&p("attn_q.weight"), nh * hd, d, Some(nh))?,
                k: proj(&p("attn_k.weight"), nkv * hd, d, Some(nkv))?,
                v: proj(&p("attn_v.weight"), nkv * hd, d, None)?,
                o: proj(&p("attn_output.weight"), d, nh * hd, None)?,
                ffn_norm: vec1(&p("ffn_norm.weight"), d)?,
                gate: proj(&p("ffn_gate.weight"), ff, d, None)?,
                up: proj(&p("ffn_up.weight"), ff, d, None)?,
                down: proj(&p("ffn_down.weight"), d, ff, None)?,
            });
        }
        let embed = g.dequantize_shaped("token_embd.weight", &[config.vocab_size, d])?;
        Ok(Llama {
            embed: Param::from_tensor(tensor_from(embed, [config.vocab_size, d], device)),
            blocks,
            norm: vec1("output_norm.weight", d)?,
            rope: RopeTable::new(hd, config.max_position, config.rope_theta),
            config,
        })
    }

    /// Load from a GGUF path.
    pub fn load(path: &Path, device: &Device) -> Result<Self, LlamaError> {
        Self::from_gguf(&GgufFile::open(path)?, device)
    }

    /// A randomly initialised model (unit tests of the blocks).
    pub fn random(config: LlamaConfig, seed: Seed, device: &Device) -> Self {
        let (d, hd, ff) = (config.hidden, config.head_dim(), config.intermediate);
        let mut rng = seed.child("norms").rng();
        let mut norm = |n: usize| -> Param<Tensor<1>> {
            Param::from_tensor(tensor_from(
                (0..n).map(|_| rng.random_range(0.5f32..1.5)).collect(),
                [n],
                device,
            ))
        };
        let blocks = (0..config.n_layer)
            .map(|i| {
                let s = seed.child(&format!("block{i}"));
                LlamaBlock {
                    attn_norm: norm(d),
                    q: Proj::random(d, config.n_head * hd, false, s.child("q"), device),
                    k: Proj::random(d, config.n_kv_head * hd, false, s.child("k"), device),
                    v: Proj::random(d, config.n_kv_head * hd, false, s.child("v"), device),
                    o: Proj::random(config.n_head * hd, d, false, s.child("o"), device),
                    ffn_norm: norm(d),
                    gate: Proj::random(d, ff, false, s.child("gate"), device),
                    up: Proj::random(d, ff, false, s.child("up"), device),
                    down: Proj::random(ff, d, false, s.child("down"), device),
                }
            })
            .collect();
        let mut rng = seed.child("embed").rng();
        let e: Vec<f32> =
            (0..config.vocab_size * d).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        Llama {
            embed: Param::from_tensor(tensor_from(e, [config.vocab_size, d], device)),
            blocks,
            norm: norm(d),
            rope: RopeTable::new(hd, config.max_position, config.rope_theta),
            config,
        }
    }

    /// Device of the weights.
    pub fn device(&self) -> Device {
        self.embed.val().device()
    }

    /// Hidden states after the final norm.
    ///
    /// - `ids`: `[B, T]` token ids (row-major, `B * T` values);
    /// - `positions`: per row, the `T` RoPE positions of the new tokens;
    /// - `mask`: optional `[B, T, T_past + T]` (row-major) with `true` = may NOT attend; when
    ///   `None`, plain causal attention (aligned to the end of the keys) is used;
    /// - `cache`: keys/values of earlier tokens, extended in place.
    ///
    /// # Shapes
    /// returns `[B, T, hidden]`.
    pub fn hidden_states(
        &self,
        ids: &[u32],
        b: usize,
        positions: &[Vec<usize>],
        mask: Option<&[bool]>,
        cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        self.hidden_states_from_embeddings(self.embed_tokens(ids, b), positions, mask, cache)
    }

    /// Token embeddings of `ids` (`[B, T]` row-major). # Shapes returns `[B, T, hidden]`.
    pub fn embed_tokens(&self, ids: &[u32], b: usize) -> Tensor<3> {
        let t = ids.len() / b;
        let idx = Tensor::<2, Int>::from_data(
            TensorData::new(ids.iter().map(|&i| i as i64).collect::<Vec<_>>(), [b, t]),
            &self.device(),
        );
        burn::tensor::module::embedding(self.embed.val(), idx)
    }

    /// [`Llama::hidden_states`] from input embeddings instead of token ids: the entry point of
    /// methods that splice non-text vectors into the prompt (CoLLM's collaborative embeddings,
    /// soft prompts). `x` is `[B, T, hidden]`; gradients flow into it on an autodiff device.
    pub fn hidden_states_from_embeddings(
        &self,
        x: Tensor<3>,
        positions: &[Vec<usize>],
        mask: Option<&[bool]>,
        cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        let device = self.device();
        let [b, t, _] = x.dims();
        let mut x = x;
        let cfg = &self.config;
        let (nh, nkv, hd) = (cfg.n_head, cfg.n_kv_head, cfg.head_dim());
        let (cos, sin) = self.rope.gather(positions, &device);
        let past = cache.as_ref().map_or(0, |c| c.len());
        let rep = nh / nkv;
        // With an explicit mask, grouped-query attention is computed without copying keys: the
        // `rep` query heads sharing one kv head are stacked along the query axis,
        // [B, nh, T, hd] -> [B, nkv, rep * T, hd], and the mask rows repeated to match.
        let mask_t = mask.map(|m| {
            let mut rows = Vec::with_capacity(b * rep * t * (past + t));
            for bi in 0..b {
                let mb = &m[bi * t * (past + t)..(bi + 1) * t * (past + t)];
                for _ in 0..rep {
                    rows.extend_from_slice(mb);
                }
            }
            Tensor::<3, Bool>::from_data(TensorData::new(rows, [b, rep * t, past + t]), &device)
                .unsqueeze_dim::<4>(1)
                .expand([b, nkv, rep * t, past + t])
        });
        let opts = AttentionModuleOptions { scale: None, softcap: None, is_causal: mask.is_none() };
        let mut new_cache = Vec::with_capacity(self.blocks.len());
        for (li, blk) in self.blocks.iter().enumerate() {
            let h = rms_norm(x.clone(), &blk.attn_norm, cfg.rms_eps);
            let q = blk.q.forward(h.clone()).reshape([b, t, nh, hd]).swap_dims(1, 2); // [B, nh, T, hd]
            let k = blk.k.forward(h.clone()).reshape([b, t, nkv, hd]).swap_dims(1, 2); // [B, nkv, T, hd]
            let v = blk.v.forward(h).reshape([b, t, nkv, hd]).swap_dims(1, 2);
            let q = q.clone().mul(cos.clone()) + rotate_half(q).mul(sin.clone());
            let k = k.clone().mul(cos.clone()) + rotate_half(k).mul(sin.clone());
            let (k_all, v_all) = match &cache {
                Some(c) if past > 0 => {
                    let (pk, pv) = &c.layers[li];
                    (Tensor::cat(vec![pk.clone(), k], 2), Tensor::cat(vec![pv.clone(), v], 2))
                }
                _ => (k, v),
            };
            new_cache.push((k_all.clone(), v_all.clone()));
            let o = if mask_t.is_some() {
                let q = q.reshape([b, nkv, rep * t, hd]);
                let o = attention(q, k_all, v_all, mask_t.clone(), None, opts); // [B, nkv, rep*T, hd]
                o.reshape([b, nh, t, hd])
            } else {
                attention(q, repeat_kv(k_all, rep), repeat_kv(v_all, rep), None, None, opts)
            };
            let o = o.swap_dims(1, 2).reshape([b, t, nh * hd]); // [B, T, d]
            x = x + blk.o.forward(o);
            let h = rms_norm(x.clone(), &blk.ffn_norm, cfg.rms_eps);
            let g = silu(blk.gate.forward(h.clone())) * blk.up.forward(h);
            x = x + blk.down.forward(g);
        }
        if let Some(c) = cache {
            c.layers = new_cache;
        }
        rms_norm(x, &self.norm, cfg.rms_eps)
    }

    /// Logits of the tied head. # Shapes `[..., hidden]` -> `[..., vocab]`.
    pub fn head<const D: usize>(&self, h: Tensor<D>) -> Tensor<D> {
        burn::tensor::module::linear(h, self.embed.val().transpose(), None)
    }

    /// An empty cache.
    pub fn new_cache(&self) -> KvCache {
        KvCache { layers: Vec::new() }
    }

    /// Full logits `[1, T, vocab]` of one sequence, extending `cache` (positions continue after it).
    pub fn forward(&self, ids: &[u32], cache: &mut KvCache) -> Tensor<3> {
        let past = cache.len();
        let pos = vec![(past..past + ids.len()).collect::<Vec<_>>()];
        let h = self.hidden_states(ids, 1, &pos, None, Some(cache));
        self.head(h)
    }

    /// Next-token logits `[vocab]` after `ids` (a fresh prefill; no cache kept).
    pub fn next_token_logits(&self, ids: &[u32]) -> Vec<f32> {
        let mut c = self.new_cache();
        let t = ids.len();
        let pos = vec![(0..t).collect::<Vec<_>>()];
        let h = self.hidden_states(ids, 1, &pos, None, Some(&mut c)).narrow(1, t - 1, 1);
        to_vec(&self.head(h))
    }

    /// Greedy decoding with the KV cache: prefill once, then one token per step. Stops at
    /// `eos` (included in the output) or after `max_new` tokens. Returns the new ids.
    pub fn generate_greedy(&self, prompt: &[u32], max_new: usize, eos: Option<u32>) -> Vec<u32> {
        let mut cache = self.new_cache();
        let mut out = Vec::new();
        let mut logits = self.forward(prompt, &mut cache);
        for _ in 0..max_new {
            let t = logits.dims()[1];
            let last = to_vec(&logits.narrow(1, t - 1, 1));
            let next = argmax(&last) as u32;
            out.push(next);
            if Some(next) == eos {
                break;
            }
            logits = self.forward(&[next], &mut cache);
        }
        out
    }

    /// Greedy decoding of several prompts together (one forward per step for the whole batch):
    /// prompts are left-padded to the longest, padded keys are masked for every query, RoPE
    /// positions start at each row's first real token, so each row's output equals
    /// [`Llama::generate_greedy`] on that prompt alone (up to float summation order). A row
    /// stops at `eos` (included) or after `max_new` tokens; the batch stops when every row has.
    pub fn generate_greedy_batch(
        &self,
        prompts: &[Vec<u32>],
        max_new: usize,
        eos: Option<u32>,
    ) -> Result<Vec<Vec<u32>>, LlamaError> {
        if let Some(i) = prompts.iter().position(|c| c.is_empty()) {
            return Err(LlamaError::Input(format!("generate_greedy_batch: prompt {i} is empty")));
        }
        let b = prompts.len();
        let mut out = vec![Vec::new(); b];
        if b == 0 || max_new == 0 {
            return Ok(out);
        }
        let t = prompts.iter().map(|p| p.len()).max().unwrap_or(0);
        if t + max_new > self.config.max_position {
            return Err(LlamaError::Input(format!(
                "generate_greedy_batch: prompt ({t}) + max_new ({max_new}) exceed {} positions",
                self.config.max_position
            )));
        }
        let pads: Vec<usize> = prompts.iter().map(|p| t - p.len()).collect();
        let mut ids = Vec::with_capacity(b * t);
        let mut pos = Vec::with_capacity(b);
        let mut mask = Vec::with_capacity(b * t * t);
        for (p, &pad) in prompts.iter().zip(&pads) {
            ids.extend(std::iter::repeat_n(0u32, pad));
            ids.extend_from_slice(p);
            pos.push((0..t).map(|j| j.saturating_sub(pad)).collect::<Vec<_>>());
            for i in 0..t {
                for j in 0..t {
                    // A padded query attends to itself so that no softmax row is empty.
                    mask.push(j > i || (j < pad && j != i));
                }
            }
        }
        let mut cache = self.new_cache();
        let h = self.hidden_states(&ids, b, &pos, Some(&mask), Some(&mut cache));
        let mut last = to_vec(&self.head(h.narrow(1, t - 1, 1))); // [B * V]
        let v = self.config.vocab_size;
        let mut done = vec![false; b];
        for step in 0..max_new {
            let mut next = Vec::with_capacity(b);
            for (r, row) in last.chunks(v).enumerate() {
                let tok = argmax(row) as u32;
                if !done[r] {
                    out[r].push(tok);
                    done[r] = Some(tok) == eos;
                }
                next.push(tok);
            }
            if step + 1 == max_new || done.iter().all(|&d| d) {
                break;
            }
            // One new token per row; keys are the t + step cached positions plus itself.
            let keys = t + step + 1;
            let pos: Vec<Vec<usize>> = prompts.iter().map(|p| vec![p.len() + step]).collect();
            let mut mask = Vec::with_capacity(b * keys);
            for &pad in &pads {
                mask.extend((0..keys).map(|j| j < pad));
            }
            let h = self.hidden_states(&next, b, &pos, Some(&mask), Some(&mut cache));
            last = to_vec(&self.head(h));
        }
        Ok(out)
    }

    /// Log-probabilities of each candidate continuation after one shared prefix.
    ///
    /// The prefix is run once; its KV cache is shared by all candidates without copying: the
    /// candidates (all tokens but each one's last, which is only predicted) are packed into ONE
    /// sequence after the prefix, with RoPE positions restarting at the prefix length for each
    /// candidate and a block mask letting each candidate token see the prefix and the earlier
    /// tokens of its own candidate only. No padding is computed. The first token of every
    /// candidate is scored with the prefix's last logits. `chunk` bounds how many candidates
    /// are packed per pass (memory: `sum(len) x vocab` logits).
    pub fn score_continuations(
        &self,
        prefix: &[u32],
        candidates: &[Vec<u32>],
        chunk: usize,
    ) -> Result<Vec<ContinuationScore>, LlamaError> {
        if prefix.is_empty() {
            return Err(LlamaError::Input("score_continuations: empty prefix".into()));
        }
        if let Some(i) = candidates.iter().position(|c| c.is_empty()) {
            return Err(LlamaError::Input(format!("score_continuations: candidate {i} is empty")));
        }
        let p = prefix.len();
        let longest = candidates.iter().map(|c| c.len()).max().unwrap_or(0);
        if p + longest > self.config.max_position {
            return Err(LlamaError::Input(format!(
                "score_continuations: prefix + candidate exceed {} positions",
                self.config.max_position
            )));
        }
        let mut cache = self.new_cache();
        let h = self.hidden_states(prefix, 1, &[(0..p).collect()], None, Some(&mut cache));
        let first = to_vec(&log_softmax(self.head(h.narrow(1, p - 1, 1)), 2)); // [V]
        let mut out = Vec::with_capacity(candidates.len());
        for group in candidates.chunks(chunk.max(1)) {
            // Packed inputs: candidate c contributes c[0..len-1]; `owner[i]` is the packed index
            // where token i's candidate starts.
            let (mut ids, mut pos, mut tgt, mut owner) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for c in group {
                let start = ids.len();
                for j in 0..c.len() - 1 {
                    ids.push(c[j]);
                    pos.push(p + j);
                    tgt.push(c[j + 1] as i64);
                    owner.push(start);
                }
            }
            let t = ids.len();
            let mut scores: Vec<Vec<f32>> =
                group.iter().map(|c| vec![first[c[0] as usize]]).collect();
            if t > 0 {
                let mut mask = Vec::with_capacity(t * (p + t));
                for i in 0..t {
                    mask.extend(std::iter::repeat_n(false, p));
                    mask.extend((0..t).map(|j| j < owner[i] || j > i));
                }
                let mut c = cache.clone();
                let h = self.hidden_states(&ids, 1, &[pos], Some(&mask), Some(&mut c)); // [1, t, d]
                let lp = log_softmax(self.head(h), 2); // [1, t, V]
                let tg =
                    Tensor::<3, Int>::from_data(TensorData::new(tgt, [1, t, 1]), &self.device());
                let picked = to_vec(&lp.gather(2, tg));
                let mut k = 0;
                for (ci, c) in group.iter().enumerate() {
                    for _ in 1..c.len() {
                        scores[ci].push(picked[k]);
                        k += 1;
                    }
                }
            }
            for tl in scores {
                out.push(ContinuationScore {
                    logprob: tl.iter().map(|&x| x as f64).sum(),
                    token_logprobs: tl,
                });
            }
        }
        Ok(out)
    }

    /// Next-token logits `[B][vocab]` for a batch of prompts of different lengths, run together:
    /// left-padded to the longest, with a padding mask (padded keys are hidden from every query)
    /// and per-row RoPE positions starting at 0 at each row's first real token.
    pub fn next_token_logits_batch(
        &self,
        prompts: &[Vec<u32>],
    ) -> Result<Vec<Vec<f32>>, LlamaError> {
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(i) = prompts.iter().position(|c| c.is_empty()) {
            return Err(LlamaError::Input(format!("next_token_logits_batch: prompt {i} is empty")));
        }
        let b = prompts.len();
        let t = prompts.iter().map(|p| p.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(b * t);
        let mut pos = Vec::with_capacity(b);
        let mut mask = Vec::with_capacity(b * t * t);
        for p in prompts {
            let pad = t - p.len();
            ids.extend(std::iter::repeat_n(0u32, pad));
            ids.extend_from_slice(p);
            pos.push((0..t).map(|j| j.saturating_sub(pad)).collect());
            for i in 0..t {
                for j in 0..t {
                    // A padded query still attends to itself so that no softmax row is empty
                    // (an all-masked row gives NaN, and NaN * 0 would leak into later layers).
                    mask.push(j > i || (j < pad && j != i));
                }
            }
        }
        let h = self.hidden_states(&ids, b, &pos, Some(&mask), None).narrow(1, t - 1, 1);
        let v = to_vec(&self.head(h));
        Ok(v.chunks(self.config.vocab_size).map(|c| c.to_vec()).collect())
    }

    /// Attach LoRA adapters to the configured projections of every block and freeze all base
    /// weights (embedding, norms, projections).
    pub fn attach_lora(&mut self, cfg: &LoraConfig, seed: Seed) {
        let device = self.device();
        self.freeze_base();
        for (i, blk) in self.blocks.iter_mut().enumerate() {
            for &t in &cfg.targets {
                blk.proj_mut(t).attach_lora(
                    cfg,
                    seed.child(&format!("lora/{i}/{}", t.name())),
                    &device,
                );
            }
        }
    }

    fn freeze_base(&mut self) {
        self.embed = self.embed.clone().set_require_grad(false);
        self.norm = self.norm.clone().set_require_grad(false);
        for blk in &mut self.blocks {
            blk.attn_norm = blk.attn_norm.clone().set_require_grad(false);
            blk.ffn_norm = blk.ffn_norm.clone().set_require_grad(false);
            for t in LoraTarget::ALL {
                blk.proj_mut(t).freeze();
            }
        }
    }

    /// Save the attached adapters (`blocks.{i}.{target}.lora_a/b`) to a safetensors file.
    pub fn save_lora(&self, path: &Path, cfg: &LoraConfig) -> Result<(), LlamaError> {
        let mut v = Vec::new();
        for (i, blk) in self.blocks.iter().enumerate() {
            for t in LoraTarget::ALL {
                if let Some(l) = &blk.proj(t).lora {
                    v.push((format!("blocks.{i}.{}", t.name()), l));
                }
            }
        }
        if v.is_empty() {
            return Err(LlamaError::Input("save_lora: no adapters attached".into()));
        }
        Ok(save_adapters(path, &v, cfg)?)
    }

    /// Load adapters saved by [`Llama::save_lora`]; returns their config.
    pub fn load_lora(&mut self, path: &Path) -> Result<LoraConfig, LlamaError> {
        let (cfg, tensors) = read_adapters(path)?;
        let device = self.device();
        self.freeze_base();
        for (name, [a, b]) in &tensors {
            let bad = || LlamaError::Input(format!("{}: unknown adapter `{name}`", path.display()));
            let mut it = name.split('.');
            let (Some("blocks"), Some(i), Some(t), None) =
                (it.next(), it.next(), it.next(), it.next())
            else {
                return Err(bad());
            };
            let i: usize = i.parse().map_err(|_| bad())?;
            let t = LoraTarget::ALL.into_iter().find(|x| x.name() == t).ok_or_else(bad)?;
            let blk = self.blocks.get_mut(i).ok_or_else(bad)?;
            blk.proj_mut(t).set_lora_from(name, a, b, &cfg, path, &device)?;
        }
        Ok(cfg)
    }

    /// Number of elements in the LoRA adapters.
    pub fn n_lora_parameters(&self) -> usize {
        let mut n = 0;
        for blk in &self.blocks {
            for t in LoraTarget::ALL {
                if let Some(l) = &blk.proj(t).lora {
                    n += l.a.val().shape().num_elements() + l.b.val().shape().num_elements();
                }
            }
        }
        n
    }

    /// Every tensor of the model by name (base and adapters), in a fixed order.
    pub fn named_tensors(&self) -> Vec<(String, Tensor<2>)> {
        let mut v = vec![("embed".to_string(), self.embed.val())];
        for (i, blk) in self.blocks.iter().enumerate() {
            v.push((format!("blocks.{i}.attn_norm"), blk.attn_norm.val().unsqueeze()));
            v.push((format!("blocks.{i}.ffn_norm"), blk.ffn_norm.val().unsqueeze()));
            for t in LoraTarget::ALL {
                let p = blk.proj(t);
                v.push((format!("blocks.{i}.{}.weight", t.name()), p.weight.val()));
                if let Some(l) = &p.lora {
                    v.push((format!("blocks.{i}.{}.lora_a", t.name()), l.a.val()));
                    v.push((format!("blocks.{i}.{}.lora_b", t.name()), l.b.val()));
                }
            }
        }
        v.push(("norm".to_string(), self.norm.val().unsqueeze()));
        v
    }

    /// Mean next-token cross-entropy of `targets` given `inputs` (`[B, T]` each, row-major),
    /// counting only positions where `weights` (`[B, T]`) is non-zero, weighted by it.
    /// Differentiable (use on an autodiff device for LoRA training).
    pub fn lm_loss(&self, inputs: &[u32], targets: &[u32], weights: &[f32], b: usize) -> Tensor<1> {
        let device = self.device();
        let t = inputs.len() / b;
        let pos: Vec<Vec<usize>> = (0..b).map(|_| (0..t).collect()).collect();
        let h = self.hidden_states(inputs, b, &pos, None, None);
        let lp = log_softmax(self.head(h), 2); // [B, T, V]
        let tgt = Tensor::<3, Int>::from_data(
            TensorData::new(targets.iter().map(|&x| x as i64).collect::<Vec<_>>(), [b, t, 1]),
            &device,
        );
        let picked = lp.gather(2, tgt).reshape([b * t]);
        let w = tensor_from(weights.to_vec(), [b * t], &device);
        let total: f32 = weights.iter().sum();
        picked.mul(w).sum().div_scalar(total.max(1e-12)).neg()
    }
}

/// Index of the largest value (first one on ties).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol, "index {i}: {x} vs {y}");
        }
    }

    fn tiny() -> Llama {
        Llama::random(LlamaConfig::tiny(), Seed::new(7), &Device::flex())
    }

    #[test]
    fn unpermute_inverts_llama_cpp_permutation() {
        // llama.cpp: w.reshape(n_head, 2, hd/2, in).swapaxes(1, 2) (HF row h*hd + s*hd/2 + i
        // goes to GGUF row h*hd + 2i + s). Build that permutation and check we invert it.
        let (nh, hd, inp) = (2, 4, 3);
        let hf: Vec<f32> = (0..nh * hd * inp).map(|x| x as f32).collect();
        let mut gguf = vec![0f32; hf.len()];
        for h in 0..nh {
            for s in 0..2 {
                for i in 0..hd / 2 {
                    let src = (h * hd + s * hd / 2 + i) * inp;
                    let dst = (h * hd + 2 * i + s) * inp;
                    gguf[dst..dst + inp].copy_from_slice(&hf[src..src + inp]);
                }
            }
        }
        assert_eq!(unpermute_rows(&gguf, nh, hd, inp), hf);
    }

    #[test]
    fn incremental_decoding_matches_full_forward() {
        let m = tiny();
        let ids = [3u32, 9, 1, 30, 7, 7, 12];
        let full = to_vec(&m.forward(&ids, &mut m.new_cache()));
        let mut c = m.new_cache();
        let mut inc = to_vec(&m.forward(&ids[..4], &mut c));
        for &x in &ids[4..] {
            inc.extend(to_vec(&m.forward(&[x], &mut c)));
        }
        assert_eq!(c.len(), ids.len());
        close(&full, &inc, 1e-4);
    }

    #[test]
    fn shared_prefix_scoring_matches_separate_full_prompts() {
        let m = tiny();
        let prefix = [5u32, 6, 7, 8, 9];
        let cands = vec![vec![1u32, 2, 3], vec![4], vec![10, 11], vec![12, 13, 14, 15]];
        let s = m.score_continuations(&prefix, &cands, 3).unwrap();
        for (c, sc) in cands.iter().zip(&s) {
            // Reference: one full forward of prefix + candidate, log-softmax per position.
            let mut all = prefix.to_vec();
            all.extend(c);
            let lp = to_vec(&log_softmax(m.forward(&all, &mut m.new_cache()), 2));
            let v = m.config.vocab_size;
            let want: Vec<f32> =
                (0..c.len()).map(|j| lp[(prefix.len() + j - 1) * v + c[j] as usize]).collect();
            close(&sc.token_logprobs, &want, 1e-4);
        }
    }

    #[test]
    fn batched_left_padded_prompts_match_single_runs() {
        let m = tiny();
        let prompts = vec![vec![1u32, 2, 3, 4, 5, 6], vec![7u32], vec![8u32, 9, 10]];
        let batch = m.next_token_logits_batch(&prompts).unwrap();
        for (p, got) in prompts.iter().zip(&batch) {
            close(got, &m.next_token_logits(p), 1e-4);
        }
    }

    #[test]
    fn batched_greedy_generation_matches_single_prompt_generation() {
        let m = tiny();
        let prompts = vec![vec![1u32, 2, 3, 4, 5, 6], vec![7u32], vec![8u32, 9, 10]];
        let batch = m.generate_greedy_batch(&prompts, 6, None).unwrap();
        for (p, got) in prompts.iter().zip(&batch) {
            assert_eq!(got, &m.generate_greedy(p, 6, None));
            assert_eq!(got.len(), 6);
        }
        // With an eos taken from a row's own greedy output, that row stops there (eos included)
        // while the others go on.
        let eos = batch[1][2];
        let stopped = m.generate_greedy_batch(&prompts, 6, Some(eos)).unwrap();
        for (p, got) in prompts.iter().zip(&stopped) {
            assert_eq!(got, &m.generate_greedy(p, 6, Some(eos)));
        }
        assert!(stopped[1].len() <= 3 && stopped[1].last() == Some(&eos));
        assert!(m.generate_greedy_batch(&[vec![]], 2, None).is_err());
    }

    #[test]
    fn hidden_states_from_token_embeddings_equal_the_id_path() {
        let m = tiny();
        let ids = [4u32, 1, 9, 2];
        let pos = vec![(0..4).collect::<Vec<_>>()];
        let a = to_vec(&m.hidden_states(&ids, 1, &pos, None, None));
        let b = to_vec(&m.hidden_states_from_embeddings(m.embed_tokens(&ids, 1), &pos, None, None));
        assert_eq!(a, b);
    }

    #[test]
    fn gqa_with_one_group_per_head_equals_repeated_kv() {
        // repeat_kv must map query head h to kv head h / rep.
        let dev = Device::flex();
        let x = tensor_from((0..2 * 3 * 2).map(|i| i as f32).collect(), [1, 2, 3, 2], &dev);
        let r = to_vec(&repeat_kv(x, 3)); // [1, 6, 3, 2]
        for h in 0..6 {
            let src = h / 3;
            close(
                &r[h * 6..h * 6 + 6],
                &(0..6).map(|i| (src * 6 + i) as f32).collect::<Vec<_>>(),
                0.0,
            );
        }
    }

    #[test]
    fn lora_training_changes_only_adapters_and_roundtrips_through_safetensors() {
        use burn::optim::{AdamConfig, GradientsParams};
        let dev = Device::flex().autodiff();
        dev.seed(11);
        let mut m = Llama::random(LlamaConfig::tiny(), Seed::new(7), &dev);
        let cfg =
            LoraConfig { rank: 4, alpha: 8.0, dropout: 0.1, targets: LoraTarget::ALL.to_vec() };
        m.attach_lora(&cfg, Seed::new(9));
        assert_eq!(m.n_lora_parameters(), 2 * 4 * ((24 + 24) * 2 + (24 + 8) * 2 + (24 + 40) * 3));
        let before: Vec<(String, Vec<f32>)> =
            m.named_tensors().iter().map(|(n, t)| (n.clone(), to_vec(t))).collect();
        // Learn to continue a fixed sequence: inputs x[0..T-1], targets x[1..T].
        let seq = [3u32, 14, 15, 9, 26, 5, 35, 8, 9, 7];
        let (inp, tgt, w) = (&seq[..9], &seq[1..], vec![1.0f32; 9]);
        let mut optim = AdamConfig::new().init();
        let mut losses = Vec::new();
        for _ in 0..8 {
            let loss = m.lm_loss(inp, tgt, &w, 1);
            losses.push(to_vec(&loss)[0]);
            let grads = GradientsParams::from_grads(loss.backward(), &m);
            m = optim.step(5e-2, m, grads);
        }
        assert!(losses[7] < losses[0] - 0.1, "loss should fall: {losses:?}");
        let after = m.named_tensors();
        let mut changed = Vec::new();
        for ((n, b), (n2, a)) in before.iter().zip(&after) {
            assert_eq!(n, n2);
            if *b != to_vec(a) {
                changed.push(n.clone());
            }
        }
        // Every B moved away from zero (A may also move); no base tensor changed.
        assert!(changed.iter().all(|n| n.contains(".lora_")), "changed base tensors: {changed:?}");
        let n_b = changed.iter().filter(|n| n.ends_with(".lora_b")).count();
        assert_eq!(n_b, 2 * LoraTarget::ALL.len(), "{changed:?}");
        // Save, load into a fresh copy of the base model: identical logits (dropout is inactive
        // off the autodiff device).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adapters.safetensors");
        m.save_lora(&path, &cfg).unwrap();
        let plain = Device::flex();
        let trained = Llama::random(LlamaConfig::tiny(), Seed::new(7), &plain);
        let mut trained = trained;
        assert_eq!(trained.load_lora(&path).unwrap(), cfg);
        let m_plain = m.valid();
        let a = to_vec(&m_plain.forward(&seq, &mut m_plain.new_cache()));
        let b = to_vec(&trained.forward(&seq, &mut trained.new_cache()));
        close(&a, &b, 1e-5);
        // Merged adapters give the same outputs too.
        let mut merged = trained;
        for blk in &mut merged.blocks {
            for t in LoraTarget::ALL {
                blk.proj_mut(t).merge_lora();
            }
        }
        close(&to_vec(&merged.forward(&seq, &mut merged.new_cache())), &b, 1e-4);
    }
}
