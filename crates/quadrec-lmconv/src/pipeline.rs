//! Filter-then-rerank pipelines (pipeline-controller stage, Q2: frozen LM + CRM).
//!
//! - `pipeline`: a retriever CRM from `quadrec_models::CRM_TABLE` (param `retriever`, fitted on
//!   train only, with the validation probe passed through for its own early stopping) ranks the
//!   items; its top-`top_n` unseen items are re-ranked by SmolLM2's P(Yes) to "will the user
//!   enjoy this movie?" given the user's recent history (TALLRec-style Yes/No, one shared prefix
//!   per user, see [`crate::yesno`]); the other items keep the retriever's order below them.
//! - `controller`: the same pipeline, but a policy sends only HARD users to the LM: those whose
//!   retriever margin between its two best candidates is small. The margin is scale-free,
//!   `(s1 - s2) / std(candidate scores)`. The threshold is chosen online to meet the budget: a
//!   user goes to the LM when its margin is within the lowest `budget` fraction of the margins
//!   seen so far (itself included) AND the calls so far stay within `ceil(budget * users seen)`,
//!   a hard cap that holds after every call, whatever the order of users. Users not sent keep
//!   the retriever's scores. `budget = 0` is the retriever alone, `budget = 1` the pipeline.
//!   Counters are reset at the end of `fit`, so the budget is spent on the evaluated users only.
//!
//! Scores: LM-re-ranked items get P(Yes) in (0, 1); every other item gets its retriever score
//! shifted below -1 (order kept), so the evaluator's ranking is "LM top-N first, then the rest".
//! Both are ranking methods: pointwise views get P(Yes) only for users sent to the LM.
//!
//! Differences from the literature: filter-then-rerank pipelines in the survey use larger LMs
//! and list-wise prompts; here the re-ranker is the pinned SmolLM2-135M-Instruct, point-wise,
//! zero-shot.

use crate::yesno::YesNoScorer;
use quadrec_lmrec::text::{HistoryStyle, PromptTemplate, history_block, item_line};
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, Provenance, Task, TrainView,
    UserQuery, find_entry, parse_params,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Prompt prefix (shared per user).
pub const PIPE_PREFIX: PromptTemplate = PromptTemplate {
    name: "pipeline/yesno-prefix/v1",
    text: "Movies the user watched, oldest first (rating out of 5 where known):\n{history}\nWill the user enjoy the following movie? Answer Yes or No.\n",
};
/// Prompt suffix (per candidate).
pub const PIPE_SUFFIX: PromptTemplate =
    PromptTemplate { name: "pipeline/yesno-suffix/v1", text: "Movie: {item}" };
/// System message.
pub const PIPE_SYSTEM: &str = "You are a movie recommender. Answer with Yes or No.";

/// Default params of every top-N retriever of the CRM table, keyed by id (so that nested
/// overrides are checked against the real keys of each retriever).
pub(crate) fn retriever_defaults() -> BTreeMap<String, Value> {
    quadrec_models::CRM_TABLE
        .iter()
        .filter(|e| e.task == Task::TopNRanking)
        .map(|e| (e.id.to_string(), (e.default_params)()))
        .collect()
}

/// Params of `pipeline`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineParams {
    /// Retriever CRM id (a top-N method of `CRM_TABLE`).
    pub retriever: String,
    /// Params per retriever id; only `retriever_params[retriever]` is used.
    pub retriever_params: BTreeMap<String, Value>,
    /// Items per user re-ranked by the LM.
    pub top_n: usize,
    /// Most recent history items shown in the prompt.
    pub history_items: usize,
}

impl Default for PipelineParams {
    fn default() -> Self {
        PipelineParams {
            retriever: "ease".into(),
            retriever_params: retriever_defaults(),
            top_n: 10,
            history_items: 10,
        }
    }
}

/// Params of `controller`: the pipeline's, plus the LM-call budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControllerParams {
    /// Retriever CRM id (a top-N method of `CRM_TABLE`).
    pub retriever: String,
    /// Params per retriever id; only `retriever_params[retriever]` is used.
    pub retriever_params: BTreeMap<String, Value>,
    /// Items per user re-ranked by the LM (for users sent to it).
    pub top_n: usize,
    /// Most recent history items shown in the prompt.
    pub history_items: usize,
    /// Fraction of scored users that may go to the LM, in [0, 1].
    pub budget: f64,
}

impl Default for ControllerParams {
    fn default() -> Self {
        let p = PipelineParams::default();
        ControllerParams {
            retriever: p.retriever,
            retriever_params: p.retriever_params,
            top_n: p.top_n,
            history_items: p.history_items,
            budget: 0.25,
        }
    }
}

/// Counters of the controller (interior mutability: scoring takes `&self`).
#[derive(Debug, Default)]
struct Counters {
    users: AtomicU64,
    calls: AtomicU64,
    margins: Mutex<Vec<f64>>,
}

/// The pipeline (and, with a budget below 1, the controller).
pub struct Pipeline {
    id: &'static str,
    retriever_id: String,
    retriever_params: Value,
    top_n: usize,
    history_items: usize,
    budget: f64,
    retriever: Option<Box<dyn Method>>,
    train: Option<TrainView>,
    ratings: BTreeMap<(u32, u32), f32>,
    lm: Option<YesNoScorer>,
    counters: Counters,
}

fn invalid(id: &str, message: String) -> ParamsError {
    ParamsError::Invalid { method: id.into(), message }
}

impl Pipeline {
    #[allow(clippy::too_many_arguments)]
    fn new(
        id: &'static str,
        retriever: String,
        mut per: BTreeMap<String, Value>,
        top_n: usize,
        history_items: usize,
        budget: f64,
    ) -> Result<Self, ParamsError> {
        let e = find_entry(quadrec_models::CRM_TABLE, &retriever)
            .map_err(|e| invalid(id, format!("retriever: {e}")))?;
        if e.task != Task::TopNRanking {
            return Err(invalid(id, format!("retriever `{retriever}` is not a top-N ranker")));
        }
        let rp = per.remove(&retriever).unwrap_or_else(|| (e.default_params)());
        // Build once now so that bad retriever params fail at build time, not after hours.
        e.build_with(&[("retriever_params", &rp)])?;
        if top_n == 0 {
            return Err(invalid(id, "top_n must be >= 1".into()));
        }
        if !(0.0..=1.0).contains(&budget) {
            return Err(invalid(id, format!("budget must be in [0, 1], got {budget}")));
        }
        Ok(Pipeline {
            id,
            retriever_id: retriever,
            retriever_params: rp,
            top_n,
            history_items,
            budget,
            retriever: None,
            train: None,
            ratings: BTreeMap::new(),
            lm: None,
            counters: Counters::default(),
        })
    }

    /// LM calls (users sent to the LM) since the end of `fit`.
    pub fn lm_calls(&self) -> u64 {
        self.counters.calls.load(Ordering::Relaxed)
    }

    /// Users scored since the end of `fit`.
    pub fn users_scored(&self) -> u64 {
        self.counters.users.load(Ordering::Relaxed)
    }

    fn not_fitted(&self) -> MethodError {
        MethodError::NotFitted { method: self.id.into() }
    }

    /// Decide whether this user goes to the LM (and count it).
    fn route(&self, margin: f64) -> bool {
        let c = &self.counters;
        let seen = c.users.fetch_add(1, Ordering::Relaxed) + 1;
        if self.budget >= 1.0 {
            c.calls.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        if self.budget <= 0.0 {
            return false;
        }
        let mut m = c.margins.lock().unwrap_or_else(|p| p.into_inner());
        m.push(margin);
        let below = m.iter().filter(|&&x| x < margin).count() as f64;
        let hard = (below / m.len() as f64) < self.budget;
        let cap = (self.budget * seen as f64).ceil() as u64;
        if hard && c.calls.load(Ordering::Relaxed) < cap {
            c.calls.fetch_add(1, Ordering::Relaxed);
            true
        } else {
            false
        }
    }

    /// Rewrite `out` (retriever scores of `items`) for one user: top-N by retriever among
    /// `eligible` items -> LM if routed.
    fn rerank(
        &self,
        q: &UserQuery,
        items: &[u32],
        eligible: &[bool],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        let mut order: Vec<usize> = (0..items.len()).filter(|&k| eligible[k]).collect();
        order.sort_by(|&a, &b| out[b].total_cmp(&out[a]).then(items[a].cmp(&items[b])));
        let top: Vec<usize> = order.iter().copied().take(self.top_n).collect();
        if top.is_empty() {
            return Ok(());
        }
        let margin = if order.len() < 2 {
            f64::INFINITY
        } else {
            let v: Vec<f64> = order.iter().map(|&k| out[k] as f64).collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let sd =
                (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / v.len() as f64).sqrt();
            if sd > 0.0 { (v[0] - v[1]) / sd } else { 0.0 }
        };
        if !self.route(margin) {
            return Ok(());
        }
        let train = self.train.as_ref().ok_or_else(|| self.not_fitted())?;
        let lm = self.lm.as_ref().ok_or_else(|| self.not_fitted())?;
        let its = train.items();
        let hist = history_block(its, q.history, self.history_items, HistoryStyle::Title, |i| {
            self.ratings.get(&(q.user, i)).copied()
        });
        let hist = if hist.is_empty() { "(none)".to_string() } else { hist };
        let open = PIPE_PREFIX.render(&[("history", &hist)]).expect("fixed slots");
        let suffixes: Vec<String> = top
            .iter()
            .map(|&k| {
                PIPE_SUFFIX
                    .render(&[("item", &item_line(its, items[k], HistoryStyle::TitleGenres))])
                    .expect("fixed slots")
            })
            .collect();
        let p = lm
            .score(PIPE_SYSTEM, &open, &suffixes)
            .map_err(|e| MethodError::Data { method: self.id.into(), message: e.to_string() })?;
        // Items outside the top-N go below -1, keeping their order.
        let max_rest = (0..items.len())
            .filter(|k| !top.contains(k))
            .map(|k| out[k])
            .fold(f32::NEG_INFINITY, f32::max);
        if max_rest.is_finite() {
            for (k, o) in out.iter_mut().enumerate() {
                if !top.contains(&k) {
                    *o = *o - max_rest - 1.0;
                }
            }
        }
        for (&k, yn) in top.iter().zip(&p) {
            out[k] = yn.p_yes;
        }
        Ok(())
    }
}

impl Method for Pipeline {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let t0 = Instant::now();
        let e = find_entry(quadrec_models::CRM_TABLE, &self.retriever_id)
            .map_err(|e| MethodError::Data { method: self.id.into(), message: e.to_string() })?;
        let (_, mut r) = e.build_with(&[("retriever_params", &self.retriever_params)])?;
        // The retriever's own early stopping may use the validation probe (validation only).
        let seed = ctx.seed.child("retriever");
        let has_probe = ctx.probe.is_some();
        let mut forward = |m: &dyn Method| -> f64 { ctx.probe(m).unwrap_or(f64::NAN) };
        let mut sub = FitContext::new(seed);
        if has_probe {
            sub = sub.with_probe(&mut forward);
        }
        let rep = r.fit(train, &mut sub)?;
        self.retriever = Some(r);
        self.ratings = train.interactions().iter().map(|x| ((x.user, x.item), x.rating)).collect();
        self.train = Some(train.clone());
        if self.budget > 0.0 && self.lm.is_none() {
            self.lm = Some(YesNoScorer::load().map_err(|e| MethodError::Data {
                method: self.id.into(),
                message: e.to_string(),
            })?);
        }
        self.counters = Counters::default();
        Ok(FitReport {
            epochs_run: rep.epochs_run,
            best_epoch: rep.best_epoch,
            best_valid: rep.best_valid,
            fit_seconds: t0.elapsed().as_secs_f64(),
            epochs: rep.epochs,
            device: rep.device,
            checkpoint: rep.checkpoint,
        })
    }

    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        let r = self.retriever.as_ref().ok_or_else(|| self.not_fitted())?;
        r.score_full(queries, out)?;
        let n = self.train.as_ref().ok_or_else(|| self.not_fitted())?.n_items() as usize;
        let all: Vec<u32> = (0..n as u32).collect();
        for (q, row) in queries.iter().zip(out.chunks_mut(n)) {
            let mut eligible = vec![true; n];
            for &h in q.history {
                if let Some(e) = eligible.get_mut(h as usize) {
                    *e = false;
                }
            }
            self.rerank(q, &all, &eligible, row)?;
        }
        Ok(())
    }

    fn score_items(
        &self,
        query: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        let r = self.retriever.as_ref().ok_or_else(|| self.not_fitted())?;
        r.score_items(query, items, out)?;
        let eligible = vec![true; items.len()];
        self.rerank(query, items, &eligible, out)
    }

    fn n_parameters(&self) -> u64 {
        // The LM is frozen: only the retriever's fitted parameters count.
        self.retriever.as_ref().map_or(0, |r| r.n_parameters())
    }

    fn lm_tokens(&self) -> u64 {
        self.lm.as_ref().map_or(0, |l| l.meter.get())
    }

    fn provenance(&self) -> Provenance {
        let mut p = Provenance::default();
        if self.budget > 0.0 {
            for t in [PIPE_PREFIX, PIPE_SUFFIX] {
                p.prompt_hashes.insert(t.name.into(), t.sha256());
            }
            p.prompt_hashes.insert(
                "pipeline/yesno-system/v1".into(),
                quadrec_core::hash::sha256_hex(PIPE_SYSTEM.as_bytes()),
            );
            p.weight_hashes.insert(
                "SmolLM2-135M-Instruct".into(),
                quadrec_lm::assets::smollm2_model_hash().into(),
            );
        }
        p
    }
}

/// Registry constructor of `pipeline`.
pub fn build_pipeline(v: &Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: PipelineParams = parse_params("pipeline", v)?;
    Ok(Box::new(Pipeline::new(
        "pipeline",
        p.retriever,
        p.retriever_params,
        p.top_n,
        p.history_items,
        1.0,
    )?))
}

/// Registry constructor of `controller`.
pub fn build_controller(v: &Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: ControllerParams = parse_params("controller", v)?;
    Ok(Box::new(Pipeline::new(
        "controller",
        p.retriever,
        p.retriever_params,
        p.top_n,
        p.history_items,
        p.budget,
    )?))
}

/// Smoke params (tests on tiny data): EASE retriever, 3 candidates, 4 history items.
pub fn smoke_pipeline() -> Value {
    serde_json::json!({"retriever": "ease", "retriever_params": {"ease": {"reg_weight": 10.0}},
        "top_n": 3, "history_items": 4})
}

/// Smoke params of the controller (half of the users to the LM).
pub fn smoke_controller() -> Value {
    let mut v = smoke_pipeline();
    v["budget"] = serde_json::json!(0.5);
    v
}

/// Build a concrete [`Pipeline`] (not boxed) from controller-style params, for tests and
/// benchmarks that read [`Pipeline::lm_calls`].
pub fn controller_from(v: &Value) -> Result<Pipeline, ParamsError> {
    let merged = quadrec_method::merge_params(
        "controller",
        &serde_json::to_value(ControllerParams::default()).expect("serialises"),
        &[("params", v)],
    )?;
    let p: ControllerParams = parse_params("controller", &merged)?;
    Pipeline::new("controller", p.retriever, p.retriever_params, p.top_n, p.history_items, p.budget)
}
