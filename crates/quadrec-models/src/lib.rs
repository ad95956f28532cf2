//! Conventional recommender models (CRMs) of quadrec, in Burn 0.22.1.
//!
//! - [`CRM_TABLE`]: the explicit registry (one line per method, one file per method under
//!   `methods/`).
//! - [`train`]: the ONE training loop every trained method uses (Adam, epochs, seeded negative
//!   sampling through each method's [`train::Objective`], early stopping on the validation
//!   probe only, best state kept, timings logged).
//! - [`device`]: the one place where backend and device are chosen (`BURN_DEVICE`).
//!
//! Methods that are fitted in closed form or not at all (Random, Pop, ItemKNN, EASE) are plain
//! Rust and do not go through the loop.

pub mod blocks;
pub mod common;
pub mod device;
pub mod experiment;
pub mod methods;
pub mod train;

use quadrec_method::{Family, MethodEntry, MethodError, Quadrant, Stage, Task};
use serde::Serialize;

/// Serialised defaults of a params struct (for registry entries).
pub fn defaults<P: Serialize + Default>() -> serde_json::Value {
    serde_json::to_value(P::default()).expect("params serialise to JSON")
}

/// Backend, training device and inference device for a method (from `BURN_DEVICE`).
pub(crate) fn devices(
    method: &str,
) -> Result<(device::BackendKind, burn::tensor::Device, burn::tensor::Device), MethodError> {
    let kind = device::backend_from_env()
        .map_err(|e| MethodError::Data { method: method.into(), message: e.to_string() })?;
    Ok((kind, device::train_device(kind), device::device(kind)))
}

use methods::*;

macro_rules! crm {
    ($id:literal, $name:literal, $task:expr, $family:expr, $trained:expr, $module:ident, $params:ty) => {
        MethodEntry {
            id: $id,
            display_name: $name,
            stage: Stage::ScoringRanking,
            task: $task,
            quadrant: Quadrant::Conventional,
            family: $family,
            trained: $trained,
            default_params: defaults::<$params>,
            build: $module::build,
            smoke_params: $module::smoke,
        }
    };
}

/// The conventional recommenders, in leaderboard order. One line per method.
#[rustfmt::skip]
pub const CRM_TABLE: &[MethodEntry] = &[
    //   id          display     task                 family                     trained module    params
    crm!("random",   "Random",   Task::TopNRanking,  Family::NonPersonalised,  false, random,   random::RandomParams),
    crm!("pop",      "Pop",      Task::TopNRanking,  Family::NonPersonalised,  false, pop,      pop::PopParams),
    crm!("itemknn",  "ItemKNN",  Task::TopNRanking,  Family::Neighbourhood,    false, itemknn,  itemknn::ItemKnnParams),
    crm!("ease",     "EASE",     Task::TopNRanking,  Family::Linear,           false, ease,     ease::EaseParams),
    crm!("bpr",      "BPR-MF",   Task::TopNRanking,  Family::Factorisation,    true,  bpr,      bpr::BprParams),
    crm!("lightgcn", "LightGCN", Task::TopNRanking,  Family::Graph,            true,  lightgcn, lightgcn::LightGcnParams),
    crm!("gru4rec",  "GRU4Rec",  Task::TopNRanking,  Family::Sequential,       true,  gru4rec,  gru4rec::Gru4RecParams),
    crm!("sasrec",   "SASRec",   Task::TopNRanking,  Family::Sequential,       true,  sasrec,   sasrec::SasRecParams),
    crm!("bert4rec", "BERT4Rec", Task::TopNRanking,  Family::Sequential,       true,  bert4rec, bert4rec::Bert4RecParams),
    crm!("lr",       "LR",       Task::ItemScoring,  Family::Ctr,              true,  lr,       lr::LrParams),
    crm!("fm",       "FM",       Task::ItemScoring,  Family::Ctr,              true,  fm,       fm::FmParams),
    crm!("deepfm",   "DeepFM",   Task::ItemScoring,  Family::Ctr,              true,  deepfm,   deepfm::DeepFmParams),
    crm!("dcnv2",    "DCNv2",    Task::ItemScoring,  Family::Ctr,              true,  dcnv2,    dcnv2::DcnV2Params),
    crm!("din",      "DIN",      Task::ItemScoring,  Family::Ctr,              true,  din,      din::DinParams),
];
