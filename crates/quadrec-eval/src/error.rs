//! The one error enum of the evaluation kernel. Variants name the user, item, metric, file or
//! column they concern so that a failure deep inside a 100K-user evaluation is actionable.

use std::path::PathBuf;

/// Errors of `quadrec-eval`.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A metric name that is not in [`crate::metrics::METRICS`].
    #[error("unknown metric `{name}`{hint}; known metrics: {known}")]
    UnknownMetric {
        /// The name as given.
        name: String,
        /// ` (did you mean `x`?)` or empty.
        hint: String,
        /// Comma-separated list of the table's names.
        known: String,
    },
    /// A metric name that parses but whose `@K` part is missing, forbidden or not a positive integer.
    #[error("metric `{name}`: {reason}")]
    BadMetricSpec {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A metric was requested from an evaluator that cannot compute it (e.g. `auc` on a ranking view).
    #[error("metric `{metric}` cannot be computed by the {evaluator} evaluator ({reason})")]
    MetricNotApplicable {
        /// Metric name.
        metric: String,
        /// Which evaluator.
        evaluator: &'static str,
        /// Why.
        reason: String,
    },
    /// Bad input data for one user (item out of range, duplicate target, duplicate candidate...).
    #[error("user {user}: {reason}")]
    BadInput {
        /// Dense user id.
        user: u32,
        /// What is wrong.
        reason: String,
    },
    /// A NaN score produced by the scorer.
    #[error("user {user}: score of item {item} is NaN")]
    NanScore {
        /// Dense user id.
        user: u32,
        /// Dense item id.
        item: u32,
    },
    /// The scorer callback failed.
    #[error("scorer failed on the block starting at user {first_user}: {source}")]
    Scorer {
        /// First user of the block.
        first_user: u32,
        /// The scorer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Invalid argument of a statistics or analysis function.
    #[error("{what}: {reason}")]
    BadArgument {
        /// Function or field concerned.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// I/O error on a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Parquet/Arrow error on a file.
    #[error("{path}: {reason}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What went wrong (column name included where known).
        reason: String,
    },
}

/// Result alias of this crate.
pub type Result<T, E = EvalError> = std::result::Result<T, E>;
