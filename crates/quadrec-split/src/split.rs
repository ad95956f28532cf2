//! [`Split`]: one assignment (train / valid / test) per interaction of a processed dataset,
//! computed once, fingerprinted, stored as Parquet (byte-identical on regeneration), and
//! consumed into the type-separated pair ([`TrainView`], [`HeldOut`]).

use crate::error::SplitError;
use crate::heldout::HeldOut;
use crate::spec::{Cut, SPLIT_VERSION, SplitSpec};
use crate::train_view::TrainView;
use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, UInt8Array, UInt32Array};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, UInt8Type, UInt32Type};
use quadrec_core::Seed;
use quadrec_core::hash::Fingerprint;
use quadrec_data::Dataset;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where an interaction goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Part {
    /// Training row (visible to methods).
    Train = 0,
    /// Validation target.
    Valid = 1,
    /// Test target.
    Test = 2,
}

/// The leakage figure of a split (Ji et al., 2023): for each test interaction, the share of all
/// training interactions whose timestamp is strictly later than it; averaged over test
/// interactions. 0 for a global temporal split by construction.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Leakage {
    /// Mean over test interactions of (#train rows with t > t_test) / #train rows.
    pub mean_share_train_after_test: f64,
    /// Share of test interactions with at least one later training row.
    pub share_tests_with_leak: f64,
}

/// Split metadata (written as `split.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitMeta {
    /// Fingerprint: sha256 over split version, dataset fingerprint, interactions-table sha256,
    /// and the spec.
    pub fingerprint: String,
    /// Split code version.
    pub version: String,
    /// Dataset id.
    pub dataset_id: String,
    /// sha256 of the dataset's interactions table.
    pub dataset_interactions_sha256: String,
    /// The protocol.
    pub spec: SplitSpec,
    /// Resolved cut times (temporal split): (valid, test).
    pub cut_times: Option<(Option<i64>, i64)>,
    /// Rows per part.
    pub n_train: u64,
    /// Validation rows.
    pub n_valid: u64,
    /// Test rows.
    pub n_test: u64,
    /// Users with at least one test row.
    pub n_test_users: u64,
    /// Leakage figure.
    pub leakage: Leakage,
    /// sha256 of `split.parquet`.
    pub table_sha256: String,
}

impl SplitMeta {
    /// Short id for folder names and protocol ids: `<protocol>-<fingerprint[..12]>`.
    pub fn id(&self) -> String {
        format!("{}-{}", self.spec.name(), &self.fingerprint[..12])
    }
}

/// A split of one dataset: one [`Part`] per interaction (aligned with `dataset.interactions`).
#[derive(Clone, Debug)]
pub struct Split {
    /// Metadata (fingerprint, counts, leakage).
    pub meta: SplitMeta,
    /// One part per dataset interaction, same order.
    pub parts: Vec<Part>,
}

/// Split file names.
pub const SPLIT_FILE: &str = "split.parquet";
/// Split metadata file.
pub const SPLIT_META_FILE: &str = "split.json";

/// Default root of stored splits: `cache_dir()/splits`.
pub fn default_root() -> PathBuf {
    quadrec_core::cache_dir().join("splits")
}

fn fingerprint(d: &Dataset, spec: &SplitSpec) -> String {
    Fingerprint::new()
        .part("version", SPLIT_VERSION)
        .part("dataset", &d.manifest.fingerprint)
        .part("interactions", &d.manifest.interactions.sha256)
        .part("spec", serde_json::to_vec(spec).expect("spec serialises"))
        .finish()
}

/// User row ranges of a dataset (interactions are sorted by user).
pub(crate) fn user_ranges(d: &Dataset) -> Vec<std::ops::Range<usize>> {
    let n = d.n_users() as usize;
    let mut start = vec![0usize; n + 1];
    for r in &d.interactions {
        start[r.user as usize + 1] += 1;
    }
    for u in 0..n {
        start[u + 1] += start[u];
    }
    (0..n).map(|u| start[u]..start[u + 1]).collect()
}

fn resolve_cut(c: Cut, sorted_times: &[i64], name: &str) -> Result<i64, SplitError> {
    match c {
        Cut::Time(t) => Ok(t),
        Cut::Quantile(q) => {
            if !(q > 0.0 && q < 1.0) {
                return Err(SplitError::param(
                    name,
                    format!("quantile must be in (0, 1), got {q}"),
                ));
            }
            let k = ((q * sorted_times.len() as f64).floor() as usize).min(sorted_times.len() - 1);
            Ok(sorted_times[k])
        }
    }
}

/// Compute the leakage figure from parts.
pub fn leakage(d: &Dataset, parts: &[Part]) -> Leakage {
    let mut train_t: Vec<i64> = d
        .interactions
        .iter()
        .zip(parts)
        .filter(|(_, p)| **p == Part::Train)
        .map(|(r, _)| r.timestamp)
        .collect();
    train_t.sort_unstable();
    let n_train = train_t.len() as f64;
    let (mut sum, mut leaky, mut n) = (0.0f64, 0u64, 0u64);
    for (r, p) in d.interactions.iter().zip(parts) {
        if *p != Part::Test {
            continue;
        }
        let later = train_t.len() - train_t.partition_point(|&t| t <= r.timestamp);
        if n_train > 0.0 {
            sum += later as f64 / n_train;
        }
        leaky += (later > 0) as u64;
        n += 1;
    }
    let n = n.max(1) as f64;
    Leakage { mean_share_train_after_test: sum / n, share_tests_with_leak: leaky as f64 / n }
}

impl Split {
    /// Compute a split of `d` under `spec`.
    pub fn make(d: &Dataset, spec: &SplitSpec) -> Result<Split, SplitError> {
        let n = d.interactions.len();
        let mut parts = vec![Part::Train; n];
        let mut cut_times = None;
        match spec {
            SplitSpec::Loo => {
                for r in user_ranges(d) {
                    let len = r.len();
                    if len >= 2 {
                        parts[r.end - 1] = Part::Test;
                    }
                    if len >= 3 {
                        parts[r.end - 2] = Part::Valid;
                    }
                }
            }
            SplitSpec::Temporal { valid, test } => {
                let mut times: Vec<i64> = d.interactions.iter().map(|r| r.timestamp).collect();
                times.sort_unstable();
                let tt = resolve_cut(*test, &times, "test")?;
                let tv = valid.map(|v| resolve_cut(v, &times, "valid")).transpose()?;
                if let Some(v) = tv
                    && v > tt
                {
                    return Err(SplitError::param(
                        "valid",
                        format!("valid cut {v} is after test cut {tt}"),
                    ));
                }
                for (k, r) in d.interactions.iter().enumerate() {
                    parts[k] = if r.timestamp >= tt {
                        Part::Test
                    } else if tv.is_some_and(|v| r.timestamp >= v) {
                        Part::Valid
                    } else {
                        Part::Train
                    };
                }
                cut_times = Some((tv, tt));
            }
            SplitSpec::Random { valid, test, seed } => {
                for (name, x) in [("valid", valid), ("test", test)] {
                    if !(0.0..1.0).contains(x) {
                        return Err(SplitError::param(
                            name,
                            format!("share must be in [0, 1), got {x}"),
                        ));
                    }
                }
                if valid + test >= 1.0 {
                    return Err(SplitError::param("test", "valid + test must be < 1"));
                }
                let root = Seed::new(*seed).child("split/random");
                for (u, r) in user_ranges(d).into_iter().enumerate() {
                    let len = r.len();
                    let mut idx: Vec<usize> = r.collect();
                    idx.shuffle(&mut root.index(u as u64).rng());
                    let mut n_test = (len as f64 * test).round() as usize;
                    let mut n_valid = (len as f64 * valid).round() as usize;
                    // Keep at least one training row per user.
                    while n_test + n_valid >= len && n_test + n_valid > 0 {
                        if n_valid >= n_test && n_valid > 0 { n_valid -= 1 } else { n_test -= 1 }
                    }
                    for &k in &idx[..n_test] {
                        parts[k] = Part::Test;
                    }
                    for &k in &idx[n_test..n_test + n_valid] {
                        parts[k] = Part::Valid;
                    }
                }
            }
        }
        let count = |p: Part| parts.iter().filter(|&&x| x == p).count() as u64;
        let mut test_users = vec![false; d.n_users() as usize];
        for (r, p) in d.interactions.iter().zip(&parts) {
            if *p == Part::Test {
                test_users[r.user as usize] = true;
            }
        }
        let meta = SplitMeta {
            fingerprint: fingerprint(d, spec),
            version: SPLIT_VERSION.to_string(),
            dataset_id: d.id.clone(),
            dataset_interactions_sha256: d.manifest.interactions.sha256.clone(),
            spec: spec.clone(),
            cut_times,
            n_train: count(Part::Train),
            n_valid: count(Part::Valid),
            n_test: count(Part::Test),
            n_test_users: test_users.iter().filter(|&&b| b).count() as u64,
            leakage: leakage(d, &parts),
            table_sha256: String::new(),
        };
        let mut s = Split { meta, parts };
        s.meta.table_sha256 = quadrec_core::hash::sha256_hex(&s.encode(d)?);
        Ok(s)
    }

    /// Short id (`loo-<fp12>`).
    pub fn id(&self) -> String {
        self.meta.id()
    }

    /// Parquet bytes: (user, item, timestamp, part) per dataset interaction, dataset order.
    pub fn encode(&self, d: &Dataset) -> Result<Vec<u8>, SplitError> {
        let cols: Vec<(&str, ArrayRef)> = vec![
            (
                "user",
                Arc::new(UInt32Array::from_iter_values(d.interactions.iter().map(|r| r.user))),
            ),
            (
                "item",
                Arc::new(UInt32Array::from_iter_values(d.interactions.iter().map(|r| r.item))),
            ),
            (
                "timestamp",
                Arc::new(Int64Array::from_iter_values(d.interactions.iter().map(|r| r.timestamp))),
            ),
            ("part", Arc::new(UInt8Array::from_iter_values(self.parts.iter().map(|p| *p as u8)))),
        ];
        let schema = Schema::new(
            cols.iter()
                .map(|(n, a)| Field::new(*n, a.data_type().clone(), false))
                .collect::<Vec<_>>(),
        );
        let b = RecordBatch::try_new(Arc::new(schema), cols.into_iter().map(|(_, a)| a).collect())
            .expect("equal lengths");
        quadrec_data::pq::encode(&b).map_err(|m| SplitError::stored("split.parquet", m))
    }

    /// Store under `root/<dataset id>/<split id>/` atomically; returns the folder. An existing
    /// folder with identical metadata is reused.
    pub fn save(&self, d: &Dataset, root: &Path) -> Result<PathBuf, SplitError> {
        let parent = root.join(&d.id);
        let dest = parent.join(self.id());
        let meta = serde_json::to_vec_pretty(&self.meta).expect("meta serialises");
        if dest.join(SPLIT_META_FILE).is_file() {
            let old = std::fs::read(dest.join(SPLIT_META_FILE)).map_err(SplitError::io(&dest))?;
            if old == meta {
                return Ok(dest);
            }
            return Err(SplitError::stored(
                &dest,
                "a split with this id exists with different metadata",
            ));
        }
        std::fs::create_dir_all(&parent).map_err(SplitError::io(&parent))?;
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-split-")
            .tempdir_in(&parent)
            .map_err(SplitError::io(&parent))?;
        let bytes = self.encode(d)?;
        let w = |name: &str, b: &[u8]| {
            let p = tmp.path().join(name);
            quadrec_core::fsx::write_atomic(&p, b).map_err(SplitError::io(p))
        };
        w(SPLIT_FILE, &bytes)?;
        w(SPLIT_META_FILE, &meta)?;
        let tp = tmp.keep();
        std::fs::rename(&tp, &dest).map_err(|e| {
            let _ = std::fs::remove_dir_all(&tp);
            SplitError::Io { path: dest.clone(), source: e }
        })?;
        Ok(dest)
    }

    /// Load a stored split of `d`, verifying the table hash, the dataset and every row.
    pub fn load(dir: &Path, d: &Dataset) -> Result<Split, SplitError> {
        let mp = dir.join(SPLIT_META_FILE);
        let meta: SplitMeta =
            serde_json::from_slice(&std::fs::read(&mp).map_err(SplitError::io(&mp))?)
                .map_err(|e| SplitError::stored(&mp, e.to_string()))?;
        if meta.dataset_id != d.id
            || meta.dataset_interactions_sha256 != d.manifest.interactions.sha256
        {
            return Err(SplitError::stored(
                &mp,
                format!("split belongs to dataset {}, not {}", meta.dataset_id, d.id),
            ));
        }
        let tp = dir.join(SPLIT_FILE);
        let sha = quadrec_core::hash::sha256_file(&tp).map_err(SplitError::io(&tp))?;
        if sha != meta.table_sha256 {
            return Err(SplitError::stored(
                &tp,
                format!("sha256 mismatch: metadata says {}, file has {sha}", meta.table_sha256),
            ));
        }
        let batches = quadrec_data::pq::decode_file(&tp).map_err(|m| SplitError::stored(&tp, m))?;
        let mut parts = Vec::with_capacity(d.interactions.len());
        let mut k = 0usize;
        for b in batches {
            let get = |n: &str| {
                b.column_by_name(n)
                    .cloned()
                    .ok_or_else(|| SplitError::stored(&tp, format!("missing column {n}")))
            };
            let (u, i, t, p) = (get("user")?, get("item")?, get("timestamp")?, get("part")?);
            if p.data_type() != &DataType::UInt8 {
                return Err(SplitError::stored(&tp, "column part is not u8"));
            }
            let (u, i, t, p) = (
                u.as_primitive::<UInt32Type>(),
                i.as_primitive::<UInt32Type>(),
                t.as_primitive::<Int64Type>(),
                p.as_primitive::<UInt8Type>(),
            );
            for j in 0..p.len() {
                let r = d
                    .interactions
                    .get(k)
                    .ok_or_else(|| SplitError::stored(&tp, "more rows than the dataset"))?;
                if (r.user, r.item, r.timestamp) != (u.value(j), i.value(j), t.value(j)) {
                    return Err(SplitError::stored(
                        &tp,
                        format!("row {k} does not match the dataset"),
                    ));
                }
                parts.push(match p.value(j) {
                    0 => Part::Train,
                    1 => Part::Valid,
                    2 => Part::Test,
                    x => return Err(SplitError::stored(&tp, format!("row {k}: bad part {x}"))),
                });
                k += 1;
            }
        }
        if k != d.interactions.len() {
            return Err(SplitError::stored(&tp, "fewer rows than the dataset"));
        }
        Ok(Split { meta, parts })
    }

    /// Consume into the train-only view and the held-out targets. Nothing reachable from the
    /// returned [`TrainView`] holds a valid or test row.
    pub fn into_parts(self, d: &Dataset) -> (TrainView, HeldOut) {
        let items = Arc::new(d.items.clone());
        let users = Arc::new(d.users.clone());
        let train: Vec<_> = d
            .interactions
            .iter()
            .zip(&self.parts)
            .filter(|(_, p)| **p == Part::Train)
            .map(|(r, _)| *r)
            .collect();
        let tv = TrainView::from_interactions(d.n_users(), d.n_items(), train, items, users);
        let held = HeldOut::build(d, &self.parts, self.meta);
        (tv, held)
    }
}
