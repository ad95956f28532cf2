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
    /// Candidate lists (sampled 1 + N, closed-set, hard).
    Candidates,
    /// Labelled (user, item) rows scored as probabilities (AUC, LogLoss, ...).
    Pointwise,
    /// Conversational (user-interaction stage): each user's natural-language request, composed
    /// from the held-out item's attributes, scored over the catalogue by methods that read
    /// requests (`Method::score_request`); seen items masked; ranking metrics plus the
    /// hard-condition rate of the top-10 (`hard_rate@10`).
    Conversational,
}

/// One phase (validation or test) of a view: which users, and their lists.
#[derive(Clone, Debug, Default)]
pub struct PhaseView {
    /// Indices into `Prepared::valid` or `Prepared::test`, ascending.
    pub users: Vec<usize>,
    /// Candidate / pointwise items per user (aligned with `users`); empty for full ranking.
    pub items: Vec<Vec<u32>>,
    /// Pointwise labels (aligned with `items`); empty otherwise.
    pub labels: Vec<Vec<bool>>,
    /// Conversational requests (aligned with `users`); empty otherwise.
    pub requests: Vec<quadrec_lmconv::request::Request>,
}

/// One view of the split: its test phase, and the same construction on the validation stage
/// (same sampled users) that drives the probe of methods restricted to this view.
#[derive(Clone, Debug)]
pub struct TestView {
    /// Label as written in the suite (`full`, `closed@u100`, ...).
    pub label: String,
    /// Parameters that enter the protocol id (`mask=train+valid`, `20,random,seed=...`).
    pub params: String,
    /// Hash of the view's content (candidates, labels, sampled users), or of its parameters.
    pub hash: String,
    /// Kind.
    pub kind: ViewKind,
    /// `all`, or the pinned sample (`u100,seed=2024,sha256=...`): part of the protocol id.
    pub user_sample: String,
    /// Test phase.
    pub test: PhaseView,
    /// Validation phase (same users where they have a validation target).
    pub valid: PhaseView,
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
    /// Views, in suite order.
    pub views: Vec<TestView>,
    /// Train popularity (for average-popularity metrics).
    pub popularity: Vec<u32>,
}
