//! Running one job = (dataset + split, method entry of the suite, seed): tune on validation,
//! evaluate the selected configuration once per test view, record everything.
//!
//! Protocol rules enforced here (see `../shared/PROTOCOL.md`):
//! - `fit` sees only the [`quadrec_split::TrainView`]; early stopping and the grid search see a
//!   validation probe that returns a number, never the targets.
//! - The test users are scored once per view, after selection, for the selected configuration.
//! - Full ranking masks train items at validation and train + valid items at test (recorded flag);
//!   the test-time input history is train + valid, in time order.

use crate::env::{environment, now_utc, peak_rss_bytes};
use crate::prepared::{EvalUser, Prepared, TestView, ViewKind};
use crate::suite::{MethodSpec, Suite};
use quadrec_core::Seed;
use quadrec_core::hash::Fingerprint;
use quadrec_eval::{
    CandidateQuery, EvalReport, FullRankingOptions, FullRankingQuery, MetricContext, MetricSpec,
    evaluate_candidates, evaluate_full, parse_metric, parse_metrics,
};
use quadrec_method::{FitContext, FitEvent, Method, MethodEntry, UserQuery};
use quadrec_report::record::{
    CellRecord, Cost, MethodInfo, MetricValue, RECORD_SCHEMA, Status, Tuning,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Instant;

/// Users timed one by one for the latency columns.
const LATENCY_USERS: usize = 200;

/// The protocol id of a view: dataset/split/view with parameters. Keys every table.
pub fn protocol_id(p: &Prepared, v: &TestView) -> String {
    format!("{}/{}/{}[{}]", p.dataset, p.split, v.label, v.params)
}

/// Content-addressed cell id: hash of (dataset manifest, split fingerprint, view hash, method
/// key, resolved params of every trial, seed, selection metric, code version).
pub fn cell_id(
    p: &Prepared,
    v: &TestView,
    spec: &MethodSpec,
    trials: &[Value],
    seed: u64,
    suite: &Suite,
    code: &str,
) -> String {
    let trials_json = serde_json::to_string(trials).expect("params serialise");
    let params_json = serde_json::to_string(&spec.params).expect("params serialise");
    Fingerprint::new()
        .part("dataset", &p.dataset_hash)
        .part("split", &p.split_hash)
        .part("view", &v.hash)
        .part("method", spec.key())
        .part("params", params_json)
        .part("trials", trials_json)
        .part("seed", seed.to_le_bytes())
        .part("select_by", &suite.select_by)
        .part("metrics", suite.ranking_metrics.join(","))
        .part("bootstrap", suite.bootstrap.to_le_bytes())
        .part("code", code)
        .finish()[..20]
        .to_string()
}

/// Full-ranking evaluation of `m` on `users` (validation or test).
pub fn eval_full(
    m: &dyn Method,
    users: &[EvalUser],
    n_items: u32,
    metrics: &[MetricSpec],
    popularity: &[u32],
    tie_seed: u64,
) -> anyhow::Result<EvalReport> {
    let fq: Vec<FullRankingQuery> = users
        .iter()
        .map(|u| FullRankingQuery { user: u.user, targets: &u.targets, seen: &u.seen })
        .collect();
    let index: BTreeMap<u32, usize> = users.iter().enumerate().map(|(i, u)| (u.user, i)).collect();
    let ctx = MetricContext { n_items, item_popularity: Some(popularity), long_tail: None };
    let opts = FullRankingOptions { mask_seen: true, block_users: 0, tie_seed, keep_top: 0 };
    let rep = evaluate_full(&fq, n_items, metrics, &ctx, &opts, |block_users, out| {
        let qs: Vec<UserQuery> = block_users
            .iter()
            .map(|u| {
                let e = &users[index[u]];
                UserQuery { user: e.user, history: &e.history }
            })
            .collect();
        m.score_full(&qs, out)
    })?;
    Ok(rep)
}

fn eval_candidates(
    m: &dyn Method,
    users: &[EvalUser],
    cands: &[Vec<u32>],
    n_items: u32,
    metrics: &[MetricSpec],
    popularity: &[u32],
    tie_seed: u64,
) -> anyhow::Result<EvalReport> {
    let cq: Vec<CandidateQuery> = users
        .iter()
        .zip(cands)
        .map(|(u, c)| CandidateQuery { user: u.user, targets: &u.targets, candidates: c })
        .collect();
    let index: BTreeMap<u32, usize> = users.iter().enumerate().map(|(i, u)| (u.user, i)).collect();
    let ctx = MetricContext { n_items, item_popularity: Some(popularity), long_tail: None };
    let rep = evaluate_candidates(&cq, n_items, metrics, &ctx, tie_seed, 0, |user, items, out| {
        let e = &users[index[&user]];
        m.score_items(&UserQuery { user, history: &e.history }, items, out)
    })?;
    Ok(rep)
}

/// The outcome of tuning: the fitted method of the best trial and what the search saw.
pub struct Tuned {
    /// The fitted method of the selected trial.
    pub method: Box<dyn Method>,
    /// Resolved params of the selected trial.
    pub params: Value,
    /// Validation value of the selected trial.
    pub valid: f64,
    /// Tuning record.
    pub tuning: Tuning,
    /// Fit seconds of the selected trial.
    pub train_seconds: f64,
    /// Whole search seconds.
    pub tuning_seconds: f64,
    /// Device of the selected trial.
    pub device: String,
}

/// Fit every trial of `spec` on train and pick the best on VALIDATION (`suite.select_by`).
pub fn tune(
    entry: &MethodEntry,
    spec: &MethodSpec,
    p: &Prepared,
    suite: &Suite,
    seed: u64,
    mut log: impl FnMut(&str),
) -> anyhow::Result<Tuned> {
    let select = parse_metric(&suite.select_by)?;
    let n_items = p.train.n_items();
    let trials = spec.trials();
    let search_start = Instant::now();
    let mut best: Option<Tuned> = None;
    let mut values = Vec::with_capacity(trials.len());
    for (t, point) in trials.iter().enumerate() {
        let layers: [(&str, &Value); 2] = [("suite params", &spec.params), ("suite grid", point)];
        let (resolved, mut method) = entry.build_with(&layers)?;
        let valid_users = &p.valid;
        let popularity = &p.popularity;
        let select_metrics = [select];
        let mut probe = |m: &dyn Method| -> f64 {
            match eval_full(m, valid_users, n_items, &select_metrics, popularity, 0) {
                Ok(r) => r.summary.first().map(|s| s.value).unwrap_or(f64::NAN),
                Err(_) => f64::NAN,
            }
        };
        let mut on_event = |e: &FitEvent| {
            if let FitEvent::Epoch(ep) = e {
                log(&format!(
                    "{} trial {}/{} epoch {} loss {:.4} valid {}",
                    spec.key(),
                    t + 1,
                    trials.len(),
                    ep.epoch,
                    ep.loss,
                    ep.valid.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into())
                ));
            }
        };
        let seed_node = Seed::new(seed).child(&format!("method/{}", spec.key()));
        let fit_start = Instant::now();
        let report = {
            let mut ctx = FitContext::new(seed_node);
            ctx.probe = Some(&mut probe);
            ctx.log = Some(&mut on_event);
            method.fit(&p.train, &mut ctx)?
        };
        let fit_seconds = fit_start.elapsed().as_secs_f64();
        // Trained methods keep the state of their best probe, so its value is the selection
        // value; only methods that never called the probe (closed form, untrained) are scored
        // here. This avoids a second full validation pass per trial (minutes for DIN).
        let v = match report.best_valid {
            Some(v) if !v.is_nan() => v,
            _ => eval_full(method.as_ref(), &p.valid, n_items, &[select], &p.popularity, 0)?
                .summary
                .first()
                .map(|s| s.value)
                .unwrap_or(f64::NAN),
        };
        values.push(v);
        log(&format!(
            "{} trial {}/{}: valid {} = {v:.5} ({fit_seconds:.1} s)",
            spec.key(),
            t + 1,
            trials.len(),
            suite.select_by
        ));
        let better = match &best {
            None => true,
            Some(b) => v > b.valid || (b.valid.is_nan() && !v.is_nan()),
        };
        if better {
            best = Some(Tuned {
                method,
                params: resolved,
                valid: v,
                tuning: Tuning::default(),
                train_seconds: fit_seconds,
                tuning_seconds: 0.0,
                device: report.device.clone(),
            });
        }
    }
    let mut best = best.expect("a method spec has at least one trial");
    best.tuning = Tuning {
        trials: trials.len(),
        budget: if spec.budget == 0 { trials.len() } else { spec.budget },
        select_by: suite.select_by.clone(),
        trial_values: values,
    };
    best.tuning_seconds = search_start.elapsed().as_secs_f64();
    Ok(best)
}

/// Per-user latency (ms) of scoring single users over the full catalogue: p50 and p99.
fn latency(m: &dyn Method, users: &[EvalUser], n_items: u32) -> anyhow::Result<(f64, f64)> {
    let mut buf = vec![0f32; n_items as usize];
    let mut ms = Vec::new();
    for u in users.iter().take(LATENCY_USERS) {
        let q = [UserQuery { user: u.user, history: &u.history }];
        let t = Instant::now();
        m.score_full(&q, &mut buf)?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    if ms.is_empty() {
        return Ok((0.0, 0.0));
    }
    ms.sort_by(f64::total_cmp);
    let q = |p: f64| quadrec_eval::stats::quantile_type7(&ms, p);
    Ok((q(0.5), q(0.99)))
}

/// Evaluate the tuned method on every test view and build the cell records (one per view).
/// Per-user values are written by the caller through `write_per_user`.
pub fn evaluate_views(
    tuned: &Tuned,
    entry: &MethodEntry,
    spec: &MethodSpec,
    p: &Prepared,
    suite: &Suite,
    seed: u64,
    cell_ids: &[String],
    started_at: &str,
    mut write_per_user: impl FnMut(&str, &EvalReport) -> anyhow::Result<String>,
) -> anyhow::Result<Vec<CellRecord>> {
    let metrics = parse_metrics(&suite.ranking_metrics)?;
    let n_items = p.train.n_items();
    let m = tuned.method.as_ref();
    let (p50, p99) = latency(m, &p.test, n_items)?;
    let mut out = Vec::new();
    for (v, cell) in p.views.iter().zip(cell_ids) {
        let t = Instant::now();
        let rep = match v.kind {
            ViewKind::Full => eval_full(m, &p.test, n_items, &metrics, &p.popularity, seed)?,
            ViewKind::Candidates => {
                eval_candidates(m, &p.test, &v.candidates, n_items, &metrics, &p.popularity, seed)?
            }
        };
        let eval_seconds = t.elapsed().as_secs_f64();
        let per_user = write_per_user(cell, &rep)?;
        let mut test = BTreeMap::new();
        for s in &rep.summary {
            let ci = rep.per_user.column(&s.metric).and_then(|col| {
                let vals: Vec<f64> = col.iter().copied().filter(|x| !x.is_nan()).collect();
                quadrec_eval::stats::bootstrap_ci(
                    &vals,
                    0.95,
                    suite.bootstrap,
                    Seed::new(seed).child(&format!("bootstrap/{cell}/{}", s.metric)),
                )
                .ok()
            });
            let (lo, hi) = ci.map(|c| (c.lo, c.hi)).unwrap_or((s.value, s.value));
            test.insert(
                s.metric.clone(),
                MetricValue { mean: s.value, ci_low: lo, ci_high: hi, n: s.n_users },
            );
        }
        let n_users = p.test.len();
        out.push(CellRecord {
            schema: RECORD_SCHEMA,
            cell_id: cell.clone(),
            suite: suite.name.clone(),
            dataset: p.dataset.clone(),
            dataset_hash: p.dataset_hash.clone(),
            split: p.split.clone(),
            split_hash: p.split_hash.clone(),
            view: v.label.clone(),
            view_hash: v.hash.clone(),
            protocol: protocol_id(p, v),
            method: method_info(entry, spec),
            params: tuned.params.clone(),
            seed,
            status: Status::Ok,
            error: None,
            test,
            valid: BTreeMap::from([(suite.select_by.clone(), tuned.valid)]),
            tuning: tuned.tuning.clone(),
            cost: Cost {
                train_seconds: tuned.train_seconds,
                eval_seconds,
                tuning_seconds: tuned.tuning_seconds,
                latency_p50_ms: p50,
                latency_p99_ms: p99,
                throughput_users_per_s: if eval_seconds > 0.0 {
                    n_users as f64 / eval_seconds
                } else {
                    0.0
                },
                n_parameters: m.n_parameters(),
                peak_rss_bytes: peak_rss_bytes(),
                lm_tokens: 0,
            },
            per_user: Some(per_user),
            prompt_hashes: BTreeMap::new(),
            weight_hashes: BTreeMap::new(),
            user_sample: "all".into(),
            env: environment(if tuned.device.is_empty() { "rust" } else { &tuned.device }),
            started_at: started_at.to_string(),
            finished_at: now_utc(),
        });
    }
    Ok(out)
}

/// Survey metadata of a suite method entry.
pub fn method_info(entry: &MethodEntry, spec: &MethodSpec) -> MethodInfo {
    let snake = |x: String| x.trim_matches('"').to_string();
    MethodInfo {
        id: entry.id.to_string(),
        display: entry.display_name.to_string(),
        stage: snake(serde_json::to_string(&entry.stage).unwrap_or_default()),
        task: snake(serde_json::to_string(&entry.task).unwrap_or_default()),
        quadrant: snake(serde_json::to_string(&entry.quadrant).unwrap_or_default()),
        family: snake(serde_json::to_string(&entry.family).unwrap_or_default()),
        lm_parameters: None,
        variant: spec.label.clone(),
    }
}

/// A failed cell's record: listed in reports with its error, never dropped.
pub fn failed_record(
    entry: Option<&MethodEntry>,
    spec: &MethodSpec,
    p: &Prepared,
    v: &TestView,
    suite: &Suite,
    seed: u64,
    cell: &str,
    err: &anyhow::Error,
    started_at: &str,
) -> CellRecord {
    let method = entry.map(|e| method_info(e, spec)).unwrap_or_else(|| MethodInfo {
        id: spec.id.clone(),
        display: spec.id.clone(),
        stage: String::new(),
        task: String::new(),
        quadrant: String::new(),
        family: String::new(),
        lm_parameters: None,
        variant: spec.label.clone(),
    });
    CellRecord {
        schema: RECORD_SCHEMA,
        cell_id: cell.to_string(),
        suite: suite.name.clone(),
        dataset: p.dataset.clone(),
        dataset_hash: p.dataset_hash.clone(),
        split: p.split.clone(),
        split_hash: p.split_hash.clone(),
        view: v.label.clone(),
        view_hash: v.hash.clone(),
        protocol: protocol_id(p, v),
        method,
        params: spec.params.clone(),
        seed,
        status: Status::Failed,
        error: Some(format!("{err:#}")),
        test: BTreeMap::new(),
        valid: BTreeMap::new(),
        tuning: Tuning::default(),
        cost: Cost::default(),
        per_user: None,
        prompt_hashes: BTreeMap::new(),
        weight_hashes: BTreeMap::new(),
        user_sample: "all".into(),
        env: environment("rust"),
        started_at: started_at.to_string(),
        finished_at: now_utc(),
    }
}
