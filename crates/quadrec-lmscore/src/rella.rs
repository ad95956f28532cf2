//! ReLLa: TALLRec's Yes/No scoring with semantic user behaviour retrieval: the prompt shows the
//! `history_len` history items MOST SIMILAR to the target item (MiniLM cosine over item texts),
//! in time order, instead of the most recent ones.
//!
//! Paper: Lin et al., "ReLLa: Retrieval-enhanced Large Language Models for Lifelong Sequential
//! Behavior Comprehension in Recommendation", WWW 2024.
//! Survey: stage scoring/ranking, task item scoring; `rella-zs` Q3 (frozen LM), `rella` Q4
//! (LoRA-tuned on a k-shot sample; the paper's few-shot setting).
//!
//! Differences from the paper: SmolLM2-135M instead of Vicuna-13B; item similarity from
//! all-MiniLM-L6-v2 embeddings of the item text (the paper encodes items with the LLM itself and
//! reduces them with PCA); no retrieval-enhanced data augmentation of the training set (the
//! paper's "mixture" of recent and retrieved prompts). Because the shown history depends on
//! the target, only the system turn is a shared prefix: each candidate's suffix carries its own
//! history block. Engine, prompt templates, tuning recipe: [`crate::tallrec`].

use crate::tallrec::{Selection, TuneParams, YesNoConfig, YesNoMethod};
use quadrec_method::{Method, ParamsError, parse_params};
use serde::{Deserialize, Serialize};

/// Registry id of the zero-shot variant.
pub const ID_ZS: &str = "rella-zs";
/// Registry id of the tuned variant.
pub const ID: &str = "rella";

/// Params of `rella-zs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RellaZsParams {
    /// Retrieved history items in the prompt (the paper's K).
    pub history_len: usize,
    /// Candidates packed per forward pass.
    pub chunk: usize,
}

impl Default for RellaZsParams {
    fn default() -> Self {
        RellaZsParams { history_len: 10, chunk: 16 }
    }
}

/// Params of `rella`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RellaParams {
    /// Retrieved history items in the prompt (the paper's K).
    pub history_len: usize,
    /// Candidates packed per forward pass.
    pub chunk: usize,
    /// LoRA tuning on k-shot rows (same recipe and subset rule as `tallrec`).
    pub tuning: TuneParams,
}

impl Default for RellaParams {
    fn default() -> Self {
        RellaParams { history_len: 10, chunk: 16, tuning: TuneParams::default() }
    }
}

/// Build `rella-zs`.
pub fn build_zs(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: RellaZsParams = parse_params(ID_ZS, v)?;
    Ok(Box::new(YesNoMethod::new(YesNoConfig {
        id: ID_ZS,
        history_len: p.history_len,
        selection: Selection::Semantic,
        chunk: p.chunk,
        tuning: None,
    })))
}

/// Build `rella`.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: RellaParams = parse_params(ID, v)?;
    p.tuning
        .kshot
        .validate()
        .map_err(|message| ParamsError::Invalid { method: ID.into(), message })?;
    Ok(Box::new(YesNoMethod::new(YesNoConfig {
        id: ID,
        history_len: p.history_len,
        selection: Selection::Semantic,
        chunk: p.chunk,
        tuning: Some(p.tuning),
    })))
}

/// Smoke params of `rella-zs`: 3 retrieved items.
pub fn smoke_zs() -> serde_json::Value {
    serde_json::json!({"history_len": 3})
}

/// Smoke params of `rella`: 4 rows, one epoch, rank 2.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"history_len": 3, "tuning": {"kshot": {"k": 4}, "epochs": 1, "batch_size": 2, "lora_rank": 2}})
}
