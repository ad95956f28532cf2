//! LLM as generator (survey: scoring/ranking stage, item-generation and hybrid tasks): semantic IDs with constrained beam search (TIGER), title generation with grounding (BIGRec), closed-set ranking (LLMRank), hybrid multi-task (P5).

use quadrec_method::MethodEntry;

/// Registry lines of this crate, in leaderboard order (appended to the runner's registry).
pub const GENERATION_TABLE: &[MethodEntry] = &[];
