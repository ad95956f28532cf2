//! LLM as the scoring function (survey: scoring/ranking stage, item-scoring task): Yes/No head
//! scoring (TALLRec, ReLLa retrieval), likelihood scoring, one-tower and two-tower encoders, and
//! collaborative soft tokens (CoLLM), across quadrants Q1-Q4, plus the fair k-shot CRM baseline.
//!
//! One file per method; [`SCORING_TABLE`] is the registry (appended to the runner's).

pub mod collm;
pub mod common;
pub mod kshot;
pub mod kshot_crm;
pub mod likelihood;
pub mod onetower;
pub mod rella;
pub mod tallrec;
pub mod twotower;

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
    lm!(rella::ID_ZS, "ReLLa (zero-shot)", Task::ItemScoring, Quadrant::Q3, Family::LanguageModel, false, rella::RellaZsParams, rella::build_zs, rella::smoke_zs),
    lm!(rella::ID,    "ReLLa (LoRA k-shot)", Task::ItemScoring, Quadrant::Q4, Family::LanguageModel, true, rella::RellaParams, rella::build, rella::smoke),
    lm!(likelihood::ID, "LM likelihood", Task::ItemScoring, Quadrant::Q3, Family::LanguageModel, false, likelihood::LikelihoodParams, likelihood::build, likelihood::smoke),
    lm!(twotower::ID_ZS, "Two-tower MiniLM (zero-shot)", Task::ItemScoring, Quadrant::Q3, Family::LanguageModel, false, twotower::TwoTowerZsParams, twotower::build_zs, twotower::smoke_zs),
    lm!(twotower::ID_FT, "Two-tower MiniLM (contrastive LoRA)", Task::ItemScoring, Quadrant::Q4, Family::LanguageModel, true, twotower::TwoTowerFtParams, twotower::build_ft, twotower::smoke_ft),
    lm!(onetower::ID_FROZEN, "One-tower MiniLM (frozen) + MLP", Task::ItemScoring, Quadrant::Q2, Family::LanguageModel, true, onetower::OneTowerParams, onetower::build_frozen, onetower::smoke),
    lm!(onetower::ID_LORA, "One-tower MiniLM (LoRA) + MLP", Task::ItemScoring, Quadrant::Q4, Family::LanguageModel, true, onetower::OneTowerParams, onetower::build_lora, onetower::smoke),
    lm!(collm::ID, "CoLLM (BPR soft tokens + LoRA)", Task::ItemScoring, Quadrant::Q1, Family::LanguageModel, true, collm::CollmParams, collm::build, collm::smoke),
    lm!(kshot_crm::ID, "CRM on k-shot rows", Task::ItemScoring, Quadrant::Conventional, Family::Ctr, true, kshot_crm::KShotCrmParams, kshot_crm::build, kshot_crm::smoke),
];

#[cfg(test)]
mod tests;
