//! The conversational recommenders of [`crate::conv`] as registered suite methods
//! (`conv-retrieval`, `conv-personalised`, `conv-rerank`): they read the natural-language request
//! of a user through [`Method::score_request`] and run on the runner's conversational views
//! (`conv`, `conv@u<N>`), whose requests are composed by [`crate::request::compose`] from each
//! user's held-out item (the chat benchmark's composer, templates and request seed).
//!
//! They answer requests only: `score_full` / `score_items` are errors (a request-free ranking
//! would be a different method). Scores are rank-based over the whole catalogue: the
//! method's ordered list gets `n - rank`; for the re-ranker, its re-ranked top-`rerank_n` sit
//! above every other item (`2n - rank`) and the rest keep the personalised order; items of the
//! user's input history (excluded by every method) get `-1e9` (the runner masks them anyway).
//!
//! Model selection: the blend weight of `conv-personalised` and `conv-rerank` is chosen on the
//! VALIDATION requests through the fit probe (the runner's `select_by` on the conversational
//! view's validation phase), scoring the personalised list for every grid value; the re-ranker
//! then re-ranks the selected list (as the chat benchmark, which selected on validation hit@10).

use crate::conv::{ConvConfig, ConvMethod, ConvRecommender};
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, Provenance, TrainView, UserQuery,
    parse_params,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Registry id of MiniLM request retrieval.
pub const RETRIEVAL_ID: &str = "conv-retrieval";
/// Registry id of CRM-personalised retrieval.
pub const PERSONALISED_ID: &str = "conv-personalised";
/// Registry id of SmolLM2 re-ranking of the personalised list.
pub const RERANK_ID: &str = "conv-rerank";

/// Params of `conv-retrieval` (none: MiniLM request embedding vs cached item embeddings).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrievalParams {}

/// Params of `conv-personalised`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersonalisedParams {
    /// CRM registry id (fitted on train only).
    pub crm: String,
    /// Params per CRM id (every top-N CRM's defaults; only `crm_params[crm]` is used).
    pub crm_params: BTreeMap<String, Value>,
    /// Blend weights of the CRM's z-scores tried on validation (one value = fixed).
    pub blend_grid: Vec<f32>,
}

impl Default for PersonalisedParams {
    fn default() -> Self {
        PersonalisedParams {
            crm: "ease".into(),
            crm_params: crate::pipeline::retriever_defaults(),
            blend_grid: vec![0.0, 0.25, 0.5, 0.75, 0.9],
        }
    }
}

/// Params of `conv-rerank`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RerankParams {
    /// CRM registry id of the personalised base list.
    pub crm: String,
    /// Params per CRM id (only `crm_params[crm]` is used).
    pub crm_params: BTreeMap<String, Value>,
    /// Blend weights tried on validation for the base list.
    pub blend_grid: Vec<f32>,
    /// Candidates SmolLM2 re-ranks (the top of the base list).
    pub rerank_n: usize,
    /// History items (with train ratings) shown to the LM.
    pub history_items: usize,
}

impl Default for RerankParams {
    fn default() -> Self {
        let p = PersonalisedParams::default();
        RerankParams {
            crm: p.crm,
            crm_params: p.crm_params,
            blend_grid: p.blend_grid,
            rerank_n: 20,
            history_items: 10,
        }
    }
}

/// One of the three conversational methods.
pub struct ConvSuiteMethod {
    id: &'static str,
    kind: ConvMethod,
    config: ConvConfig,
    blend_grid: Vec<f32>,
    rec: Option<Mutex<ConvRecommender>>,
    /// While selecting the blend weight, the re-ranker answers with its base list.
    base_only: bool,
}

impl ConvSuiteMethod {
    fn err(&self, m: impl ToString) -> MethodError {
        MethodError::Data { method: self.id.into(), message: m.to_string() }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, ConvRecommender>, MethodError> {
        let rec = self.rec.as_ref().ok_or(MethodError::NotFitted { method: self.id.into() })?;
        Ok(rec.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The selected blend weight (after fit).
    pub fn blend(&self) -> Option<f32> {
        self.lock().ok().map(|r| r.config.blend)
    }

    fn request_only(&self) -> MethodError {
        self.err("a conversational method scores natural-language requests only (run it on a `conv` view)")
    }
}

impl Method for ConvSuiteMethod {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let t0 = std::time::Instant::now();
        let with_crm = self.kind != ConvMethod::Retrieval;
        let rec = ConvRecommender::new(train, self.config.clone(), with_crm, ctx.seed)
            .map_err(|e| self.err(e))?;
        self.rec = Some(Mutex::new(rec));
        let mut best_valid = None;
        if with_crm {
            // Blend weight on validation requests only (the probe); ties keep the earlier value.
            let mut best: Option<(f32, f64)> = None;
            if self.blend_grid.len() > 1 && ctx.probe.is_some() {
                self.base_only = true;
                for &w in &self.blend_grid {
                    self.lock()?.config.blend = w;
                    let v = ctx.probe(&*self).unwrap_or(f64::NAN);
                    ctx.emit(quadrec_method::FitEvent::Note(format!(
                        "{}: blend {w}: valid {v:.4}",
                        self.id
                    )));
                    if best.is_none_or(|(_, b)| v > b || (b.is_nan() && !v.is_nan())) {
                        best = Some((w, v));
                    }
                }
                self.base_only = false;
            }
            let w = best.map_or(self.blend_grid[0], |(w, _)| w);
            self.lock()?.config.blend = w;
            // The re-ranker's validation value is that of its selected base list.
            best_valid = best.map(|(_, v)| v).filter(|v| !v.is_nan());
        }
        if self.kind == ConvMethod::Rerank {
            self.lock()?.load_lm().map_err(|e| self.err(e))?;
        }
        Ok(FitReport {
            best_valid,
            fit_seconds: t0.elapsed().as_secs_f64(),
            device: quadrec_lmrec::backend_name().into(),
            ..FitReport::default()
        })
    }
    fn score_full(&self, _q: &[UserQuery], _out: &mut [f32]) -> Result<(), MethodError> {
        Err(self.request_only())
    }
    fn score_items(&self, _q: &UserQuery, _i: &[u32], _o: &mut [f32]) -> Result<(), MethodError> {
        Err(self.request_only())
    }
    fn n_parameters(&self) -> u64 {
        self.lock().map_or(0, |r| r.crm_parameters())
    }
    fn lm_tokens(&self) -> u64 {
        self.lock().map_or(0, |r| r.lm_tokens())
    }
    fn provenance(&self) -> Provenance {
        let mut p = ConvRecommender::provenance();
        if self.kind != ConvMethod::Rerank {
            // Only the re-ranker runs SmolLM2 and its prompts.
            p.prompt_hashes.clear();
            p.weight_hashes.retain(|k, _| k == "all-MiniLM-L6-v2");
        }
        p
    }
    fn reads_requests(&self) -> bool {
        true
    }
    fn score_request(
        &self,
        q: &UserQuery,
        request: &str,
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        let mut rec = self.lock()?;
        let n = rec.items().len();
        if out.len() != n {
            return Err(MethodError::Shape { method: self.id.into(), expected: n, got: out.len() });
        }
        let user = Some((q.user, q.history));
        let base_kind = if self.kind == ConvMethod::Retrieval {
            ConvMethod::Retrieval
        } else {
            ConvMethod::Personalised
        };
        let base = rec.recommend(base_kind, user, request, n).map_err(|e| self.err(e))?;
        out.fill(-1e9);
        for (r, x) in base.iter().enumerate() {
            out[x.item as usize] = (n - r) as f32;
        }
        if self.kind == ConvMethod::Rerank && !self.base_only {
            let k = rec.config.rerank_n;
            let top =
                rec.recommend(ConvMethod::Rerank, user, request, k).map_err(|e| self.err(e))?;
            for (r, x) in top.iter().enumerate() {
                out[x.item as usize] = (2 * n - r) as f32;
            }
        }
        Ok(())
    }
}

fn method(
    id: &'static str,
    kind: ConvMethod,
    config: ConvConfig,
    blend_grid: Vec<f32>,
) -> Result<Box<dyn Method>, ParamsError> {
    if kind != ConvMethod::Retrieval && blend_grid.iter().any(|w| !(0.0..=1.0).contains(w)) {
        return Err(ParamsError::Invalid {
            method: id.into(),
            message: format!("blend_grid values must lie in [0, 1], got {blend_grid:?}"),
        });
    }
    if kind != ConvMethod::Retrieval && blend_grid.is_empty() {
        return Err(ParamsError::Invalid {
            method: id.into(),
            message: "blend_grid is empty".into(),
        });
    }
    Ok(Box::new(ConvSuiteMethod { id, kind, config, blend_grid, rec: None, base_only: false }))
}

/// The config of CRM `crm` with its params from `per`, built once so that bad params fail now.
fn crm_config(
    id: &str,
    crm: String,
    mut per: BTreeMap<String, Value>,
) -> Result<ConvConfig, ParamsError> {
    let invalid = |m: String| ParamsError::Invalid { method: id.into(), message: m };
    let e = quadrec_method::find_entry(quadrec_models::CRM_TABLE, &crm)
        .map_err(|e| invalid(format!("crm: {e}")))?;
    if e.task != quadrec_method::Task::TopNRanking {
        return Err(invalid(format!("crm `{crm}` is not a top-N ranker")));
    }
    let crm_params = per.remove(&crm).unwrap_or_else(|| (e.default_params)());
    e.build_with(&[("crm_params", &crm_params)])?;
    Ok(ConvConfig { crm, crm_params, ..ConvConfig::default() })
}

/// Registry constructor of `conv-retrieval`.
pub fn build_retrieval(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let _: RetrievalParams = parse_params(RETRIEVAL_ID, v)?;
    method(RETRIEVAL_ID, ConvMethod::Retrieval, ConvConfig::default(), vec![])
}

/// Registry constructor of `conv-personalised`.
pub fn build_personalised(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: PersonalisedParams = parse_params(PERSONALISED_ID, v)?;
    let config = crm_config(PERSONALISED_ID, p.crm, p.crm_params)?;
    method(PERSONALISED_ID, ConvMethod::Personalised, config, p.blend_grid)
}

/// Registry constructor of `conv-rerank`.
pub fn build_rerank(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: RerankParams = parse_params(RERANK_ID, v)?;
    if p.rerank_n == 0 {
        return Err(ParamsError::Invalid {
            method: RERANK_ID.into(),
            message: "rerank_n must be >= 1".into(),
        });
    }
    let config = ConvConfig {
        rerank_n: p.rerank_n,
        history_items: p.history_items,
        ..crm_config(RERANK_ID, p.crm, p.crm_params)?
    };
    method(RERANK_ID, ConvMethod::Rerank, config, p.blend_grid)
}

/// Smoke params of `conv-retrieval`.
pub fn smoke_retrieval() -> serde_json::Value {
    serde_json::json!({})
}

/// Smoke params of `conv-personalised` (a strongly regularised EASE for tiny data).
pub fn smoke_personalised() -> serde_json::Value {
    serde_json::json!({"crm_params": {"ease": {"reg_weight": 10.0}}, "blend_grid": [0.0, 0.5]})
}

/// Smoke params of `conv-rerank`.
pub fn smoke_rerank() -> serde_json::Value {
    serde_json::json!({"crm_params": {"ease": {"reg_weight": 10.0}}, "blend_grid": [0.5], "rerank_n": 3, "history_items": 3})
}
