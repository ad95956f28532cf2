//! Semantic-ID generative retrieval (TIGER; survey: scoring/ranking stage, item-generation task, open set): item text -> MiniLM embedding -> residual-quantised VAE codes fitted on train items only, a small transformer trained from scratch to generate the next item's code tuple, and beam search constrained by a trie of valid tuples.

use quadrec_method::MethodEntry;

/// Registry lines of this crate, in leaderboard order (appended to the runner's registry).
pub const SEMID_TABLE: &[MethodEntry] = &[];
