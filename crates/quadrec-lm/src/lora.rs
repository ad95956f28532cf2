//! Linear projections shared by both models, with optional LoRA adapters.
//!
//! LoRA (Hu et al., 2021, "LoRA: Low-Rank Adaptation of Large Language Models"):
//! `y = x W + b + (alpha / r) * dropout(x) A B`, with `A: [in, r]` initialised like PEFT
//! (`U(-1/sqrt(in), 1/sqrt(in)`, from the seed tree) and `B: [r, out]` zero, so an attached but
//! untrained adapter leaves the model's outputs unchanged. Base weights are frozen
//! (`require_grad = false`) when adapters are attached; only `A` and `B` receive gradients.
//! Adapters are saved to and loaded from safetensors files keyed by the projection's name.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::{Device, Tensor, TensorData};
use quadrec_core::Seed;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// Which projections receive adapters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoraTarget {
    /// Attention query projection.
    Q,
    /// Attention key projection.
    K,
    /// Attention value projection.
    V,
    /// Attention output projection.
    O,
    /// MLP gate projection (SwiGLU, Llama only).
    Gate,
    /// MLP up projection (BERT: `intermediate.dense`).
    Up,
    /// MLP down projection (BERT: `output.dense`).
    Down,
}

impl LoraTarget {
    /// All targets (attention and MLP).
    pub const ALL: [LoraTarget; 7] =
        [Self::Q, Self::K, Self::V, Self::O, Self::Gate, Self::Up, Self::Down];
    /// Short name used in adapter tensor names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Q => "q",
            Self::K => "k",
            Self::V => "v",
            Self::O => "o",
            Self::Gate => "gate",
            Self::Up => "up",
            Self::Down => "down",
        }
    }
}

/// LoRA hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoraConfig {
    /// Rank `r` of the update `A B`.
    pub rank: usize,
    /// Scaling numerator: the update is multiplied by `alpha / rank`.
    pub alpha: f64,
    /// Dropout probability applied to the adapter's input during training.
    pub dropout: f64,
    /// Projections that receive adapters.
    pub targets: Vec<LoraTarget>,
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self { rank: 8, alpha: 16.0, dropout: 0.05, targets: LoraTarget::ALL.to_vec() }
    }
}

/// Errors of adapter files.
#[derive(Debug, thiserror::Error)]
pub enum LoraError {
    /// File could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File concerned.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The file is not valid safetensors or does not match the model.
    #[error("{path}: {msg}")]
    Format {
        /// File concerned.
        path: String,
        /// What is wrong.
        msg: String,
    },
}

/// A LoRA adapter of one projection.
#[derive(Module, Debug)]
pub struct Lora {
    /// Down projection `[in, r]`.
    pub a: Param<Tensor<2>>,
    /// Up projection `[r, out]`, zero at initialisation.
    pub b: Param<Tensor<2>>,
    /// `alpha / r`.
    pub scale: f64,
    /// Dropout on the adapter input (active only on autodiff devices).
    pub dropout: Dropout,
}

/// A linear projection `y = x W + b` (`W: [in, out]`) with an optional LoRA adapter.
#[derive(Module, Debug)]
pub struct Proj {
    /// Weight `[in, out]` (PyTorch/GGUF `[out, in]` transposed at load time).
    pub weight: Param<Tensor<2>>,
    /// Optional bias `[out]`.
    pub bias: Option<Param<Tensor<1>>>,
    /// Optional adapter.
    pub lora: Option<Lora>,
}

/// A float tensor from host values.
pub(crate) fn tensor_from<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Transpose a row-major `[rows, cols]` host matrix.
pub(crate) fn transpose_host(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0f32; w.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = w[r * cols + c];
        }
    }
    t
}

impl Proj {
    /// From a PyTorch-layout weight `[out, in]` (row-major) and optional bias.
    pub fn from_torch(
        w_out_in: &[f32],
        out: usize,
        inp: usize,
        bias: Option<Vec<f32>>,
        device: &Device,
    ) -> Self {
        assert_eq!(w_out_in.len(), out * inp, "weight should hold out * in values");
        let w = transpose_host(w_out_in, out, inp);
        Proj {
            weight: Param::from_tensor(tensor_from(w, [inp, out], device)),
            bias: bias.map(|b| Param::from_tensor(tensor_from(b, [out], device))),
            lora: None,
        }
    }

    /// Random projection for tiny test configs (`U(-1/sqrt(in), 1/sqrt(in))`).
    pub fn random(inp: usize, out: usize, bias: bool, seed: Seed, device: &Device) -> Self {
        let mut rng = seed.rng();
        let k = 1.0 / (inp as f32).sqrt();
        let w: Vec<f32> = (0..inp * out).map(|_| rng.random_range(-k..k)).collect();
        let b = bias.then(|| (0..out).map(|_| rng.random_range(-k..k)).collect::<Vec<f32>>());
        Proj {
            weight: Param::from_tensor(tensor_from(w, [inp, out], device)),
            bias: b.map(|b| Param::from_tensor(tensor_from(b, [out], device))),
            lora: None,
        }
    }

    /// Input and output widths.
    pub fn dims(&self) -> [usize; 2] {
        self.weight.dims()
    }

    /// Attach a fresh adapter (A from `seed`, B = 0) and freeze the base weight and bias.
    pub fn attach_lora(&mut self, cfg: &LoraConfig, seed: Seed, device: &Device) {
        let [inp, out] = self.dims();
        let mut rng = seed.rng();
        let k = 1.0 / (inp as f32).sqrt();
        let a: Vec<f32> = (0..inp * cfg.rank).map(|_| rng.random_range(-k..k)).collect();
        self.freeze();
        self.lora = Some(Lora {
            a: Param::from_tensor(tensor_from(a, [inp, cfg.rank], device)),
            b: Param::from_tensor(Tensor::zeros([cfg.rank, out], device)),
            scale: cfg.alpha / cfg.rank as f64,
            dropout: DropoutConfig::new(cfg.dropout).init(),
        });
    }

    /// Mark the base weight and bias as not trainable.
    pub fn freeze(&mut self) {
        self.weight = self.weight.clone().set_require_grad(false);
        self.bias = self.bias.take().map(|b| b.set_require_grad(false));
    }

    /// Merge the adapter into the base weight (`W += scale * A B`) and drop it: same outputs,
    /// no adapter cost at inference.
    pub fn merge_lora(&mut self) {
        if let Some(l) = self.lora.take() {
            let w = self.weight.val() + l.a.val().matmul(l.b.val()).mul_scalar(l.scale);
            self.weight = Param::from_tensor(w.detach()).set_require_grad(false);
        }
    }

    /// # Shapes
    /// - x: `[..., in]` -> `[..., out]`
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let y = burn::tensor::module::linear(
            x.clone(),
            self.weight.val(),
            self.bias.as_ref().map(|b| b.val()),
        );
        match &self.lora {
            None => y,
            Some(l) => {
                let h = l.dropout.forward(x);
                let [inp, r] = l.a.dims();
                let out = l.b.dims()[1];
                let mut dims = h.dims();
                debug_assert_eq!(dims[D - 1], inp);
                let rows: usize = dims[..D - 1].iter().product();
                let u =
                    h.reshape([rows, inp]).matmul(l.a.val()).matmul(l.b.val()).mul_scalar(l.scale);
                debug_assert_eq!(u.dims(), [rows, out]);
                let _ = r;
                dims[D - 1] = out;
                y + u.reshape(dims)
            }
        }
    }
}

/// Host copy of a tensor's values.
pub(crate) fn to_vec<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.to_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 tensor data should convert to Vec<f32>")
}

/// Collect adapters `name -> (A, B)` and write them as safetensors (`{name}.lora_a`,
/// `{name}.lora_b`), atomically, with the LoRA config in the metadata.
pub fn save_adapters(
    path: &Path,
    adapters: &[(String, &Lora)],
    cfg: &LoraConfig,
) -> Result<(), LoraError> {
    let io = |source| LoraError::Io { path: path.display().to_string(), source };
    let mut bufs: BTreeMap<String, (Vec<u8>, Vec<usize>)> = BTreeMap::new();
    for (name, l) in adapters {
        for (suffix, p) in [("lora_a", &l.a), ("lora_b", &l.b)] {
            let v = to_vec(&p.val());
            let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            bufs.insert(format!("{name}.{suffix}"), (bytes, p.dims().to_vec()));
        }
    }
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = bufs
        .iter()
        .map(|(k, (b, s))| {
            let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .expect("buffer length should match its shape");
            (k.clone(), v)
        })
        .collect();
    let mut meta = std::collections::HashMap::new();
    meta.insert(
        "lora_config".to_string(),
        serde_json::to_string(cfg).expect("LoraConfig serialises"),
    );
    let bytes = safetensors::serialize(views, Some(meta))
        .map_err(|e| LoraError::Format { path: path.display().to_string(), msg: e.to_string() })?;
    quadrec_core::fsx::write_atomic(path, &bytes).map_err(io)
}

/// Read an adapter file: LoRA config and `name -> (A values, A shape, B values, B shape)`.
#[allow(clippy::type_complexity)]
pub fn read_adapters(
    path: &Path,
) -> Result<(LoraConfig, BTreeMap<String, [(Vec<f32>, Vec<usize>); 2]>), LoraError> {
    let p = path.display().to_string();
    let fmt = |msg: String| LoraError::Format { path: p.clone(), msg };
    let bytes = std::fs::read(path).map_err(|source| LoraError::Io { path: p.clone(), source })?;
    let (_, meta) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| fmt(e.to_string()))?;
    let cfg_json = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get("lora_config").cloned())
        .ok_or_else(|| fmt("metadata key `lora_config` missing".into()))?;
    let cfg: LoraConfig =
        serde_json::from_str(&cfg_json).map_err(|e| fmt(format!("lora_config: {e}")))?;
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| fmt(e.to_string()))?;
    let mut out: BTreeMap<String, [(Vec<f32>, Vec<usize>); 2]> = BTreeMap::new();
    let mut names: Vec<String> = st.names().into_iter().map(|s| s.to_string()).collect();
    names.sort();
    for n in names {
        let t = st.tensor(&n).map_err(|e| fmt(e.to_string()))?;
        if t.dtype() != safetensors::Dtype::F32 {
            return Err(fmt(format!("tensor `{n}` has dtype {:?}, expected F32", t.dtype())));
        }
        let v: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let (base, idx) = if let Some(b) = n.strip_suffix(".lora_a") {
            (b, 0)
        } else if let Some(b) = n.strip_suffix(".lora_b") {
            (b, 1)
        } else {
            return Err(fmt(format!("unexpected tensor `{n}` (expected *.lora_a / *.lora_b)")));
        };
        let e = out
            .entry(base.to_string())
            .or_insert_with(|| [(Vec::new(), Vec::new()), (Vec::new(), Vec::new())]);
        e[idx] = (v, t.shape().to_vec());
    }
    for (k, v) in &out {
        if v[0].1.is_empty() || v[1].1.is_empty() {
            return Err(fmt(format!("adapter `{k}` lacks lora_a or lora_b")));
        }
    }
    Ok((cfg, out))
}

impl Proj {
    /// Replace this projection's adapter by one read from a file (shapes checked).
    pub(crate) fn set_lora_from(
        &mut self,
        name: &str,
        a: &(Vec<f32>, Vec<usize>),
        b: &(Vec<f32>, Vec<usize>),
        cfg: &LoraConfig,
        path: &Path,
        device: &Device,
    ) -> Result<(), LoraError> {
        let [inp, out] = self.dims();
        if a.1 != [inp, cfg.rank] || b.1 != [cfg.rank, out] {
            return Err(LoraError::Format {
                path: path.display().to_string(),
                msg: format!(
                    "adapter `{name}`: shapes {:?} / {:?}, expected [{inp}, {r}] / [{r}, {out}]",
                    a.1,
                    b.1,
                    r = cfg.rank
                ),
            });
        }
        self.freeze();
        self.lora = Some(Lora {
            a: Param::from_tensor(tensor_from(a.0.clone(), [inp, cfg.rank], device)),
            b: Param::from_tensor(tensor_from(b.0.clone(), [cfg.rank, out], device)),
            scale: cfg.alpha / cfg.rank as f64,
            dropout: DropoutConfig::new(cfg.dropout).init(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_adapter_is_identity_and_merge_is_exact() {
        let dev = Device::flex();
        let mut p = Proj::random(6, 4, true, Seed::new(1), &dev);
        let x = tensor_from((0..12).map(|i| i as f32 * 0.1 - 0.5).collect(), [2, 6], &dev);
        let y0 = to_vec(&p.forward(x.clone()));
        let cfg = LoraConfig { rank: 2, alpha: 4.0, dropout: 0.0, targets: vec![LoraTarget::Q] };
        p.attach_lora(&cfg, Seed::new(2), &dev);
        assert_eq!(to_vec(&p.forward(x.clone())), y0, "B = 0 at init");
        // Non-zero B: forward = base + scale * x A B, and merging reproduces it.
        let l = p.lora.as_mut().unwrap();
        l.b = Param::from_tensor(tensor_from(
            (0..8).map(|i| i as f32 * 0.05).collect(),
            [2, 4],
            &dev,
        ));
        let y1 = to_vec(&p.forward(x.clone()));
        let a = to_vec(&p.lora.as_ref().unwrap().a.val());
        let b = to_vec(&p.lora.as_ref().unwrap().b.val());
        let xs = to_vec(&x);
        for r in 0..2 {
            for o in 0..4 {
                let mut u = 0.0;
                for k in 0..2 {
                    let xa: f32 = (0..6).map(|i| xs[r * 6 + i] * a[i * 2 + k]).sum();
                    u += xa * b[k * 4 + o];
                }
                assert!((y1[r * 4 + o] - y0[r * 4 + o] - 2.0 * u).abs() < 1e-5);
            }
        }
        p.merge_lora();
        let y2 = to_vec(&p.forward(x));
        for (u, v) in y1.iter().zip(&y2) {
            assert!((u - v).abs() < 1e-5);
        }
    }
}
