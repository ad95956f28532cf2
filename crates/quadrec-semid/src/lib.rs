//! Semantic-ID generative retrieval (TIGER; survey: scoring/ranking stage, item-generation task, open set): item text -> MiniLM embedding -> residual-quantised VAE codes fitted on train items only, a small transformer trained from scratch to generate the next item's code tuple, and beam search constrained by a trie of valid tuples.
//!
//! - [`rqvae`]: the RQ-VAE and the collision level (unique tuple per item).
//! - [`trie`]: the trie of valid tuples and the lock-step beam search (constrained or not).
//! - [`net`]: the code-token generator (causal Transformer with a key/value cache).
//! - [`tiger`]: the `tiger` method (generator, training objective, scoring, generated outputs).

pub mod net;
pub mod rqvae;
pub mod tiger;
pub mod trie;

use quadrec_method::{Family, MethodEntry, Quadrant, Stage, Task};

fn tiger_defaults() -> serde_json::Value {
    serde_json::to_value(tiger::TigerParams::default()).expect("params serialise to JSON")
}

/// Registry lines of this crate, in leaderboard order (appended to the runner's registry).
pub const SEMID_TABLE: &[MethodEntry] = &[MethodEntry {
    id: "tiger",
    display_name: "TIGER",
    stage: Stage::ScoringRanking,
    task: Task::ItemGeneration,
    quadrant: Quadrant::Q2,
    family: Family::LanguageModel,
    trained: true,
    default_params: tiger_defaults,
    build: tiger::build,
    smoke_params: tiger::smoke,
}];
