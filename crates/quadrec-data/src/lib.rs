//! quadrec-data: datasets for the quadrec benchmark.
//!
//! - [`types`]: the processed dataset ([`Dataset`], [`Interaction`], [`ItemTable`], [`UserTable`]).
//! - [`manifest`]: how a dataset was made (sources with sha256, [`ProcessSpec`], table hashes, [`Card`]).
//! - [`ids`]: deterministic numeric-aware id order.

pub mod ids;
pub mod manifest;
pub mod types;

pub use manifest::{Card, DedupPolicy, Manifest, ProcessSpec, SourceFile, TableFile};
pub use types::{Dataset, FeatureKind, FeatureValue, Interaction, ItemTable, UserTable};
