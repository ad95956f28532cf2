//! Evaluation results: flags of how they were computed, headline summaries, per-user values
//! (so two methods can be compared with paired tests) and the concrete top lists.
//! Per-user tables are written to / read from Parquet atomically: column `user` (UInt32) then one
//! nullable Float64 column per metric (null = undefined for that user); flags and summaries
//! travel as JSON in the file's key-value metadata (`quadrec.eval.flags`, `quadrec.eval.summary`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, RecordBatch, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result};

/// How a report was computed (recorded next to every number).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalFlags {
    /// `full`, `candidates`, `pointwise` or `generation`.
    pub view: String,
    /// Whether seen items were masked out of the ranking.
    pub masked_seen: bool,
    /// [`crate::TIE_POLICY`].
    pub tie_policy: String,
    /// Seed of the concrete tie order (top lists only; accuracy metrics do not depend on it).
    pub tie_seed: u64,
    /// Catalogue size.
    pub n_items: u32,
    /// Users evaluated.
    pub n_users: usize,
    /// Diagnostic: (user, target) pairs where the target was also in the seen list; such targets
    /// are never masked.
    pub targets_also_seen: u64,
}

/// One headline value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SummaryValue {
    /// Canonical metric name.
    pub metric: String,
    /// Mean over users for per-user metrics; the global value for AUC/GAUC/LogLoss/accuracy and
    /// exposure metrics.
    pub value: f64,
    /// Users with a defined per-user value (0 for list-level metrics).
    pub n_users: usize,
}

/// Per-user values: one row per user, one column per metric, NaN = undefined.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PerUserTable {
    /// Dense user ids, in evaluation order.
    pub users: Vec<u32>,
    /// (metric name, values aligned with `users`).
    pub columns: Vec<(String, Vec<f64>)>,
}

impl PerUserTable {
    /// Values of one metric.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    /// Mean and count over defined (non-NaN) values.
    pub fn mean(&self, name: &str) -> Option<(f64, usize)> {
        let v = self.column(name)?;
        // A plain loop keeps the running sum in a register (the `filter().fold()` form kept a
        // tuple on the stack: a store and reload per value); same additions in the same order.
        let (mut s, mut n) = (0.0f64, 0usize);
        for &x in v {
            if !x.is_nan() {
                s += x;
                n += 1;
            }
        }
        Some((if n == 0 { f64::NAN } else { s / n as f64 }, n))
    }

    /// Write as Parquet (atomic), with extra key-value metadata.
    pub fn write_parquet(&self, path: &Path, metadata: &BTreeMap<String, String>) -> Result<()> {
        let pq = |e: &dyn std::fmt::Display| EvalError::Parquet {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let mut fields = vec![Field::new("user", DataType::UInt32, false)];
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(UInt32Array::from(self.users.clone()))];
        for (name, vals) in &self.columns {
            if vals.len() != self.users.len() {
                return Err(pq(&format!(
                    "column `{name}` has {} values for {} users",
                    vals.len(),
                    self.users.len()
                )));
            }
            fields.push(Field::new(name, DataType::Float64, true));
            let arr: Float64Array = vals.iter().map(|&x| (!x.is_nan()).then_some(x)).collect();
            arrays.push(Arc::new(arr));
        }
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| pq(&e))?;
        let kv: Vec<KeyValue> =
            metadata.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())).collect();
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_key_value_metadata(Some(kv))
            .build();
        quadrec_core::fsx::write_atomic_with(path, |f| {
            let mut w =
                ArrowWriter::try_new(f, schema, Some(props)).map_err(std::io::Error::other)?;
            w.write(&batch).map_err(std::io::Error::other)?;
            w.close().map_err(std::io::Error::other)?;
            Ok(())
        })
        .map_err(|source| EvalError::Io { path: path.to_path_buf(), source })
    }

    /// Read a table written by [`PerUserTable::write_parquet`]; returns its key-value metadata too.
    pub fn read_parquet(path: &Path) -> Result<(Self, BTreeMap<String, String>)> {
        let pq = |e: &dyn std::fmt::Display| EvalError::Parquet {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let f = std::fs::File::open(path)
            .map_err(|source| EvalError::Io { path: path.to_path_buf(), source })?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| pq(&e))?;
        let meta: BTreeMap<String, String> = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .map(|kv| {
                kv.iter().map(|k| (k.key.clone(), k.value.clone().unwrap_or_default())).collect()
            })
            .unwrap_or_default();
        let schema = builder.schema().clone();
        if schema.fields().first().map(|f| f.name().as_str()) != Some("user") {
            return Err(pq(&"first column must be `user`"));
        }
        let mut t = PerUserTable {
            users: Vec::new(),
            columns: schema
                .fields()
                .iter()
                .skip(1)
                .map(|f| (f.name().clone(), Vec::new()))
                .collect(),
        };
        for batch in builder.build().map_err(|e| pq(&e))? {
            let batch = batch.map_err(|e| pq(&e))?;
            let users = batch
                .column(0)
                .as_any()
                .downcast_ref::<UInt32Array>()
                .ok_or_else(|| pq(&"column `user` is not UInt32"))?;
            t.users.extend(users.values().iter().copied());
            for (c, (name, vals)) in t.columns.iter_mut().enumerate() {
                let a = batch
                    .column(c + 1)
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .ok_or_else(|| pq(&format!("column `{name}` is not Float64")))?;
                vals.extend((0..a.len()).map(|i| if a.is_null(i) { f64::NAN } else { a.value(i) }));
            }
        }
        Ok((t, meta))
    }
}

/// Concrete top lists of all users, best first, in CSR layout.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TopLists {
    /// Dense user ids.
    pub users: Vec<u32>,
    /// `items[offsets[i]..offsets[i+1]]` is user i's list; len = users.len() + 1.
    pub offsets: Vec<usize>,
    /// Items.
    pub items: Vec<u32>,
    /// Scores aligned with items (NaN for generated lists).
    pub scores: Vec<f32>,
}

impl TopLists {
    /// Empty lists.
    pub fn new() -> Self {
        TopLists { offsets: vec![0], ..Default::default() }
    }

    /// From plain item lists (scores NaN).
    pub fn from_lists(lists: &[(u32, Vec<u32>)]) -> Self {
        let mut t = Self::new();
        for (u, l) in lists {
            t.push(*u, &l.iter().map(|&i| (i, f32::NAN)).collect::<Vec<_>>());
        }
        t
    }

    /// Append one user's list.
    pub fn push(&mut self, user: u32, list: &[(u32, f32)]) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.users.push(user);
        self.items.extend(list.iter().map(|e| e.0));
        self.scores.extend(list.iter().map(|e| e.1));
        self.offsets.push(self.items.len());
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// No users.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// User i's (user id, items, scores).
    pub fn get(&self, i: usize) -> (u32, &[u32], &[f32]) {
        let r = self.offsets[i]..self.offsets[i + 1];
        (self.users[i], &self.items[r.clone()], &self.scores[r])
    }

    /// How many top-`k` lists each catalogue item appears in.
    pub fn exposure_counts(&self, k: usize, n_items: u32) -> Vec<u64> {
        self.exposure_counts_multi(&[k], n_items).pop().expect("one cutoff")
    }

    /// [`TopLists::exposure_counts`] for several ascending cutoffs in one pass over the lists
    /// (the counts at a cutoff extend those at the previous one).
    pub fn exposure_counts_multi(&self, ks: &[usize], n_items: u32) -> Vec<Vec<u64>> {
        let mut c = vec![0u64; n_items as usize];
        let mut out = Vec::with_capacity(ks.len());
        let mut prev = 0usize;
        for &k in ks {
            assert!(k >= prev, "cutoffs must be ascending");
            for w in self.offsets.windows(2) {
                let list = &self.items[w[0]..w[1]];
                for &it in &list[prev.min(list.len())..k.min(list.len())] {
                    c[it as usize] += 1;
                }
            }
            out.push(c.clone());
            prev = k;
        }
        out
    }
}

/// [`PerUserTable::mean`] of several columns at once, bit-identical (each column's non-NaN
/// values are summed in user order, as there): four columns advance together, so four
/// independent addition chains overlap instead of one chain waiting on each addition's latency.
pub(crate) fn column_means(cols: &[Vec<f64>]) -> Vec<(f64, usize)> {
    let mut out = Vec::with_capacity(cols.len());
    for group in cols.chunks(4) {
        let (mut s, mut n) = ([0.0f64; 4], [0usize; 4]);
        let len = group.iter().map(Vec::len).min().unwrap_or(0);
        for u in 0..len {
            for (j, c) in group.iter().enumerate() {
                let x = c[u];
                if !x.is_nan() {
                    s[j] += x;
                    n[j] += 1;
                }
            }
        }
        // Columns longer than the shortest of their group (not produced by the evaluators).
        for (j, c) in group.iter().enumerate() {
            for &x in &c[len..] {
                if !x.is_nan() {
                    s[j] += x;
                    n[j] += 1;
                }
            }
            out.push((if n[j] == 0 { f64::NAN } else { s[j] / n[j] as f64 }, n[j]));
        }
    }
    out
}

/// The result of one evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalReport {
    /// How it was computed.
    pub flags: EvalFlags,
    /// Headline values in the order the metrics were requested.
    pub summary: Vec<SummaryValue>,
    /// Per-user values (per-user metrics only).
    pub per_user: PerUserTable,
    /// Concrete top lists (full/candidate/generation views), for exposure metrics and TREC export.
    pub top: Option<TopLists>,
}

/// Metadata key of the flags JSON.
pub const META_FLAGS: &str = "quadrec.eval.flags";
/// Metadata key of the summary JSON.
pub const META_SUMMARY: &str = "quadrec.eval.summary";

impl EvalReport {
    /// Headline value of a metric by canonical name.
    pub fn value(&self, metric: &str) -> Option<f64> {
        self.summary.iter().find(|s| s.metric == metric).map(|s| s.value)
    }

    /// Write the per-user table with flags and summary in its metadata (atomic).
    pub fn write_parquet(&self, path: &Path) -> Result<()> {
        let mut meta = BTreeMap::new();
        meta.insert(
            META_FLAGS.to_string(),
            serde_json::to_string(&self.flags).expect("flags serialise"),
        );
        // Values as shortest round-trip decimal strings: serde_json's default float parser is not
        // correctly rounded, and a re-read report must equal the written one bit for bit.
        let s: Vec<(String, String, usize)> = self
            .summary
            .iter()
            .map(|v| (v.metric.clone(), format!("{:?}", v.value), v.n_users))
            .collect();
        meta.insert(
            META_SUMMARY.to_string(),
            serde_json::to_string(&s).expect("summary serialises"),
        );
        self.per_user.write_parquet(path, &meta)
    }

    /// Read a report written by [`EvalReport::write_parquet`] (top lists are not stored).
    pub fn read_parquet(path: &Path) -> Result<Self> {
        let (per_user, meta) = PerUserTable::read_parquet(path)?;
        let get = |k: &str| {
            meta.get(k).ok_or_else(|| EvalError::Parquet {
                path: path.to_path_buf(),
                reason: format!("metadata key `{k}` missing"),
            })
        };
        let bad = |k: &str, e: serde_json::Error| EvalError::Parquet {
            path: path.to_path_buf(),
            reason: format!("metadata `{k}`: {e}"),
        };
        let flags = serde_json::from_str(get(META_FLAGS)?).map_err(|e| bad(META_FLAGS, e))?;
        let raw: Vec<(String, String, usize)> =
            serde_json::from_str(get(META_SUMMARY)?).map_err(|e| bad(META_SUMMARY, e))?;
        let mut summary = Vec::with_capacity(raw.len());
        for (metric, v, n_users) in raw {
            let value = v.parse::<f64>().map_err(|e| EvalError::Parquet {
                path: path.to_path_buf(),
                reason: format!("metadata `{META_SUMMARY}`: value `{v}` of `{metric}`: {e}"),
            })?;
            summary.push(SummaryValue { metric, value, n_users });
        }
        Ok(EvalReport { flags, summary, per_user, top: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_means_equal_mean_bitwise() {
        // Values whose sum depends on the order of additions, NaNs, columns of unequal length
        // and a column count that is not a multiple of 4.
        let mut state = 3u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let cols: Vec<Vec<f64>> = (0..7)
            .map(|c| {
                (0..1000 + 3 * c)
                    .map(|i| if i % 97 == c { f64::NAN } else { next() * 1e-3 + next() * 1e9 })
                    .collect()
            })
            .chain(std::iter::once(vec![f64::NAN; 5]))
            .collect();
        let t = PerUserTable {
            users: vec![],
            columns: cols.iter().enumerate().map(|(i, c)| (format!("c{i}"), c.clone())).collect(),
        };
        let got = column_means(&cols);
        for (i, &(m, n)) in got.iter().enumerate() {
            let (wm, wn) = t.mean(&format!("c{i}")).unwrap();
            assert_eq!((m.to_bits(), n), (wm.to_bits(), wn), "column {i}");
        }
    }

    #[test]
    fn exposure_counts_multi_equals_one_cutoff_at_a_time() {
        // Lists shorter than the cutoffs included (user 2).
        let t = TopLists::from_lists(&[
            (0, vec![3, 1, 4, 1 + 4, 9, 2, 6]),
            (1, vec![5, 3, 5 + 3, 9, 7, 0, 2]),
            (2, vec![8, 3]),
        ]);
        let ks = [1usize, 2, 5, 7, 10];
        let multi = t.exposure_counts_multi(&ks, 10);
        for (k, c) in ks.iter().zip(&multi) {
            let mut want = vec![0u64; 10];
            for i in 0..t.len() {
                for &it in t.get(i).1.iter().take(*k) {
                    want[it as usize] += 1;
                }
            }
            assert_eq!(c, &want, "k {k}");
        }
        assert_eq!(multi[0], vec![0, 0, 0, 1, 0, 1, 0, 0, 1, 0]);
    }

    #[test]
    fn parquet_round_trip_keeps_nan_and_metadata() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/per_user.parquet");
        let rep = EvalReport {
            flags: EvalFlags {
                view: "full".into(),
                masked_seen: true,
                tie_policy: crate::TIE_POLICY.into(),
                tie_seed: 5,
                n_items: 10,
                n_users: 3,
                targets_also_seen: 0,
            },
            summary: vec![SummaryValue { metric: "ndcg@10".into(), value: 0.25, n_users: 3 }],
            per_user: PerUserTable {
                users: vec![4, 1, 9],
                columns: vec![
                    ("ndcg@10".into(), vec![0.5, f64::NAN, 0.25]),
                    ("mrr".into(), vec![1.0, 0.0, 0.1]),
                ],
            },
            top: None,
        };
        rep.write_parquet(&p).unwrap();
        let back = EvalReport::read_parquet(&p).unwrap();
        assert_eq!(back.flags, rep.flags);
        assert_eq!(back.summary, rep.summary);
        assert_eq!(back.per_user.users, rep.per_user.users);
        assert!(back.per_user.column("ndcg@10").unwrap()[1].is_nan());
        assert_eq!(back.per_user.column("mrr").unwrap(), &[1.0, 0.0, 0.1]);
        // only the final file is left in the folder (atomic write).
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn mismatched_column_is_refused_and_nothing_written() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.parquet");
        let t = PerUserTable { users: vec![1, 2], columns: vec![("a".into(), vec![1.0])] };
        let e = t.write_parquet(&p, &BTreeMap::new()).unwrap_err().to_string();
        assert!(e.contains("column `a`"), "{e}");
        assert!(!p.exists());
    }
}
