//! The [`Method`] trait: fit on train rows, then score items for user queries.

use crate::params::ParamsError;
use quadrec_core::Seed;
use quadrec_split::TrainView;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One user to score: the user id and the input history (item ids in time order). For
/// leave-one-out, the runner passes train items at validation time and train + valid items at
/// test time; methods must use `history` (not only what they saw in `fit`) where their model
/// allows it, so that the test-time history includes the validation item.
#[derive(Clone, Copy, Debug)]
pub struct UserQuery<'a> {
    /// Dense user id.
    pub user: u32,
    /// Input history, oldest first.
    pub history: &'a [u32],
}

/// Errors of fitting or scoring. Variants name the method.
#[derive(Debug, thiserror::Error)]
pub enum MethodError {
    /// `score_*` called before `fit`.
    #[error("method `{method}`: scored before it was fitted")]
    NotFitted {
        /// Registry id.
        method: String,
    },
    /// An output buffer of the wrong length.
    #[error("method `{method}`: output buffer has {got} slots, expected {expected}")]
    Shape {
        /// Registry id.
        method: String,
        /// Expected length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// An item or user id outside the catalogue the method was fitted on.
    #[error("method `{method}`: {what} id {id} outside the catalogue of {n}")]
    OutOfCatalogue {
        /// Registry id.
        method: String,
        /// `"item"` or `"user"`.
        what: &'static str,
        /// The id.
        id: u32,
        /// Catalogue size.
        n: u32,
    },
    /// Training data the method cannot use (e.g. no train rows at all).
    #[error("method `{method}`: {message}")]
    Data {
        /// Registry id.
        method: String,
        /// What is wrong.
        message: String,
    },
    /// Numerical failure (NaN loss, singular system).
    #[error("method `{method}`: numerical failure: {message}")]
    Numerical {
        /// Registry id.
        method: String,
        /// What happened (epoch, step, value).
        message: String,
    },
    /// Writing or reading a checkpoint.
    #[error("method `{method}`: checkpoint {path}: {message}")]
    Checkpoint {
        /// Registry id.
        method: String,
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// Invalid params.
    #[error(transparent)]
    Params(#[from] ParamsError),
}

/// A method: fitted once on a [`TrainView`], then asked for scores. Higher score = ranked higher.
pub trait Method: Send {
    /// Fit on train rows only. Trained methods run the shared training loop, which calls
    /// `ctx.probe` (validation only) for early stopping.
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError>;
    /// Full-catalogue scores, row-major block `[queries.len(), n_items]`. Every entry must be
    /// written: the evaluator reuses its score buffer across blocks and calls, so `out` holds
    /// stale values on entry (the registry-wide harness pre-fills it with NaN and checks).
    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError>;
    /// Scores of given items for one user (candidate / sampled / pointwise views).
    fn score_items(
        &self,
        query: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError>;
    /// Trainable parameters actually fitted (0 for Random and Pop; the item-item matrix entries
    /// for ItemKNN/EASE, which are fitted in closed form).
    fn n_parameters(&self) -> u64;
    /// Language-model tokens processed so far by this instance (prompt tokens fed through the
    /// model plus generated tokens), for the cost columns. Methods without a language model keep
    /// the default 0. Counted with interior mutability because scoring takes `&self`.
    fn lm_tokens(&self) -> u64 {
        0
    }
    /// Inputs that are not params but change the results: prompt templates and pretrained
    /// weights, each as name -> sha256. Available before `fit` (the runner puts them in the
    /// content-addressed cell id and in the record). Methods without such inputs keep the default.
    fn provenance(&self) -> Provenance {
        Provenance::default()
    }
    /// Outputs of a generative method for the most recent `score_full` / `score_items` call of
    /// `user`, grounded to catalogue items (`None` = matched nothing), in generation order. The
    /// runner feeds them to the generation metrics (valid-item, hallucination and duplicate
    /// rates). Scoring methods keep the default `None`.
    fn generated(&self, user: u32) -> Option<Vec<Option<u32>>> {
        let _ = user;
        None
    }
    /// The queries a candidate or pointwise pass (test view or validation probe) is about to
    /// score with [`Method::score_items`], with their item lists, in call order, announced
    /// once before the pass's first call. Generators batch their language-model work across
    /// users here (greedy decoding of 16 users per forward pass); scores must not depend on
    /// whether it was called. Default: nothing.
    fn prepare(&self, queries: &[UserQuery], items: &[&[u32]]) -> Result<(), MethodError> {
        let _ = (queries, items);
        Ok(())
    }
    /// Method-specific measurements of the scoring done since the last
    /// [`Method::reset_diagnostics`], as (name, value) pairs with snake_case names, e.g.
    /// `yes_no_outside_mass` (mean probability mass outside the Yes/No answer tokens) and
    /// `yes_no_prompts` (prompts it is averaged over). The runner calls `reset_diagnostics`
    /// immediately before each test view's pass and reads this right after it, so each cell
    /// record carries the measurements of its own view only (not of fitting, validation
    /// probes or latency timing). Default: nothing.
    fn diagnostics(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
    /// Forget the measurements behind [`Method::diagnostics`] (interior mutability, as
    /// scoring takes `&self`). Must not change scores. Default: nothing to forget.
    fn reset_diagnostics(&self) {}
    /// Whether the method reads natural-language requests ([`Method::score_request`]; the
    /// user-interaction stage). Known before `fit`. The runner evaluates only such methods on
    /// conversational views (`conv`), so a leaderboard never compares a method that read the
    /// request with one that did not; methods keeping the default `false` are not run there.
    fn reads_requests(&self) -> bool {
        false
    }
    /// Full-catalogue scores `[n_items]` for one user's natural-language `request` (e.g. "I'm in
    /// the mood for a comedy from the 1980s."), given the user's input history as in
    /// [`Method::score_full`] (every entry written, as there). The default refuses: only methods whose
    /// [`Method::reads_requests`] is `true` implement it.
    fn score_request(
        &self,
        query: &UserQuery,
        request: &str,
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        let _ = (query, request, out);
        Err(MethodError::Data {
            method: String::from("(this method)"),
            message: "does not read natural-language requests".into(),
        })
    }
}

/// Prompt-template and model-weight hashes of a method (see [`Method::provenance`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Prompt template name -> sha256 of the template text.
    pub prompt_hashes: std::collections::BTreeMap<String, String>,
    /// Model name -> sha256 of the pinned weight file.
    pub weight_hashes: std::collections::BTreeMap<String, String>,
}

/// Validation probe: scores the method on the VALIDATION targets (never test) and returns the
/// selection metric (e.g. NDCG@10), higher is better. The method never sees the targets.
pub type Probe<'a> = dyn FnMut(&dyn Method) -> f64 + 'a;

/// Progress events of fitting, for logs and run records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FitEvent {
    /// One epoch finished.
    Epoch(EpochLog),
    /// Early stopping triggered.
    EarlyStop {
        /// Epoch (1-based) of the best validation score.
        best_epoch: usize,
        /// That score.
        best_valid: f64,
    },
    /// Free-form note (e.g. device chosen).
    Note(String),
}

/// What one epoch did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub loss: f64,
    /// Validation probe value after the epoch, when probed.
    pub valid: Option<f64>,
    /// Wall seconds of the training part of the epoch (batches + optimiser, no probe).
    pub train_seconds: f64,
    /// Wall seconds of the probe.
    pub probe_seconds: f64,
}

/// Everything `fit` may use besides the train rows.
pub struct FitContext<'a> {
    /// Root of the method's seed tree (`seed.child("negatives")` etc.).
    pub seed: Seed,
    /// Validation probe for early stopping / model selection; `None` = train the configured
    /// number of epochs and keep the last state.
    pub probe: Option<&'a mut Probe<'a>>,
    /// Progress hook.
    pub log: Option<&'a mut (dyn FnMut(&FitEvent) + 'a)>,
    /// Where the best checkpoint is written (safetensors); `None` keeps it in memory only.
    pub checkpoint_dir: Option<PathBuf>,
}

impl<'a> FitContext<'a> {
    /// A context with a seed only (no probe, no log, no checkpoint files).
    pub fn new(seed: Seed) -> Self {
        FitContext { seed, probe: None, log: None, checkpoint_dir: None }
    }

    /// Attach a validation probe.
    pub fn with_probe(mut self, probe: &'a mut Probe<'a>) -> Self {
        self.probe = Some(probe);
        self
    }

    /// Attach a progress hook.
    pub fn with_log(mut self, log: &'a mut (dyn FnMut(&FitEvent) + 'a)) -> Self {
        self.log = Some(log);
        self
    }

    /// Send an event to the hook, if any.
    pub fn emit(&mut self, e: FitEvent) {
        if let Some(l) = self.log.as_mut() {
            l(&e);
        }
    }

    /// Run the probe, if any.
    pub fn probe(&mut self, m: &dyn Method) -> Option<f64> {
        self.probe.as_mut().map(|p| p(m))
    }
}

/// What `fit` did. Methods without training report zero epochs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Epochs actually run.
    pub epochs_run: usize,
    /// Epoch whose state was kept (1-based; 0 for closed-form / untrained methods).
    pub best_epoch: usize,
    /// Validation value of the kept state, if probed.
    pub best_valid: Option<f64>,
    /// Total wall seconds of fitting (including probes).
    pub fit_seconds: f64,
    /// Per-epoch log.
    pub epochs: Vec<EpochLog>,
    /// Device the method ran on (e.g. `flex`), empty for pure-Rust methods.
    pub device: String,
    /// Checkpoint file of the kept state, if written.
    pub checkpoint: Option<PathBuf>,
}

impl FitReport {
    /// Mean training seconds per epoch (no probe), or 0 when no epoch ran.
    pub fn mean_epoch_seconds(&self) -> f64 {
        if self.epochs.is_empty() {
            0.0
        } else {
            self.epochs.iter().map(|e| e.train_seconds).sum::<f64>() / self.epochs.len() as f64
        }
    }
}
