//! Real pretrained language models inside Burn, for the LLM half of quadrec.
//!
//! - [`gguf`]: native GGUF v3 reader with F32/F16/Q8_0/Q4_1 dequantisation.
//! - [`bpe`]: byte-level BPE tokenizer rebuilt from GGUF metadata; ChatML chat template.
//! - [`llama`]: SmolLM2-135M-Instruct (Llama) decoder: KV cache, greedy decoding, scoring of
//!   many continuations after one shared prefix, batched prompts with padding masks.
//! - [`bert`]: all-MiniLM-L6-v2 (BERT) sentence encoder with masked mean pooling.
//! - [`lora`]: projections with LoRA adapters (frozen base, safetensors adapter files).
//! - [`embed_cache`]: disk cache of item-side embeddings.
//! - [`assets`]: the pinned model files, fetched through `quadrec-assets`.

pub mod assets;
pub mod bert;
pub mod bpe;
pub mod embed_cache;
pub mod gguf;
pub mod llama;
pub mod lora;

pub use assets::{load_minilm, load_smollm2};
pub use bert::{Bert, BertConfig, Pooling, SentenceEncoder};
pub use bpe::{BpeTokenizer, ChatMessage, apply_chat_template};
pub use embed_cache::EmbeddingCache;
pub use gguf::GgufFile;
pub use llama::{ContinuationScore, KvCache, Llama, LlamaConfig};
pub use lora::{LoraConfig, LoraTarget};
