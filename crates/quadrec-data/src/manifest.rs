//! The manifest of a processed dataset: where it came from (source files with sha256), how it was
//! processed (the [`ProcessSpec`]), the processed tables with their sha256, and the card (stats).
//! Written as pretty JSON next to the Parquet tables; every field is part of the dataset's record.

use serde::{Deserialize, Serialize};

/// Version of the processing code. Bump when the output of the pipeline changes for the same
/// inputs; it is hashed into dataset ids and split fingerprints.
pub const PROCESSING_VERSION: &str = "quadrec-data/1";

/// A source file that went into the dataset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// File name (role-qualified, e.g. `u.data`), not a machine-specific absolute path.
    pub name: String,
    /// sha256 of the file bytes as read.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// How to handle repeated (user, item) pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DedupPolicy {
    /// Keep every event (re-consumption is signal).
    KeepAll,
    /// Keep the earliest event of each pair (ties: lowest original row).
    #[default]
    KeepFirst,
    /// Keep the latest event of each pair (ties: highest original row).
    KeepLast,
}

/// The preprocessing spec, recorded verbatim in the manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    /// Keep only interactions with `rating >= threshold` (implicit-feedback conversion).
    /// `None` keeps every row.
    pub rating_threshold: Option<f32>,
    /// Repeated (user, item) pairs.
    pub dedup: DedupPolicy,
    /// Iterative k-core: drop users with fewer than this many interactions, repeated with
    /// `item_core` until both hold. 0 or 1 disables.
    pub user_core: u32,
    /// Iterative k-core threshold for items.
    pub item_core: u32,
    /// Stable tie order of interactions; always "user,timestamp,row" (recorded for readers).
    pub order: String,
}

impl Default for ProcessSpec {
    fn default() -> Self {
        ProcessSpec {
            rating_threshold: None,
            dedup: DedupPolicy::KeepFirst,
            user_core: 0,
            item_core: 0,
            order: ORDER.to_string(),
        }
    }
}

/// The one tie order of interactions.
pub const ORDER: &str = "user,timestamp,row";

/// A processed table on disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFile {
    /// File name inside the dataset folder.
    pub file: String,
    /// sha256 of the Parquet bytes.
    pub sha256: String,
    /// Number of rows.
    pub rows: u64,
}

/// Statistics of the processed dataset (the dataset card).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Card {
    /// Users after processing.
    pub users: u64,
    /// Items after processing.
    pub items: u64,
    /// Interactions after processing.
    pub interactions: u64,
    /// interactions / (users * items).
    pub density: f64,
    /// Earliest timestamp (Unix seconds).
    pub time_min: i64,
    /// Latest timestamp (Unix seconds).
    pub time_max: i64,
    /// Items that have a non-empty title.
    pub items_with_title: u64,
    /// Source interaction rows read.
    pub source_rows: u64,
    /// Rows dropped by the rating threshold.
    pub dropped_threshold: u64,
    /// Rows dropped by the dedup policy.
    pub dropped_duplicates: u64,
    /// Rows dropped by the k-core filter.
    pub dropped_kcore: u64,
    /// k-core iterations until stable.
    pub kcore_rounds: u32,
    /// Side-file rows whose id has no interaction (dropped).
    pub side_rows_without_interactions: u64,
}

impl Card {
    /// Human-readable card (Markdown), rendered from the numbers above.
    pub fn render(&self, id: &str) -> String {
        let fmt_t = |t: i64| format!("{t} ({})", crate::ids::unix_to_date(t));
        format!(
            "# Dataset card: {id}\n\n| field | value |\n|---|---|\n| users | {} |\n| items | {} |\n| interactions | {} |\n| density | {:.6} |\n| time span | {} .. {} |\n| items with title | {} |\n| source rows | {} |\n| dropped (threshold) | {} |\n| dropped (duplicates) | {} |\n| dropped (k-core, {} rounds) | {} |\n| side rows without interactions | {} |\n",
            self.users,
            self.items,
            self.interactions,
            self.density,
            fmt_t(self.time_min),
            fmt_t(self.time_max),
            self.items_with_title,
            self.source_rows,
            self.dropped_threshold,
            self.dropped_duplicates,
            self.kcore_rounds,
            self.dropped_kcore,
            self.side_rows_without_interactions,
        )
    }
}

/// The full manifest of a processed dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Dataset id (`<name>-<fingerprint prefix>`).
    pub id: String,
    /// Human name (e.g. `ml-100k`).
    pub name: String,
    /// Loader / format id that read the sources (e.g. `ml-100k-raw`, `recbole`).
    pub format: String,
    /// Processing-code version.
    pub processing_version: String,
    /// Full fingerprint: sha256 over sources, spec and processing version.
    pub fingerprint: String,
    /// Source files.
    pub sources: Vec<SourceFile>,
    /// Preprocessing spec.
    pub spec: ProcessSpec,
    /// Processed interactions table.
    pub interactions: TableFile,
    /// Processed items table.
    pub items: TableFile,
    /// Processed users table.
    pub users: TableFile,
    /// Statistics.
    pub card: Card,
}
