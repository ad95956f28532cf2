//! LLM as generator (survey: scoring/ranking stage, item-generation and hybrid tasks): title
//! generation with grounding (BIGRec, zero-shot and LoRA-tuned), title generation constrained
//! by a trie of catalogue titles, closed-set ranking by generation (LLMRank) and a hybrid
//! multi-task model (P5-style). Semantic-ID generation (TIGER) lives in `quadrec-semid`.
//!
//! Building blocks: [`dl`] (Damerau-Levenshtein), [`ground`] (grounding generated text to
//! items), [`parse`] (robust parsing of LM-written rankings), [`trie`] (token-id trie of
//! titles), [`lm`] (beam search, shared-prefix logits, LoRA fine-tuning).

pub mod dl;
pub mod ground;
pub mod lm;
pub mod parse;
pub mod trie;

use quadrec_method::MethodEntry;

/// Registry lines of this crate, in leaderboard order (appended to the runner's registry).
pub const GENERATION_TABLE: &[MethodEntry] = &[];
