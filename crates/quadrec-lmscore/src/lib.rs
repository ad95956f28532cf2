//! LLM as the scoring function (survey: scoring/ranking stage, item-scoring task): Yes/No head scoring (TALLRec, ReLLa retrieval), likelihood scoring, one-tower and two-tower encoders, and collaborative soft tokens (CoLLM), across quadrants Q1-Q4.

use quadrec_method::MethodEntry;

/// Registry lines of this crate, in leaderboard order (appended to the runner's registry).
pub const SCORING_TABLE: &[MethodEntry] = &[];
