//! The record of one benchmark cell: what ran (dataset, split, view, method, params, seed), its
//! validation and test metrics with confidence intervals, its cost, and its provenance.
//! Serialised as one JSON line in `records.jsonl`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the record schema; bumped on incompatible changes.
pub const RECORD_SCHEMA: u32 = 1;

/// Outcome of a cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Finished; metrics are present.
    Ok,
    /// Failed; `error` says why. Failed cells are listed in reports, never dropped.
    Failed,
}

/// The survey metadata of the method (copied from its registry entry).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MethodInfo {
    /// Registry id (`sasrec`).
    pub id: String,
    /// Display name (`SASRec`).
    pub display: String,
    /// Survey stage (`scoring_ranking`, `feature_encoder`, ..., or `none` for pure CRMs).
    pub stage: String,
    /// Survey task (`item_scoring`, `item_generation`, `hybrid`, ...).
    pub task: String,
    /// Survey quadrant (`q1`..`q4`, or `crm` for methods without an LM).
    pub quadrant: String,
    /// Family (`conventional`, `llm`, ...).
    pub family: String,
    /// Parameters of the language model used, if any (for the quadrant map's marker size).
    pub lm_parameters: Option<u64>,
    /// Short variant label shown in tables (e.g. `recipe=ce`), may be empty.
    pub variant: String,
}

/// One metric's summary over users.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    /// Mean over users.
    pub mean: f64,
    /// Bootstrap CI lower bound (95% unless `ci_level` says otherwise).
    pub ci_low: f64,
    /// Bootstrap CI upper bound.
    pub ci_high: f64,
    /// Users averaged over.
    pub n: usize,
}

/// Cost columns of a cell. Times are wall seconds on the recorded hardware.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// Training wall time (all tuning trials included in `tuning_seconds`, not here).
    pub train_seconds: f64,
    /// Wall time of the test evaluation pass.
    pub eval_seconds: f64,
    /// Wall time of the whole tuning search on validation (all trials).
    pub tuning_seconds: f64,
    /// Scoring latency per user, median, milliseconds.
    pub latency_p50_ms: f64,
    /// Scoring latency per user, 99th percentile, milliseconds.
    pub latency_p99_ms: f64,
    /// Users scored per second in the test pass.
    pub throughput_users_per_s: f64,
    /// Trainable parameters actually fitted.
    pub n_parameters: u64,
    /// Peak resident memory of the process at the end of the cell, bytes.
    pub peak_rss_bytes: u64,
    /// Tokens processed by language models (prefill + decode), 0 for CRMs.
    pub lm_tokens: u64,
}

/// The hardware and software a run used.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// CPU model name.
    pub cpu: String,
    /// Logical cores available.
    pub cores: usize,
    /// GPU, if any.
    pub gpu: Option<String>,
    /// Compute backend (`flex`, `wgpu`, `rust` for burn-free methods).
    pub backend: String,
    /// quadrec version and git commit.
    pub quadrec_version: String,
    /// rustc version.
    pub rustc: String,
    /// OS.
    pub os: String,
}

/// One benchmark cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellRecord {
    /// Record schema version.
    pub schema: u32,
    /// Content-addressed id: hash of (dataset manifest, split fingerprint, view hash, method id,
    /// resolved params, prompt-template hashes, model-weight hashes, code version).
    pub cell_id: String,
    /// Suite name.
    pub suite: String,
    /// Dataset id.
    pub dataset: String,
    /// sha256 of the dataset manifest.
    pub dataset_hash: String,
    /// Split protocol label (`loo`, `temporal`, `ratio`).
    pub split: String,
    /// Split fingerprint.
    pub split_hash: String,
    /// View label (`full`, `sampled-100`, `closed-20`, `pointwise`).
    pub view: String,
    /// View hash (candidates / negatives / labels).
    pub view_hash: String,
    /// Protocol id = dataset/split/view with their parameters. Numbers from two protocols never
    /// share a table column.
    pub protocol: String,
    /// Method metadata.
    pub method: MethodInfo,
    /// Resolved params of the selected configuration.
    pub params: serde_json::Value,
    /// Seed of the cell.
    pub seed: u64,
    /// Outcome.
    pub status: Status,
    /// Error chain when failed.
    pub error: Option<String>,
    /// Test metrics (read once, for the selected configuration).
    pub test: BTreeMap<String, MetricValue>,
    /// Validation metric of the selected configuration (the selection criterion).
    pub valid: BTreeMap<String, f64>,
    /// Tuning: trials run, the budget, and the selection metric.
    pub tuning: Tuning,
    /// Cost columns.
    pub cost: Cost,
    /// Path of the per-user Parquet file, relative to the run folder.
    pub per_user: Option<String>,
    /// Hashes of prompt templates used (LM methods).
    pub prompt_hashes: BTreeMap<String, String>,
    /// Hashes of model weights used (LM methods).
    pub weight_hashes: BTreeMap<String, String>,
    /// Users evaluated: `all` or the id of a pinned user sample (part of the protocol).
    pub user_sample: String,
    /// Method-specific measurements of this view's test pass (`Method::diagnostics`), e.g.
    /// `yes_no_outside_mass` and `yes_no_prompts` of the Yes/No scorers. Not metrics: no CI,
    /// never ranked. Absent in older records and for methods that report none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub diagnostics: BTreeMap<String, f64>,
    /// Environment.
    pub env: Environment,
    /// Start time (RFC 3339, UTC).
    pub started_at: String,
    /// Finish time (RFC 3339, UTC).
    pub finished_at: String,
}

/// The hyper-parameter search of a cell.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tuning {
    /// Trials run (configurations fitted and scored on validation).
    pub trials: usize,
    /// Trial budget of the method in this suite.
    pub budget: usize,
    /// Metric used for selection (on validation only).
    pub select_by: String,
    /// Validation value of every trial, in trial order (empty when a single untrained
    /// configuration was not validated: there was nothing to select).
    pub trial_values: Vec<f64>,
}

#[cfg(test)]
mod float_roundtrip_tests {
    /// Records are re-serialised from parsed values on every append (`quadrec-runner`'s store),
    /// so parsing must be exact: a value that serde_json's default (fast, inexact) float parser
    /// read one ulp off in a real run (a bootstrap CI bound of `results/full`) must survive any
    /// number of read/write cycles bit for bit.
    #[test]
    fn floats_survive_read_write_cycles_bit_for_bit() {
        for text in ["54.817404559915204", "0.44774544081782275"] {
            let exact: f64 = text.parse().expect("std parses correctly rounded");
            let mut v: f64 = serde_json::from_str(text).expect("json number");
            assert_eq!(v.to_bits(), exact.to_bits(), "{text} parsed off by {} ulp", {
                (v.to_bits() as i64 - exact.to_bits() as i64).abs()
            });
            for _ in 0..3 {
                v = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
            }
            assert_eq!(v.to_bits(), exact.to_bits());
        }
    }
}
