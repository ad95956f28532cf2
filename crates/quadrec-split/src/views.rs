//! Evaluation views of one split. Each view records its parameters and, when it draws anything,
//! is drawn ONCE from a recorded seed, stored as Parquet and hashed, so every method sees the same
//! candidates.
//!
//! - [`FullRankingView`]: every catalogue item is a candidate; seen items masked (flag recorded).
//! - [`SampledView`]: 1 target + N negatives per (user, target).
//! - [`CandidateView`]: closed-set lists (LLMRank style, 20 by default) from a named source,
//!   target guaranteed or not, shuffled with a recorded seed.
//! - [`PointwiseView`]: (user, item, label) rows with a recorded label rule and history window.

use crate::error::SplitError;
use crate::heldout::{HeldOut, Stage};
use arrow::array::{
    ArrayRef, BooleanArray, Float32Array, ListBuilder, RecordBatch, UInt32Array, UInt32Builder,
};
use arrow::datatypes::{Field, Schema};
use quadrec_core::Seed;
use quadrec_core::hash::{Fingerprint, sha256_hex};
use rand::RngExt;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Version of the view code (hashed into view fingerprints).
pub const VIEW_VERSION: &str = "quadrec-views/1";

/// Full ranking over the whole catalogue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FullRankingView {
    /// Stage.
    pub stage: Stage,
    /// Whether seen items (the stage's input history) are excluded from the ranking.
    pub mask_seen: bool,
    /// Protocol id: `<split id>/<stage>/full[-mask]`.
    pub protocol_id: String,
}

impl FullRankingView {
    /// The full-ranking view of `held` at `stage` (masking seen items is the default).
    pub fn new(held: &HeldOut, stage: Stage, mask_seen: bool) -> Self {
        let protocol_id = format!(
            "{}/{}/full{}",
            held.meta().id(),
            stage.name(),
            if mask_seen { "-mask" } else { "" }
        );
        FullRankingView { stage, mask_seen, protocol_id }
    }
}

/// One candidate list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateRow {
    /// User.
    pub user: u32,
    /// The held-out target this list is for.
    pub target: u32,
    /// Candidates (order is part of the view: shuffled where the view says so).
    pub candidates: Vec<u32>,
}

/// Parameters and content of a list view (sampled or closed-set).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListViewMeta {
    /// View kind: `sampled` or `candidates`.
    pub kind: String,
    /// Stage.
    pub stage: Stage,
    /// Split fingerprint.
    pub split_fingerprint: String,
    /// List length (1 + N for sampled; K for candidates).
    pub size: usize,
    /// Where negatives / candidates come from (`uniform`, `random`, or a retriever's name).
    pub source: String,
    /// Whether the target is always in the list.
    pub target_guaranteed: bool,
    /// Seed of the draws and of the shuffle.
    pub seed: u64,
    /// View fingerprint: sha256 over version, split fingerprint, parameters.
    pub fingerprint: String,
    /// sha256 of the stored Parquet rows.
    pub rows_sha256: String,
    /// Protocol id `<split id>/<stage>/<kind>-<size>-<source>-<fp8>`.
    pub protocol_id: String,
}

/// Sampled 1 + N view: target first, then N negatives (never a positive of that user anywhere in
/// the dataset), drawn uniformly without replacement.
#[derive(Clone, Debug, PartialEq)]
pub struct SampledView {
    /// Parameters and hashes.
    pub meta: ListViewMeta,
    /// One row per (user, target), users ascending.
    pub rows: Vec<CandidateRow>,
}

/// A named candidate retriever (e.g. BM25 or a dense retriever, added later). It must not look
/// at targets; it gets the user's input history only.
pub trait Retriever {
    /// Name recorded in the view.
    fn name(&self) -> &str;
    /// Up to `k` items for `user` given `history`, best first, none from `exclude` (sorted).
    fn retrieve(&self, user: u32, history: &[u32], k: usize, exclude: &[u32]) -> Vec<u32>;
}

/// Source of closed-set candidates.
pub enum CandidateSource<'a> {
    /// Uniformly random unseen items.
    Random,
    /// A named retriever.
    Retriever(&'a dyn Retriever),
}

/// Closed-set candidate view (LLMRank style).
#[derive(Clone, Debug, PartialEq)]
pub struct CandidateView {
    /// Parameters and hashes.
    pub meta: ListViewMeta,
    /// One row per (user, target); `candidates` is shuffled.
    pub rows: Vec<CandidateRow>,
}

fn draw_unseen(
    rng: &mut rand_chacha::ChaCha8Rng,
    n_items: u32,
    exclude: &[u32],
    taken: &mut Vec<u32>,
    k: usize,
) -> Result<(), SplitError> {
    let free = n_items as usize - exclude.len().min(n_items as usize);
    if free < k + taken.len() {
        return Err(SplitError::param(
            "size",
            format!("needs {k} negatives but only {free} unseen items exist"),
        ));
    }
    let mut got = 0;
    while got < k {
        let x = rng.random_range(0..n_items);
        if exclude.binary_search(&x).is_err() && !taken.contains(&x) {
            taken.push(x);
            got += 1;
        }
    }
    Ok(())
}

fn encode_rows(rows: &[CandidateRow]) -> Result<Vec<u8>, SplitError> {
    let mut lb = ListBuilder::new(UInt32Builder::new());
    for r in rows {
        lb.values().append_slice(&r.candidates);
        lb.append(true);
    }
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("user", Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.user)))),
        ("target", Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.target)))),
        ("candidates", Arc::new(lb.finish())),
    ];
    let schema = Schema::new(
        cols.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect::<Vec<_>>(),
    );
    let b = RecordBatch::try_new(Arc::new(schema), cols.into_iter().map(|(_, a)| a).collect())
        .expect("equal lengths");
    quadrec_data::pq::encode(&b).map_err(|m| SplitError::stored("view", m))
}

fn list_meta(
    held: &HeldOut,
    kind: &str,
    stage: Stage,
    size: usize,
    source: &str,
    guaranteed: bool,
    seed: u64,
    rows: &[CandidateRow],
) -> Result<ListViewMeta, SplitError> {
    let fp = Fingerprint::new()
        .part("version", VIEW_VERSION)
        .part("split", &held.meta().fingerprint)
        .part("kind", kind)
        .part("stage", stage.name())
        .part("size", size.to_string())
        .part("source", source)
        .part("guaranteed", guaranteed.to_string())
        .part("seed", seed.to_string())
        .finish();
    Ok(ListViewMeta {
        kind: kind.into(),
        stage,
        split_fingerprint: held.meta().fingerprint.clone(),
        size,
        source: source.into(),
        target_guaranteed: guaranteed,
        seed,
        protocol_id: format!(
            "{}/{}/{kind}-{size}-{source}-{}",
            held.meta().id(),
            stage.name(),
            &fp[..8]
        ),
        fingerprint: fp,
        rows_sha256: sha256_hex(&encode_rows(rows)?),
    })
}

/// Write a list view (`<dir>/<kind>-<fp12>.parquet` + `.json`) atomically; returns the Parquet path.
pub fn save_list_view(
    dir: &Path,
    meta: &ListViewMeta,
    rows: &[CandidateRow],
) -> Result<PathBuf, SplitError> {
    let base = format!("{}-{}-{}", meta.kind, meta.stage.name(), &meta.fingerprint[..12]);
    let p = dir.join(format!("{base}.parquet"));
    let bytes = encode_rows(rows)?;
    quadrec_core::fsx::write_atomic(&p, &bytes).map_err(SplitError::io(&p))?;
    let j = dir.join(format!("{base}.json"));
    quadrec_core::fsx::write_atomic(&j, &serde_json::to_vec_pretty(meta).expect("serialises"))
        .map_err(SplitError::io(&j))?;
    Ok(p)
}

impl SampledView {
    /// Draw the 1 + `n_negatives` view once from `seed` (child `views/sampled/<stage>`, one
    /// stream per user, so adding users never shifts another user's negatives).
    pub fn draw(
        held: &HeldOut,
        stage: Stage,
        n_negatives: usize,
        seed: Seed,
    ) -> Result<Self, SplitError> {
        let root = seed.child(&format!("views/sampled/{}", stage.name()));
        let mut rows = Vec::new();
        for u in held.users(stage) {
            let mut excl = held.all_positives(u).to_vec();
            excl.dedup();
            let mut rng = root.index(u as u64).rng();
            for t in held.targets(stage, u) {
                let mut c = vec![t.item];
                draw_unseen(&mut rng, held.n_items(), &excl, &mut c, n_negatives)?;
                rows.push(CandidateRow { user: u, target: t.item, candidates: c });
            }
        }
        let meta =
            list_meta(held, "sampled", stage, n_negatives + 1, "uniform", true, seed.0, &rows)?;
        Ok(SampledView { meta, rows })
    }
}

impl CandidateView {
    /// Build closed-set lists of `size` items. Random source: unseen non-positive items; with
    /// `target_guaranteed` the target replaces one of them. Retriever source: the retriever's
    /// top items (history excluded); with `target_guaranteed` the target replaces the last one
    /// if absent. Each list is then shuffled with `seed` (child `views/candidates/<stage>`).
    pub fn build(
        held: &HeldOut,
        stage: Stage,
        size: usize,
        source: CandidateSource<'_>,
        target_guaranteed: bool,
        seed: Seed,
    ) -> Result<Self, SplitError> {
        if size == 0 {
            return Err(SplitError::param("size", "must be at least 1"));
        }
        let root = seed.child(&format!("views/candidates/{}", stage.name()));
        let mut rows = Vec::new();
        let name = match &source {
            CandidateSource::Random => "random".to_string(),
            CandidateSource::Retriever(r) => r.name().to_string(),
        };
        for u in held.users(stage) {
            let mut rng = root.index(u as u64).rng();
            let seen = held.seen(stage, u);
            for t in held.targets(stage, u) {
                let mut c: Vec<u32> = match &source {
                    CandidateSource::Random => {
                        let mut excl = if target_guaranteed {
                            held.all_positives(u).to_vec()
                        } else {
                            seen.clone()
                        };
                        excl.dedup();
                        let mut c = Vec::new();
                        let k = if target_guaranteed { size - 1 } else { size };
                        draw_unseen(&mut rng, held.n_items(), &excl, &mut c, k)?;
                        if target_guaranteed {
                            c.push(t.item);
                        }
                        c
                    }
                    CandidateSource::Retriever(r) => {
                        let mut c = r.retrieve(u, held.history(stage, u), size, &seen);
                        c.truncate(size);
                        if target_guaranteed && !c.contains(&t.item) {
                            if c.len() == size {
                                c.pop();
                            }
                            c.push(t.item);
                        }
                        c
                    }
                };
                c.shuffle(&mut rng);
                rows.push(CandidateRow { user: u, target: t.item, candidates: c });
            }
        }
        let meta =
            list_meta(held, "candidates", stage, size, &name, target_guaranteed, seed.0, &rows)?;
        Ok(CandidateView { meta, rows })
    }
}

/// How a pointwise label is derived from a rating.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelRule {
    /// `label = rating > threshold` (TALLRec on MovieLens: > 3).
    RatingAbove(f32),
}

impl LabelRule {
    /// Apply the rule.
    pub fn label(self, rating: f32) -> bool {
        match self {
            LabelRule::RatingAbove(t) => rating > t,
        }
    }
}

/// One pointwise row: the held-out interaction and its label; the input history is the stage
/// history truncated to the last `history_window` items.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointwiseRow {
    /// User.
    pub user: u32,
    /// Item.
    pub item: u32,
    /// Source rating.
    pub rating: f32,
    /// Label from the rule.
    pub label: bool,
}

/// Pointwise (CTR-style) view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointwiseView {
    /// Stage.
    pub stage: Stage,
    /// Label rule.
    pub rule: LabelRule,
    /// Number of most recent history items given as input.
    pub history_window: usize,
    /// Rows, users ascending, targets in time order.
    pub rows: Vec<PointwiseRow>,
    /// sha256 of the stored rows.
    pub rows_sha256: String,
    /// Protocol id.
    pub protocol_id: String,
}

impl PointwiseView {
    /// Label every held-out interaction at `stage` with `rule`.
    pub fn build(
        held: &HeldOut,
        stage: Stage,
        rule: LabelRule,
        history_window: usize,
    ) -> Result<Self, SplitError> {
        let mut rows = Vec::new();
        for u in held.users(stage) {
            for t in held.targets(stage, u) {
                rows.push(PointwiseRow {
                    user: u,
                    item: t.item,
                    rating: t.rating,
                    label: rule.label(t.rating),
                });
            }
        }
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("user", Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.user)))),
            ("item", Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.item)))),
            ("rating", Arc::new(Float32Array::from_iter_values(rows.iter().map(|r| r.rating)))),
            (
                "label",
                Arc::new(BooleanArray::from(rows.iter().map(|r| r.label).collect::<Vec<_>>())),
            ),
        ];
        let schema = Schema::new(
            cols.iter()
                .map(|(n, a)| Field::new(*n, a.data_type().clone(), false))
                .collect::<Vec<_>>(),
        );
        let b = RecordBatch::try_new(Arc::new(schema), cols.into_iter().map(|(_, a)| a).collect())
            .expect("equal lengths");
        let bytes =
            quadrec_data::pq::encode(&b).map_err(|m| SplitError::stored("pointwise view", m))?;
        let LabelRule::RatingAbove(th) = rule;
        Ok(PointwiseView {
            stage,
            rule,
            history_window,
            protocol_id: format!(
                "{}/{}/pointwise-gt{th}-h{history_window}",
                held.meta().id(),
                stage.name()
            ),
            rows_sha256: sha256_hex(&bytes),
            rows,
        })
    }

    /// The input history of a row: the last `history_window` items of the stage history.
    pub fn history<'a>(&self, held: &'a HeldOut, user: u32) -> &'a [u32] {
        let h = held.history(self.stage, user);
        &h[h.len().saturating_sub(self.history_window)..]
    }
}
