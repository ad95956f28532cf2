//! quadrec-data: datasets for the quadrec benchmark.
//!
//! - [`types`]: the processed dataset ([`Dataset`], [`Interaction`], [`ItemTable`], [`UserTable`]).
//! - [`manifest`]: how a dataset was made (sources with sha256, [`ProcessSpec`], table hashes, [`Card`]).
//! - [`loaders`]: native-format loaders (explicit [`loaders::LOADERS`] table) producing [`raw::RawData`].
//! - [`process`]: threshold, dedup, iterative k-core, dense ids, stable order.
//! - [`store`]: Parquet tables + manifest + card on disk, atomic, sha256-verified on load.
//! - [`ids`]: deterministic numeric-aware id order.

pub mod builtin;
mod csvio;
pub mod error;
pub mod ids;
pub mod loaders;
pub mod manifest;
pub mod pq;
pub mod process;
pub mod pyliteral;
pub mod raw;
pub mod store;
pub mod synthetic;
pub mod textio;
pub mod types;

pub use error::DataError;
pub use manifest::{Card, DedupPolicy, Manifest, ProcessSpec, SourceFile, TableFile};
pub use types::{Dataset, FeatureKind, FeatureValue, Interaction, ItemTable, UserTable};
