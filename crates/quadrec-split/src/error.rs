//! [`SplitError`]: errors of making, storing and loading splits and views.

use std::path::PathBuf;

/// Split errors; each names the file or the parameter concerned.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// Invalid protocol parameters.
    #[error("invalid split parameter `{param}`: {msg}")]
    Param {
        /// Parameter name.
        param: String,
        /// What is wrong.
        msg: String,
    },
    /// I/O on a split file.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Error.
        #[source]
        source: std::io::Error,
    },
    /// Stored split does not match (hash, dataset, content).
    #[error("{path}: {msg}")]
    Stored {
        /// File.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
}

impl SplitError {
    pub(crate) fn param(param: &str, msg: impl Into<String>) -> Self {
        SplitError::Param { param: param.into(), msg: msg.into() }
    }
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SplitError {
        let path = path.into();
        move |source| SplitError::Io { path, source }
    }
    pub(crate) fn stored(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        SplitError::Stored { path: path.into(), msg: msg.into() }
    }
}
