//! The fair baseline of the few-shot LM rows: a conventional recommender from
//! `quadrec_models::CRM_TABLE` trained on exactly the same k train interactions as `tallrec` /
//! `rella` with the same `kshot` params (same rows: the draw depends on `kshot.subset_seed`
//! only), or on all train rows (`kshot.k = 0`).
//!
//! Paper: the comparison TALLRec (Bao et al., RecSys 2023) makes against conventional models
//! trained on the same few-shot samples; the survey asks for CRMs trained on the same k rows
//! and on all rows next to every few-shot LM result.
//! Survey: stage scoring/ranking, task item scoring, conventional (no LM).
//!
//! Differences: the CRM keeps its own objective (implicit feedback with sampled negatives for
//! the CTR models and BPR), so rows with rating <= 3 count as interactions for it, while the LM
//! methods learn the TALLRec label (rating > 3) from them; both are evaluated on the same views.
//! Early stopping uses the shared validation probe, as for every CRM.

use crate::kshot::KShot;
use quadrec_method::{
    FitContext, FitEvent, FitReport, Method, MethodError, ParamsError, Provenance, UserQuery,
    find_entry, parse_params,
};
use quadrec_split::TrainView;
use serde::{Deserialize, Serialize};

/// Registry id.
pub const ID: &str = "kshot-crm";

/// Params of `kshot-crm`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KShotCrmParams {
    /// Registry id of the conventional model in `CRM_TABLE` (`din`, `deepfm`, `bpr`, ...).
    pub crm: String,
    /// Which train rows it learns from (`k = 0`: all rows).
    pub kshot: KShot,
    /// Cap on the CRM's training epochs (`train.epochs`); 0 = the CRM's default recipe.
    pub epochs: usize,
}

impl Default for KShotCrmParams {
    fn default() -> Self {
        KShotCrmParams { crm: "din".into(), kshot: KShot::default(), epochs: 0 }
    }
}

/// A CRM trained on a k-shot subset.
pub struct KShotCrm {
    p: KShotCrmParams,
    inner: Box<dyn Method>,
}

impl Method for KShotCrm {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let sub = self.p.kshot.view(train);
        ctx.emit(FitEvent::Note(format!(
            "{ID}: {} trained on {} of {} train rows (subset_seed {})",
            self.p.crm,
            sub.interactions().len(),
            train.interactions().len(),
            self.p.kshot.subset_seed
        )));
        self.inner.fit(&sub, ctx)
    }

    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        self.inner.score_full(queries, out)
    }

    fn score_items(
        &self,
        query: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        self.inner.score_items(query, items, out)
    }

    fn n_parameters(&self) -> u64 {
        self.inner.n_parameters()
    }

    fn provenance(&self) -> Provenance {
        self.inner.provenance()
    }
}

/// Build `kshot-crm`: resolves the inner CRM and its params now, so a bad id or an epoch cap on
/// a CRM without a training loop fails before any fitting.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: KShotCrmParams = parse_params(ID, v)?;
    let invalid = |message: String| ParamsError::Invalid { method: ID.into(), message };
    p.kshot.validate().map_err(invalid)?;
    let e = find_entry(quadrec_models::CRM_TABLE, &p.crm)
        .map_err(|e| invalid(format!("param `crm`: {e}")))?;
    let layer = if p.epochs > 0 {
        serde_json::json!({"train": {"epochs": p.epochs}})
    } else {
        serde_json::json!({})
    };
    let (_, inner) = e
        .build_with(&[("kshot-crm epochs", &layer)])
        .map_err(|err| invalid(format!("param `crm` = {}: {err}", p.crm)))?;
    Ok(Box::new(KShotCrm { p, inner }))
}

/// Smoke params: BPR-MF on 12 rows, few epochs.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"crm": "bpr", "kshot": {"k": 12}, "epochs": 3})
}
