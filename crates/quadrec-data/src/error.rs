//! [`DataError`]: every failure names the file, and where it applies the line and field.

use std::path::PathBuf;

/// Errors of loading, processing and storing datasets.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Reading a file failed part-way (for example a truncated gzip stream).
    #[error("{path}:{line}: read error: {source}")]
    IoAt {
        /// The file.
        path: PathBuf,
        /// 1-based line being read.
        line: u64,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A field could not be parsed.
    #[error("{path}:{line}: field `{field}`: {msg}")]
    Field {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// Field name.
        field: String,
        /// What was wrong.
        msg: String,
    },
    /// A line is malformed as a whole (wrong number of fields, bad JSON, bad encoding, ...).
    #[error("{path}:{line}: {msg}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What was wrong.
        msg: String,
    },
    /// The file as a whole is unusable (empty, missing header, missing file in a folder, ...).
    #[error("{path}: {msg}")]
    File {
        /// The file or folder.
        path: PathBuf,
        /// What was wrong.
        msg: String,
    },
    /// A configuration (TOML) file is invalid.
    #[error("{path}: invalid configuration: {msg}")]
    Config {
        /// The TOML file.
        path: PathBuf,
        /// The parser's message (names the key and position).
        msg: String,
    },
    /// Parquet / Arrow encoding or decoding failed.
    #[error("{path}: parquet: {msg}")]
    Parquet {
        /// The Parquet file.
        path: PathBuf,
        /// The underlying message.
        msg: String,
    },
    /// A stored file does not match the sha256 recorded in its manifest.
    #[error("{path}: sha256 mismatch: manifest says {expected}, file has {actual}")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Recorded hash.
        expected: String,
        /// Actual hash.
        actual: String,
    },
    /// Fetching a pinned asset failed (network, checksum of a corrupted download, ...).
    #[error("fetching asset `{asset}`")]
    Asset {
        /// Asset name.
        asset: String,
        /// The asset error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Unknown loader / format id.
    #[error("unknown dataset format `{0}`; known formats: {1}")]
    UnknownFormat(String, String),
    /// The processed dataset is empty (every row was filtered out).
    #[error("dataset `{0}`: no interaction left after processing ({1})")]
    EmptyAfterProcessing(String, String),
}

impl DataError {
    /// Helper: an I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> DataError {
        let path = path.into();
        move |source| DataError::Io { path, source }
    }
    /// Helper: a field error.
    pub fn field(
        path: impl Into<PathBuf>,
        line: u64,
        field: impl Into<String>,
        msg: impl Into<String>,
    ) -> DataError {
        DataError::Field { path: path.into(), line, field: field.into(), msg: msg.into() }
    }
    /// Helper: a line error.
    pub fn line(path: impl Into<PathBuf>, line: u64, msg: impl Into<String>) -> DataError {
        DataError::Line { path: path.into(), line, msg: msg.into() }
    }
    /// Helper: a whole-file error.
    pub fn file(path: impl Into<PathBuf>, msg: impl Into<String>) -> DataError {
        DataError::File { path: path.into(), msg: msg.into() }
    }
}

/// Result alias.
pub type Result<T, E = DataError> = std::result::Result<T, E>;
