//! LLM as the scoring function (survey: scoring/ranking stage, item-scoring task): Yes/No head
//! scoring (TALLRec, ReLLa retrieval), likelihood scoring, one-tower and two-tower encoders, and
//! collaborative soft tokens (CoLLM), across quadrants Q1-Q4, plus the fair k-shot CRM baseline.
//!
//! One file per method; [`SCORING_TABLE`] is the registry (appended to the runner's).

pub mod common;
pub mod kshot;
pub mod tallrec;

use quadrec_method::{Family, MethodEntry, Quadrant, Stage, Task};
use serde::Serialize;

/// Serialised defaults of a params struct (for registry entries).
fn defaults<P: Serialize + Default>() -> serde_json::Value {
    serde_json::to_value(P::default()).expect("params serialise to JSON")
}

macro_rules! lm {
    ($id:expr, $name:literal, $task:expr, $q:expr, $family:expr, $trained:expr, $params:ty, $build:path, $smoke:path) => {
        MethodEntry {
            id: $id,
            display_name: $name,
            stage: Stage::ScoringRanking,
            task: $task,
            quadrant: $q,
            family: $family,
            trained: $trained,
            default_params: defaults::<$params>,
            build: $build,
            smoke_params: $smoke,
        }
    };
}

/// Registry lines of this crate, in leaderboard order (appended to the runner's registry).
#[rustfmt::skip]
pub const SCORING_TABLE: &[MethodEntry] = &[
    lm!(tallrec::ID_ZS, "TALLRec (zero-shot)", Task::ItemScoring, Quadrant::Q3, Family::LanguageModel, false, tallrec::TallRecZsParams, tallrec::build_zs, tallrec::smoke_zs),
    lm!(tallrec::ID,    "TALLRec (LoRA k-shot)", Task::ItemScoring, Quadrant::Q4, Family::LanguageModel, true, tallrec::TallRecParams, tallrec::build, tallrec::smoke),
];

#[cfg(test)]
mod tests;
