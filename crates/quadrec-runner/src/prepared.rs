//! What a job needs from a dataset + split protocol, in the shape the executor uses: the
//! train-only view for `fit`, the validation users (for the probe and tuning), the test users
//! and the test views. Built from `quadrec-split` in [`crate::prepare`].

use quadrec_split::TrainView;

/// One user of an evaluation phase.
#[derive(Clone, Debug)]
pub struct EvalUser {
    /// Dense user id.
    pub user: u32,
    /// Relevant items of the phase.
    pub targets: Vec<u32>,
    /// Items masked from full ranking (train for validation, train + valid for test).
    pub seen: Vec<u32>,
    /// Input history given to the method (time order).
    pub history: Vec<u32>,
}

/// The kind of an evaluation view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewKind {
    /// Full ranking over the catalogue with seen items masked.
    Full,
    /// Candidate lists (sampled 1 + N, or closed-set).
    Candidates,
}

/// One test view of the split.
#[derive(Clone, Debug)]
pub struct TestView {
    /// Label (`full`, `sampled`, `closed`).
    pub label: String,
    /// Parameters that enter the protocol id (`mask=train+valid`, `n=100,seed=...`).
    pub params: String,
    /// Hash of the view's stored content (candidates, negatives), or of its parameters.
    pub hash: String,
    /// Kind.
    pub kind: ViewKind,
    /// For candidate views: one candidate list per test user (aligned with `Prepared::test`).
    pub candidates: Vec<Vec<u32>>,
}

/// A dataset + split ready to run methods on.
pub struct Prepared {
    /// Dataset id.
    pub dataset: String,
    /// sha256 of the dataset manifest.
    pub dataset_hash: String,
    /// Split label (`loo`).
    pub split: String,
    /// Split fingerprint.
    pub split_hash: String,
    /// Train rows only.
    pub train: TrainView,
    /// Validation users.
    pub valid: Vec<EvalUser>,
    /// Test users.
    pub test: Vec<EvalUser>,
    /// Test views.
    pub views: Vec<TestView>,
    /// Train popularity (for average-popularity metrics).
    pub popularity: Vec<u32>,
}
