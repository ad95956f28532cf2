//! BERT encoder (all-MiniLM-L6-v2) in Burn, loaded from a PyTorch-layout `model.safetensors`,
//! with sentence-transformers' pooling: mean over real tokens, then L2 normalisation.
//!
//! Architecture (Devlin et al., 2019, "BERT"; MiniLM: Wang et al., 2020; all-MiniLM-L6-v2 is the
//! sentence-transformers contrastive fine-tune): word + position + token-type embeddings,
//! LayerNorm, then post-norm blocks `x = LN(x + Attn(x)); x = LN(x + FFN_gelu(x))`.
//!
//! Tokenisation uses the model's own `tokenizer.json` through the `tokenizers` crate. That file
//! ships with fixed padding to 128 and truncation at 128; we turn padding off (batches are padded
//! here and the padding is masked out of attention and pooling) and truncate at the
//! sentence-transformers `max_seq_length` (256 in `sentence_bert_config.json`), which is what
//! sentence-transformers itself does (its tokenizer call overrides the file's truncation).

use std::path::Path;

use burn::module::{Module, Param};
use burn::tensor::activation::gelu;
use burn::tensor::module::{attention, embedding, layer_norm};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use quadrec_core::Seed;
use rand::RngExt;
use tokenizers::{Tokenizer, TruncationParams};

use crate::embed_cache::{CacheError, CacheStats, EmbeddingCache};
use crate::lora::{
    LoraConfig, LoraError, LoraTarget, Proj, read_adapters, save_adapters, tensor_from, to_vec,
};

/// Errors of the encoder.
#[derive(Debug, thiserror::Error)]
pub enum BertError {
    /// File problem.
    #[error("{path}: {msg}")]
    File {
        /// File concerned.
        path: String,
        /// What is wrong.
        msg: String,
    },
    /// Tokenizer problem.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
}

/// Hyper-parameters (mirror of the Hugging Face `config.json` fields we use).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BertConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Width.
    pub hidden_size: usize,
    /// Blocks.
    pub num_hidden_layers: usize,
    /// Attention heads.
    pub num_attention_heads: usize,
    /// FFN width.
    pub intermediate_size: usize,
    /// Position table size.
    pub max_position_embeddings: usize,
    /// Token-type table size.
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
}

impl BertConfig {
    /// Tiny config for unit tests.
    pub fn tiny() -> Self {
        Self {
            vocab_size: 50,
            hidden_size: 16,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 32,
            max_position_embeddings: 32,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
        }
    }
}

/// How token states become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// Mean over real (non-padding) tokens, then L2 normalisation (sentence-transformers).
    MeanNorm,
    /// The `[CLS]` state, then L2 normalisation.
    ClsNorm,
}

/// Version of the inference kernels behind [`SentenceEncoder::encode`] (host GELU with a rational
/// erf since session 4). Part of the embedding-cache key ([`Pooling::cache_key`]): embeddings
/// written by an earlier kernel (equal only to ~1e-6) are recomputed, never mixed with new ones,
/// so a run's numbers do not depend on what the cache held before it.
pub const INFERENCE_KERNEL: &str = "k2";

impl Pooling {
    /// Stable name of the pooling.
    pub fn name(self) -> &'static str {
        match self {
            Pooling::MeanNorm => "mean_norm",
            Pooling::ClsNorm => "cls_norm",
        }
    }

    /// The pooling part of embedding-cache keys: pooling name + [`INFERENCE_KERNEL`].
    pub fn cache_key(self) -> String {
        format!("{}.{INFERENCE_KERNEL}", self.name())
    }
}

/// LayerNorm parameters.
#[derive(Module, Debug)]
pub struct Ln {
    /// Scale `[d]`.
    pub gamma: Param<Tensor<1>>,
    /// Shift `[d]`.
    pub beta: Param<Tensor<1>>,
}

/// One post-norm encoder block.
#[derive(Module, Debug)]
pub struct BertBlock {
    /// Query `[d, d]`.
    pub q: Proj,
    /// Key `[d, d]`.
    pub k: Proj,
    /// Value `[d, d]`.
    pub v: Proj,
    /// Attention output `[d, d]`.
    pub o: Proj,
    /// LayerNorm after attention.
    pub ln1: Ln,
    /// `intermediate.dense` `[d, ff]`.
    pub up: Proj,
    /// `output.dense` `[ff, d]`.
    pub down: Proj,
    /// LayerNorm after the FFN.
    pub ln2: Ln,
}

/// The encoder.
#[derive(Module, Debug)]
pub struct Bert {
    /// Word embeddings `[vocab, d]`.
    pub word: Param<Tensor<2>>,
    /// Position embeddings `[max_pos, d]`.
    pub pos: Param<Tensor<2>>,
    /// Token-type embeddings `[types, d]`.
    pub token_type: Param<Tensor<2>>,
    /// Embedding LayerNorm.
    pub ln_emb: Ln,
    /// Blocks.
    pub blocks: Vec<BertBlock>,
    /// Hyper-parameters.
    #[module(skip)]
    pub config: BertConfig,
}

struct St<'a> {
    st: safetensors::SafeTensors<'a>,
    path: &'a Path,
}

impl St<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, BertError> {
        let err = |msg: String| BertError::File {
            path: self.path.display().to_string(),
            msg: format!("tensor `{name}`: {msg}"),
        };
        let t = self.st.tensor(name).map_err(|e| err(e.to_string()))?;
        if t.dtype() != safetensors::Dtype::F32 {
            return Err(err(format!("dtype {:?}, expected F32", t.dtype())));
        }
        if t.shape() != shape {
            return Err(err(format!("shape {:?}, expected {shape:?}", t.shape())));
        }
        Ok(t.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
}

impl Bert {
    /// Load `config.json` + `model.safetensors` (Hugging Face `BertModel` names).
    pub fn load(
        config_json: &Path,
        safetensors_path: &Path,
        device: &Device,
    ) -> Result<Self, BertError> {
        let ferr = |p: &Path, msg: String| BertError::File { path: p.display().to_string(), msg };
        let cfg_text =
            std::fs::read_to_string(config_json).map_err(|e| ferr(config_json, e.to_string()))?;
        let config: BertConfig =
            serde_json::from_str(&cfg_text).map_err(|e| ferr(config_json, e.to_string()))?;
        let bytes =
            std::fs::read(safetensors_path).map_err(|e| ferr(safetensors_path, e.to_string()))?;
        let st = St {
            st: safetensors::SafeTensors::deserialize(&bytes)
                .map_err(|e| ferr(safetensors_path, e.to_string()))?,
            path: safetensors_path,
        };
        let (d, ff) = (config.hidden_size, config.intermediate_size);
        let p2 = |n: &str, r: usize, c: usize| -> Result<Param<Tensor<2>>, BertError> {
            Ok(Param::from_tensor(tensor_from(st.get(n, &[r, c])?, [r, c], device)))
        };
        let p1 = |n: &str, r: usize| -> Result<Param<Tensor<1>>, BertError> {
            Ok(Param::from_tensor(tensor_from(st.get(n, &[r])?, [r], device)))
        };
        let ln = |n: &str| -> Result<Ln, BertError> {
            Ok(Ln { gamma: p1(&format!("{n}.weight"), d)?, beta: p1(&format!("{n}.bias"), d)? })
        };
        let lin = |n: &str, out: usize, inp: usize| -> Result<Proj, BertError> {
            let w = st.get(&format!("{n}.weight"), &[out, inp])?;
            let b = st.get(&format!("{n}.bias"), &[out])?;
            Ok(Proj::from_torch(&w, out, inp, Some(b), device))
        };
        let mut blocks = Vec::new();
        for i in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{i}.");
            blocks.push(BertBlock {
                q: lin(&format!("{p}attention.self.query"), d, d)?,
                k: lin(&format!("{p}attention.self.key"), d, d)?,
                v: lin(&format!("{p}attention.self.value"), d, d)?,
                o: lin(&format!("{p}attention.output.dense"), d, d)?,
                ln1: ln(&format!("{p}attention.output.LayerNorm"))?,
                up: lin(&format!("{p}intermediate.dense"), ff, d)?,
                down: lin(&format!("{p}output.dense"), d, ff)?,
                ln2: ln(&format!("{p}output.LayerNorm"))?,
            });
        }
        Ok(Bert {
            word: p2("embeddings.word_embeddings.weight", config.vocab_size, d)?,
            pos: p2("embeddings.position_embeddings.weight", config.max_position_embeddings, d)?,
            token_type: p2("embeddings.token_type_embeddings.weight", config.type_vocab_size, d)?,
            ln_emb: ln("embeddings.LayerNorm")?,
            blocks,
            config,
        })
    }

    /// Random model for unit tests.
    pub fn random(config: BertConfig, seed: Seed, device: &Device) -> Self {
        let (d, ff) = (config.hidden_size, config.intermediate_size);
        let mut rng = seed.child("tables").rng();
        let mut table = |r: usize| -> Param<Tensor<2>> {
            Param::from_tensor(tensor_from(
                (0..r * d).map(|_| rng.random_range(-1.0f32..1.0)).collect(),
                [r, d],
                device,
            ))
        };
        let (word, pos, token_type) = (
            table(config.vocab_size),
            table(config.max_position_embeddings),
            table(config.type_vocab_size),
        );
        let ln = || Ln {
            gamma: Param::from_tensor(Tensor::ones([d], device)),
            beta: Param::from_tensor(Tensor::zeros([d], device)),
        };
        let blocks = (0..config.num_hidden_layers)
            .map(|i| {
                let s = seed.child(&format!("block{i}"));
                BertBlock {
                    q: Proj::random(d, d, true, s.child("q"), device),
                    k: Proj::random(d, d, true, s.child("k"), device),
                    v: Proj::random(d, d, true, s.child("v"), device),
                    o: Proj::random(d, d, true, s.child("o"), device),
                    ln1: ln(),
                    up: Proj::random(d, ff, true, s.child("up"), device),
                    down: Proj::random(ff, d, true, s.child("down"), device),
                    ln2: ln(),
                }
            })
            .collect();
        Bert { word, pos, token_type, ln_emb: ln(), blocks, config }
    }

    fn device(&self) -> Device {
        self.word.val().device()
    }

    /// Token states `[B, T, d]` of a right-padded batch; `lens[b]` real tokens in row `b`.
    /// Differentiable (used for LoRA fine-tuning); see [`Bert::forward_inference`].
    pub fn forward(&self, ids: &[u32], lens: &[usize]) -> Tensor<3> {
        self.forward_with(ids, lens, false)
    }

    /// Same states as [`Bert::forward`] up to float rounding, for inference only: the FFN's GELU
    /// runs on host memory with a vectorisable erf ([`gelu_host_in_place`]) instead of Burn's
    /// `gelu` (scalar `libm::erff` per element on `flex`, ~30% of MiniLM encoding time in a
    /// perf profile). No gradient flows through that step, so training must use `forward`.
    pub fn forward_inference(&self, ids: &[u32], lens: &[usize]) -> Tensor<3> {
        self.forward_with(ids, lens, true)
    }

    fn forward_with(&self, ids: &[u32], lens: &[usize], host_gelu: bool) -> Tensor<3> {
        let device = self.device();
        let b = lens.len();
        let t = ids.len() / b;
        let cfg = &self.config;
        let (d, nh) = (cfg.hidden_size, cfg.num_attention_heads);
        let hd = d / nh;
        let eps = cfg.layer_norm_eps;
        let idx = Tensor::<2, Int>::from_data(
            TensorData::new(ids.iter().map(|&x| x as i64).collect::<Vec<_>>(), [b, t]),
            &device,
        );
        let x = embedding(self.word.val(), idx)
            + self.pos.val().narrow(0, 0, t).unsqueeze::<3>()
            + self.token_type.val().narrow(0, 0, 1).unsqueeze::<3>();
        let mut x = layer_norm(x, self.ln_emb.gamma.val(), Some(self.ln_emb.beta.val()), eps);
        // Key padding mask [B, nh, T, T], true = padded key. Every row keeps at least its [CLS].
        let need_mask = lens.iter().any(|&l| l < t);
        let mask = need_mask.then(|| {
            let m: Vec<bool> = lens.iter().flat_map(|&l| (0..t).map(move |j| j >= l)).collect();
            Tensor::<2, Bool>::from_data(TensorData::new(m, [b, t]), &device)
                .reshape([b, 1, 1, t])
                .expand([b, nh, t, t])
        });
        let opts = AttentionModuleOptions::default();
        for blk in &self.blocks {
            let heads =
                |p: &Proj, x: Tensor<3>| p.forward(x).reshape([b, t, nh, hd]).swap_dims(1, 2); // [B, nh, T, hd]
            let a = attention(
                heads(&blk.q, x.clone()),
                heads(&blk.k, x.clone()),
                heads(&blk.v, x.clone()),
                mask.clone(),
                None,
                opts,
            );
            let a = blk.o.forward(a.swap_dims(1, 2).reshape([b, t, d]));
            x = layer_norm(x + a, blk.ln1.gamma.val(), Some(blk.ln1.beta.val()), eps);
            let u = blk.up.forward(x.clone());
            let u = if host_gelu { gelu_host(u) } else { gelu(u) };
            let f = blk.down.forward(u);
            x = layer_norm(x + f, blk.ln2.gamma.val(), Some(blk.ln2.beta.val()), eps);
        }
        x
    }

    /// Pooled, L2-normalised vectors `[B, d]` of a right-padded batch.
    pub fn pool(&self, states: Tensor<3>, lens: &[usize], pooling: Pooling) -> Tensor<2> {
        let [b, t, d] = states.dims();
        let v = match pooling {
            Pooling::MeanNorm => {
                let m: Vec<f32> = lens
                    .iter()
                    .flat_map(|&l| (0..t).map(move |j| if j < l { 1.0 } else { 0.0 }))
                    .collect();
                let m = tensor_from(m, [b, t, 1], &self.device());
                let n =
                    tensor_from(lens.iter().map(|&l| l as f32).collect(), [b, 1], &self.device());
                (states * m).sum_dim(1).reshape([b, d]) / n
            }
            Pooling::ClsNorm => states.narrow(1, 0, 1).reshape([b, d]),
        };
        // Same clamp as torch.nn.functional.normalize (eps = 1e-12).
        let norm = v.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
        v / norm
    }

    /// Attach LoRA adapters (targets `Q, K, V, O, Up, Down`; `Gate` does not exist in BERT and
    /// is ignored) and freeze every base tensor.
    pub fn attach_lora(&mut self, cfg: &LoraConfig, seed: Seed) {
        let device = self.device();
        self.freeze_base();
        for (i, blk) in self.blocks.iter_mut().enumerate() {
            for &t in &cfg.targets {
                if let Some(p) = blk.proj_mut(t) {
                    p.attach_lora(cfg, seed.child(&format!("lora/{i}/{}", t.name())), &device);
                }
            }
        }
    }

    fn freeze_base(&mut self) {
        self.word = self.word.clone().set_require_grad(false);
        self.pos = self.pos.clone().set_require_grad(false);
        self.token_type = self.token_type.clone().set_require_grad(false);
        let freeze_ln = |l: &mut Ln| {
            l.gamma = l.gamma.clone().set_require_grad(false);
            l.beta = l.beta.clone().set_require_grad(false);
        };
        freeze_ln(&mut self.ln_emb);
        for blk in &mut self.blocks {
            freeze_ln(&mut blk.ln1);
            freeze_ln(&mut blk.ln2);
            for t in LoraTarget::ALL {
                if let Some(p) = blk.proj_mut(t) {
                    p.freeze();
                }
            }
        }
    }

    /// Save the attached adapters (`blocks.{i}.{target}.lora_a/b`) to a safetensors file.
    pub fn save_lora(&self, path: &Path, cfg: &LoraConfig) -> Result<(), LoraError> {
        let mut v = Vec::new();
        for (i, blk) in self.blocks.iter().enumerate() {
            for t in LoraTarget::ALL {
                if let Some(l) = blk.proj(t).and_then(|p| p.lora.as_ref()) {
                    v.push((format!("blocks.{i}.{}", t.name()), l));
                }
            }
        }
        save_adapters(path, &v, cfg)
    }

    /// Load adapters saved by [`Bert::save_lora`]; returns their config.
    pub fn load_lora(&mut self, path: &Path) -> Result<LoraConfig, LoraError> {
        let (cfg, tensors) = read_adapters(path)?;
        let device = self.device();
        self.freeze_base();
        for (name, [a, b]) in &tensors {
            let bad = || LoraError::Format {
                path: path.display().to_string(),
                msg: format!("unknown adapter `{name}`"),
            };
            let mut it = name.split('.');
            let (Some("blocks"), Some(i), Some(t), None) =
                (it.next(), it.next(), it.next(), it.next())
            else {
                return Err(bad());
            };
            let i: usize = i.parse().map_err(|_| bad())?;
            let t = LoraTarget::ALL.into_iter().find(|x| x.name() == t).ok_or_else(bad)?;
            let p = self.blocks.get_mut(i).and_then(|blk| blk.proj_mut(t)).ok_or_else(bad)?;
            p.set_lora_from(name, a, b, &cfg, path, &device)?;
        }
        Ok(cfg)
    }
}

impl BertBlock {
    fn proj_mut(&mut self, t: LoraTarget) -> Option<&mut Proj> {
        match t {
            LoraTarget::Q => Some(&mut self.q),
            LoraTarget::K => Some(&mut self.k),
            LoraTarget::V => Some(&mut self.v),
            LoraTarget::O => Some(&mut self.o),
            LoraTarget::Up => Some(&mut self.up),
            LoraTarget::Down => Some(&mut self.down),
            LoraTarget::Gate => None,
        }
    }
    fn proj(&self, t: LoraTarget) -> Option<&Proj> {
        match t {
            LoraTarget::Q => Some(&self.q),
            LoraTarget::K => Some(&self.k),
            LoraTarget::V => Some(&self.v),
            LoraTarget::O => Some(&self.o),
            LoraTarget::Up => Some(&self.up),
            LoraTarget::Down => Some(&self.down),
            LoraTarget::Gate => None,
        }
    }
}

/// MiniLM sentence encoder: tokenizer + [`Bert`] + pooling.
#[derive(Debug)]
pub struct SentenceEncoder {
    /// The encoder.
    pub model: Bert,
    tokenizer: Tokenizer,
    /// Truncation length (sentence-transformers `max_seq_length`).
    pub max_len: usize,
    /// Pooling.
    pub pooling: Pooling,
}

impl SentenceEncoder {
    /// Load a sentence-transformers folder (`config.json`, `model.safetensors`,
    /// `tokenizer.json`, `sentence_bert_config.json`).
    pub fn load_dir(dir: &Path, device: &Device) -> Result<Self, BertError> {
        let model = Bert::load(&dir.join("config.json"), &dir.join("model.safetensors"), device)?;
        let sb = dir.join("sentence_bert_config.json");
        let text = std::fs::read_to_string(&sb)
            .map_err(|e| BertError::File { path: sb.display().to_string(), msg: e.to_string() })?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| BertError::File { path: sb.display().to_string(), msg: e.to_string() })?;
        let max_len = v["max_seq_length"].as_u64().ok_or_else(|| BertError::File {
            path: sb.display().to_string(),
            msg: "field `max_seq_length` missing or not an integer".into(),
        })? as usize;
        Self::new(model, &dir.join("tokenizer.json"), max_len.min(model_max(dir)))
    }

    /// Wrap a model with a tokenizer file, truncating at `max_len` tokens (incl. `[CLS]`/`[SEP]`).
    pub fn new(model: Bert, tokenizer_json: &Path, max_len: usize) -> Result<Self, BertError> {
        let mut tokenizer = Tokenizer::from_file(tokenizer_json)
            .map_err(|e| BertError::Tokenizer(format!("{}: {e}", tokenizer_json.display())))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: max_len, ..Default::default() }))
            .map_err(|e| BertError::Tokenizer(e.to_string()))?;
        Ok(Self { model, tokenizer, max_len, pooling: Pooling::MeanNorm })
    }

    /// Token ids of one text (with `[CLS]`/`[SEP]`, truncated).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, BertError> {
        let e =
            self.tokenizer.encode(text, true).map_err(|e| BertError::Tokenizer(e.to_string()))?;
        Ok(e.get_ids().to_vec())
    }

    /// Embed texts (unit vectors, `[texts.len()][d]`), `batch` at a time. Texts are sorted by
    /// length before batching (as sentence-transformers does) so little padding is computed;
    /// the output keeps the input order.
    pub fn encode(&self, texts: &[&str], batch: usize) -> Result<Vec<Vec<f32>>, BertError> {
        let toks: Vec<Vec<u32>> =
            texts.iter().map(|t| self.tokenize(t)).collect::<Result<_, _>>()?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(toks[i].len()));
        let mut out = vec![Vec::new(); texts.len()];
        for group in order.chunks(batch.max(1)) {
            let rows: Vec<&[u32]> = group.iter().map(|&i| toks[i].as_slice()).collect();
            let vecs = self.encode_ids(&rows);
            for (&i, v) in group.iter().zip(vecs) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// [`SentenceEncoder::encode`] through a disk cache keyed by (`model_hash`, text, pooling).
    /// `model_hash` must identify the weights (and adapters, if any), e.g.
    /// [`crate::assets::minilm_model_hash`].
    pub fn encode_cached(
        &self,
        cache: &EmbeddingCache,
        model_hash: &str,
        texts: &[&str],
        batch: usize,
    ) -> Result<(Vec<Vec<f32>>, CacheStats), CacheError> {
        cache.get_or_compute(model_hash, &self.pooling.cache_key(), texts, |todo| {
            self.encode(todo, batch)
        })
    }

    /// Embed pre-tokenised rows as one right-padded batch.
    pub fn encode_ids(&self, rows: &[&[u32]]) -> Vec<Vec<f32>> {
        let t = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        let lens: Vec<usize> = rows.iter().map(|r| r.len()).collect();
        let mut ids = Vec::with_capacity(rows.len() * t);
        for r in rows {
            ids.extend_from_slice(r);
            ids.extend(std::iter::repeat_n(0u32, t - r.len()));
        }
        let states = self.model.forward_inference(&ids, &lens);
        let v = to_vec(&self.model.pool(states, &lens, self.pooling));
        v.chunks(self.model.config.hidden_size).map(|c| c.to_vec()).collect()
    }
}

/// Exact (erf) GELU of a tensor through host memory: one copy out, one pass, one copy in.
fn gelu_host<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let (dims, device) = (x.dims(), x.device());
    let mut v = x
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 tensor data should convert to Vec<f32>");
    gelu_host_in_place(&mut v);
    Tensor::from_data(TensorData::new(v, dims), &device)
}

/// `gelu(x) = x/2 * (1 + erf(x/sqrt 2))` in place. `erf` is the rational minimax approximation
/// of Eigen's `generic_fast_erf_float` (also XLA's f32 erf): branch-free (clamp, two
/// polynomials, one division), so the loop auto-vectorises; its error is at the level of f32
/// rounding (checked against Burn's libm-based `gelu` in the tests).
pub fn gelu_host_in_place(v: &mut [f32]) {
    // pulp picks the widest instruction set of this CPU at run time (AVX-512 / AVX2 / scalar)
    // and compiles the closure for it, so the loop vectorises beyond the SSE2 baseline. No FMA
    // contraction happens (Rust does not fuse `a * b + c`), so the result is the same on every
    // instruction set.
    pulp::Arch::new().dispatch(|| {
        for x in v.iter_mut() {
            *x = gelu_f32(*x);
        }
    });
}

#[inline(always)]
fn gelu_f32(x: f32) -> f32 {
    0.5 * x * (1.0 + erf_f32(x * std::f32::consts::FRAC_1_SQRT_2))
}

#[inline(always)]
#[allow(clippy::excessive_precision)]
fn erf_f32(x: f32) -> f32 {
    // erf(x) rounds to +-1 in f32 beyond |x| = 4.
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    // Odd numerator x * P(x^2) and even denominator Q(x^2), Horner form.
    let mut p = x2 * -2.72614225801306e-10 + 2.77068142495902e-08;
    p = x2 * p + -2.10102402082508e-06;
    p = x2 * p + -5.69250639462346e-05;
    p = x2 * p + -7.34990630326855e-04;
    p = x2 * p + -2.95459980854025e-03;
    p = x2 * p + -1.60960333262415e-02;
    p *= x;
    let mut q = x2 * -1.45660718464996e-05 + -2.13374055278905e-04;
    q = x2 * q + -1.68282697438203e-03;
    q = x2 * q + -7.37332916720468e-03;
    q = x2 * q + -1.42647390514189e-02;
    // The approximation overshoots |erf| = 1 by a few ulps near the clamp; keep it a CDF.
    (p / q).clamp(-1.0, 1.0)
}

fn model_max(dir: &Path) -> usize {
    // tokenizer_config.json's model_max_length (512 for MiniLM) also bounds the length.
    std::fs::read_to_string(dir.join("tokenizer_config.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v["model_max_length"].as_u64())
        .map_or(usize::MAX, |x| x as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lora_adapters_roundtrip() {
        let dev = Device::flex();
        let mut m = Bert::random(BertConfig::tiny(), Seed::new(3), &dev);
        let cfg =
            LoraConfig { rank: 2, alpha: 2.0, dropout: 0.0, targets: LoraTarget::ALL.to_vec() };
        m.attach_lora(&cfg, Seed::new(4));
        // Give B non-zero values so the adapters change outputs.
        for blk in &mut m.blocks {
            let l = blk.q.lora.as_mut().unwrap();
            l.b = Param::from_tensor(Tensor::ones(l.b.dims(), &dev).mul_scalar(0.1));
        }
        let ids = [1u32, 5, 9, 2];
        let y = to_vec(&m.forward(&ids, &[4]));
        let base = Bert::random(BertConfig::tiny(), Seed::new(3), &dev);
        assert_ne!(to_vec(&base.forward(&ids, &[4])), y);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.safetensors");
        m.save_lora(&path, &cfg).unwrap();
        let mut loaded = base;
        assert_eq!(loaded.load_lora(&path).unwrap(), cfg);
        let z = to_vec(&loaded.forward(&ids, &[4]));
        for (a, b) in y.iter().zip(&z) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn host_gelu_matches_burn_gelu() {
        // Dense grid over the range where GELU is not trivially 0 or x, plus the tails.
        let dev = Device::flex();
        let xs: Vec<f32> = (-12_000..=12_000).map(|i| i as f32 * 1e-3).collect();
        let exact = to_vec(&gelu(tensor_from(xs.clone(), [xs.len()], &dev)));
        let mut fast = xs.clone();
        gelu_host_in_place(&mut fast);
        let mut worst = 0f32;
        for ((x, a), b) in xs.iter().zip(&exact).zip(&fast) {
            // Relative to max(|gelu|, 1). The rational erf is within 6.5e-8 of erf in exact
            // arithmetic; evaluated in f32 the worst case is ~1e-6 here (x near -5.6, where
            // x/2 * (1 + erf) amplifies erf's f32 rounding near -1). PyTorch's vectorised erf
            // (Abramowitz-Stegun 7.1.26) is itself only accurate to 1.5e-7 in erf.
            let err = (a - b).abs() / a.abs().max(1.0);
            assert!(err <= 1.5e-6, "gelu({x}): burn {a} vs host {b}");
            worst = worst.max(err);
        }
        eprintln!("host gelu: max scaled error {worst:e}");
        let t = tensor_from(xs[..24_000].to_vec(), [3, 8_000], &dev);
        assert_eq!(to_vec(&gelu_host(t)), fast[..24_000]);
    }

    #[test]
    fn inference_forward_matches_forward() {
        let dev = Device::flex();
        let m = Bert::random(BertConfig::tiny(), Seed::new(5), &dev);
        let ids = [1u32, 7, 7, 8, 11, 13, 40, 2, 1, 5, 9, 2, 0, 0, 0, 0];
        let a = to_vec(&m.forward(&ids, &[8, 4]));
        let b = to_vec(&m.forward_inference(&ids, &[8, 4]));
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }

    #[test]
    fn padding_does_not_change_embeddings() {
        let dev = Device::flex();
        let m = Bert::random(BertConfig::tiny(), Seed::new(3), &dev);
        let short = [1u32, 5, 9, 2];
        let long = [1u32, 7, 7, 8, 11, 13, 40, 2];
        let alone = to_vec(&m.pool(m.forward(&short, &[4]), &[4], Pooling::MeanNorm));
        let mut ids = long.to_vec();
        ids.extend(short);
        ids.extend([0u32; 4]);
        let both = to_vec(&m.pool(m.forward(&ids, &[8, 4]), &[8, 4], Pooling::MeanNorm));
        for (a, b) in alone.iter().zip(&both[16..]) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        let n: f32 = both[..16].iter().map(|x| x * x).sum();
        assert!((n - 1.0).abs() < 1e-5);
    }
}
