//! Shared glue for the language-model recommenders (scoring, generation and the other pipeline
//! stages live in `quadrec-lmscore`, `quadrec-lmgen` and `quadrec-lmstages`):
//!
//! - [`handles`]: one process-wide copy of each pinned pretrained model (SmolLM2-135M-Instruct,
//!   all-MiniLM-L6-v2) on the device chosen in `quadrec_models::device`; methods that tune a
//!   model clone the shared copy and attach adapters to their clone.
//! - [`text`]: item lines and user-history blocks for prompts, and [`text::PromptTemplate`]
//!   whose sha256 goes into the method's provenance (and so into the cell id).
//! - [`embed`]: MiniLM embeddings of every catalogue item's text, through the on-disk
//!   embedding cache, shared in-process.
//! - [`meter`]: the LM-token counter behind `Method::lm_tokens`.

pub mod embed;
pub mod handles;
pub mod meter;
pub mod text;

pub use embed::{ItemEmbeddings, item_embeddings};
pub use handles::{
    HandleError, MINILM_PARAMETERS, SMOLLM2_PARAMETERS, Smollm2, backend_name, minilm, smollm2,
};
pub use meter::TokenMeter;
pub use text::{HistoryStyle, PromptTemplate, TemplateError, history_block, item_line};
