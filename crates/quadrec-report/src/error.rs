//! Errors of the report crate. Every variant names the file (and line, where there is one) it
//! concerns, so a user can find the bad input without a debugger.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, ReportError>;

/// What went wrong while loading records or rendering a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A complete (newline-terminated) line of `records.jsonl` is not a valid record.
    #[error("{path}:{line}: malformed record: {reason}")]
    Malformed {
        /// The records file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What the JSON parser said (it names the field).
        reason: String,
    },
    /// A record was written by a newer schema than this build understands.
    #[error(
        "{path}:{line}: record schema {found} is newer than the supported schema {supported}; \
         update quadrec"
    )]
    UnsupportedSchema {
        /// The records file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Schema found in the record.
        found: u32,
        /// Newest schema this build reads.
        supported: u32,
    },
    /// A record has no per-user table, or it could not be read.
    #[error("cell {cell_id}: per-user values: {reason}")]
    PerUser {
        /// The cell.
        cell_id: String,
        /// Why (missing path, Parquet error naming the file, missing metric column).
        reason: String,
    },
    /// A report option is invalid (unknown metric name, bad level).
    #[error("report option `{option}`: {reason}")]
    BadOption {
        /// The option.
        option: String,
        /// Why.
        reason: String,
    },
    /// `quadrec compare` was given a method key that no record of the run has.
    #[error("{run}: no method `{key}` in this run{hint}; its method keys are: {known}", run = run.display(), hint = suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(), known = known.join(", "))]
    UnknownMethod {
        /// The run folder.
        run: PathBuf,
        /// The key asked for.
        key: String,
        /// The closest key of the run, if one is close.
        suggestion: Option<String>,
        /// Every method key of the run (`id` or `id:variant`), sorted.
        known: Vec<String>,
    },
    /// `quadrec compare` found no protocol to compare the two methods in.
    #[error("{run}: {reason}", run = run.display())]
    NothingToCompare {
        /// The run folder.
        run: PathBuf,
        /// Why (no protocol where both methods finished a cell, or none matches the filter).
        reason: String,
    },
}
