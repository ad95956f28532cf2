//! The run folder: `records.jsonl` (one [`CellRecord`] per cell) and `cells/<cell_id>/` with
//! per-user Parquet files.
//!
//! Crash safety: a cell's per-user file is written atomically first, then `records.jsonl` is
//! rewritten atomically (temporary file + rename) with the new record. Killing the process at
//! any moment leaves either the previous records file or the new one, never a torn line, and a
//! per-user file without a record is simply recomputed on the next run. Rerunning skips cells
//! whose record has `status = ok`; a failed cell is retried and its record replaced.

use quadrec_core::fsx::write_atomic;
use quadrec_report::record::{CellRecord, Status};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Store errors name the file and line.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// I/O failure.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Error.
        source: std::io::Error,
    },
    /// A record line that does not parse.
    #[error("{path}:{line}: malformed record: {message}")]
    Malformed {
        /// File.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// Parser message.
        message: String,
    },
}

/// An open run folder.
#[derive(Debug)]
pub struct RunStore {
    dir: PathBuf,
    /// Records by cell id (sorted, so file order is deterministic).
    records: BTreeMap<String, CellRecord>,
}

impl RunStore {
    /// Name of the records file inside a run folder.
    pub const RECORDS: &'static str = "records.jsonl";

    /// Open (or create) a run folder and read its records.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|source| StoreError::Io { path: dir.into(), source })?;
        remove_stale_temporaries(dir);
        let records = read_records(&dir.join(Self::RECORDS))?;
        Ok(RunStore { dir: dir.to_path_buf(), records })
    }

    /// The run folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether a cell finished successfully.
    pub fn is_done(&self, cell_id: &str) -> bool {
        self.records.get(cell_id).is_some_and(|r| r.status == Status::Ok)
    }

    /// The record of a cell.
    pub fn get(&self, cell_id: &str) -> Option<&CellRecord> {
        self.records.get(cell_id)
    }

    /// All records, sorted by cell id.
    pub fn records(&self) -> impl Iterator<Item = &CellRecord> {
        self.records.values()
    }

    /// Folder of a cell's files (`cells/<cell_id>`), relative path and absolute path.
    pub fn cell_dir(&self, cell_id: &str) -> (String, PathBuf) {
        let rel = format!("cells/{cell_id}");
        let abs = self.dir.join(&rel);
        (rel, abs)
    }

    /// Add or replace a record and persist the records file atomically.
    pub fn put(&mut self, rec: CellRecord) -> Result<(), StoreError> {
        self.records.insert(rec.cell_id.clone(), rec);
        self.flush()
    }

    fn flush(&self) -> Result<(), StoreError> {
        let mut text = String::new();
        for r in self.records.values() {
            text.push_str(&serde_json::to_string(r).expect("records serialise"));
            text.push('\n');
        }
        let path = self.dir.join(Self::RECORDS);
        write_atomic(&path, text.as_bytes()).map_err(|source| StoreError::Io { path, source })
    }
}

/// Read a records file (absent = empty). Every line must parse.
pub fn read_records(path: &Path) -> Result<BTreeMap<String, CellRecord>, StoreError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => return Err(StoreError::Io { path: path.into(), source }),
    };
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: CellRecord = serde_json::from_str(line).map_err(|e| StoreError::Malformed {
            path: path.into(),
            line: i + 1,
            message: e.to_string(),
        })?;
        out.insert(r.cell_id.clone(), r);
    }
    Ok(out)
}

/// Remove temporary files left by a process killed in the middle of an atomic write
/// (`.tmp-*.partial`, see `quadrec_core::fsx`). They were never renamed into place, so no
/// record refers to them.
fn remove_stale_temporaries(dir: &Path) {
    let mut folders = vec![dir.to_path_buf()];
    if let Ok(rd) = std::fs::read_dir(dir.join("cells")) {
        folders.extend(rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
    }
    for f in folders {
        if let Ok(rd) = std::fs::read_dir(&f) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name.starts_with(".tmp-") && name.ends_with(".partial") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}
