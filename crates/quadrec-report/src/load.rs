//! Loading a run folder: `records.jsonl` (one [`CellRecord`] per line) and, on demand, the
//! per-user Parquet tables the records point to.
//!
//! A process killed while appending leaves at most one unterminated last line. Such a line is
//! reported in [`Run::truncated_tail`] and ignored (the runner reruns that cell); a malformed line
//! anywhere else is an error naming the file and line. When a cell id appears more than once
//! (a failed cell retried), the last record wins and the superseded lines are listed.

use std::path::{Path, PathBuf};

use quadrec_eval::PerUserTable;

use crate::error::{ReportError, Result};
use crate::record::{CellRecord, RECORD_SCHEMA};

/// File name of the records inside a run folder.
pub const RECORDS_FILE: &str = "records.jsonl";

/// An unterminated, unparseable last line (left by a killed writer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TruncatedTail {
    /// 1-based line number.
    pub line: usize,
    /// Bytes on that line.
    pub bytes: usize,
}

/// A loaded run.
#[derive(Clone, Debug)]
pub struct Run {
    /// The run folder.
    pub dir: PathBuf,
    /// Records in file order, one per cell id (the last record of a repeated cell id).
    pub records: Vec<CellRecord>,
    /// The ignored truncated last line, if any.
    pub truncated_tail: Option<TruncatedTail>,
    /// (line, cell id) of records superseded by a later record of the same cell.
    pub superseded: Vec<(usize, String)>,
    /// Jobs of the folder's `suite.json` with no record at all, as `key/seed` (`sasrec:ce/2`):
    /// a partial run (interrupted, one shard, or `--only`) says so instead of passing for a
    /// complete one. Empty when the folder has no suite file.
    pub pending: Vec<String>,
    /// Jobs the suite file plans (method entries x their seeds); 0 without a suite file.
    pub planned: usize,
}

impl Run {
    /// Path of the records file.
    pub fn records_path(&self) -> PathBuf {
        self.dir.join(RECORDS_FILE)
    }

    /// Read the per-user table of a record (path relative to the run folder).
    pub fn per_user(&self, rec: &CellRecord) -> Result<PerUserTable> {
        let rel = rec.per_user.as_deref().ok_or_else(|| ReportError::PerUser {
            cell_id: rec.cell_id.clone(),
            reason: "the record names no per-user file".into(),
        })?;
        let path = self.dir.join(rel);
        PerUserTable::read_parquet(&path).map(|(t, _)| t).map_err(|e| ReportError::PerUser {
            cell_id: rec.cell_id.clone(),
            reason: e.to_string(),
        })
    }

    /// Human-readable warnings about the records (truncated tail, superseded records).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        let p = self.records_path();
        if let Some(t) = &self.truncated_tail {
            w.push(format!(
                "{}:{}: unterminated last line ({} bytes) ignored: a writer was interrupted; \
                 rerunning the suite completes that cell",
                p.display(),
                t.line,
                t.bytes
            ));
        }
        for (line, id) in &self.superseded {
            w.push(format!(
                "{}:{line}: record of cell {id} superseded by a later record of the same cell",
                p.display()
            ));
        }
        if !self.pending.is_empty() {
            const SHOWN: usize = 12;
            let mut list = self.pending[..self.pending.len().min(SHOWN)].join(", ");
            if self.pending.len() > SHOWN {
                list.push_str(&format!(", ... ({} more)", self.pending.len() - SHOWN));
            }
            w.push(format!(
                "partial run: {} of the {} jobs (method x seed) of {} have no record yet: {list}; \
                 rerunning `quadrec run` on the same folder completes them",
                self.pending.len(),
                self.planned,
                self.dir.join(SUITE_FILE).display()
            ));
        }
        w
    }
}

/// File name of the resolved suite the runner writes into a run folder.
pub const SUITE_FILE: &str = "suite.json";

/// Load `dir/records.jsonl` (and `dir/suite.json`, if present, for the pending jobs).
pub fn load_run(dir: &Path) -> Result<Run> {
    let path = dir.join(RECORDS_FILE);
    let bytes =
        std::fs::read(&path).map_err(|source| ReportError::Io { path: path.clone(), source })?;
    let (records, truncated_tail, superseded) = parse_records(&bytes, &path)?;
    let (planned, pending) = match std::fs::read(dir.join(SUITE_FILE)) {
        Ok(s) => planned_jobs(&s, &dir.join(SUITE_FILE), &records)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, Vec::new()),
        Err(source) => return Err(ReportError::Io { path: dir.join(SUITE_FILE), source }),
    };
    Ok(Run { dir: dir.to_path_buf(), records, truncated_tail, superseded, pending, planned })
}

/// The suite's jobs (method entry x seed, in suite order) and those without any record. The
/// runner's serialised suite is read as plain JSON (`method[].id/label/seeds`, top-level
/// `seeds`), so the report does not depend on the runner (the runner's tests check the two
/// agree); a job counts as done when any record has its method id, variant and seed.
fn planned_jobs(bytes: &[u8], path: &Path, records: &[CellRecord]) -> Result<(usize, Vec<String>)> {
    let bad = |reason: String| ReportError::Malformed { path: path.to_path_buf(), line: 1, reason };
    let suite: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("suite file: {e}")))?;
    let seeds_of = |v: Option<&serde_json::Value>| -> Vec<u64> {
        v.and_then(|s| s.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_u64()).collect())
            .unwrap_or_default()
    };
    let suite_seeds = seeds_of(suite.get("seeds"));
    let methods = suite
        .get("method")
        .and_then(|m| m.as_array())
        .ok_or_else(|| bad("suite file: no `method` list".into()))?;
    let done: std::collections::BTreeSet<(&str, &str, u64)> =
        records.iter().map(|r| (r.method.id.as_str(), r.method.variant.as_str(), r.seed)).collect();
    let (mut planned, mut pending) = (0, Vec::new());
    for m in methods {
        let id = m.get("id").and_then(|v| v.as_str()).unwrap_or_default();
        let label = m.get("label").and_then(|v| v.as_str()).unwrap_or_default();
        let own = seeds_of(m.get("seeds"));
        for &seed in if own.is_empty() { &suite_seeds } else { &own } {
            planned += 1;
            if !done.contains(&(id, label, seed)) {
                let key = if label.is_empty() { id.to_string() } else { format!("{id}:{label}") };
                pending.push(format!("{key}/{seed}"));
            }
        }
    }
    Ok((planned, pending))
}

type Parsed = (Vec<CellRecord>, Option<TruncatedTail>, Vec<(usize, String)>);

/// Parse the bytes of a records file (`path` is used in errors only).
pub fn parse_records(bytes: &[u8], path: &Path) -> Result<Parsed> {
    let terminated = bytes.last().is_none_or(|&b| b == b'\n');
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if terminated {
        lines.pop(); // the empty piece after the final newline
    }
    let n = lines.len();
    let mut out: Vec<(usize, CellRecord)> = Vec::new();
    let mut tail = None;
    for (i, raw) in lines.into_iter().enumerate() {
        let line = i + 1;
        let is_open_tail = !terminated && i + 1 == n;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = std::str::from_utf8(raw)
            .map_err(|e| format!("not UTF-8: {e}"))
            .and_then(|s| serde_json::from_str::<CellRecord>(s).map_err(|e| e.to_string()));
        match parsed {
            Ok(rec) => {
                if rec.schema > RECORD_SCHEMA {
                    return Err(ReportError::UnsupportedSchema {
                        path: path.to_path_buf(),
                        line,
                        found: rec.schema,
                        supported: RECORD_SCHEMA,
                    });
                }
                out.push((line, rec));
            }
            Err(_) if is_open_tail => tail = Some(TruncatedTail { line, bytes: raw.len() }),
            Err(reason) => {
                return Err(ReportError::Malformed { path: path.to_path_buf(), line, reason });
            }
        }
    }
    // Last record of each cell id wins; keep file order of the winners.
    let mut last: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for (k, (_, r)) in out.iter().enumerate() {
        last.insert(r.cell_id.as_str(), k);
    }
    let keep: Vec<bool> = (0..out.len()).map(|k| last[out[k].1.cell_id.as_str()] == k).collect();
    let mut records = Vec::new();
    let mut superseded = Vec::new();
    for (k, (line, r)) in out.into_iter().enumerate() {
        if keep[k] {
            records.push(r);
        } else {
            superseded.push((line, r.cell_id));
        }
    }
    Ok((records, tail, superseded))
}
