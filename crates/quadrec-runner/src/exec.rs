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
use crate::prepared::{EvalUser, PhaseView, Prepared, TestView, ViewKind};
use crate::suite::{MethodSpec, Suite};
use anyhow::Context;
use quadrec_core::Seed;
use quadrec_core::hash::Fingerprint;
use quadrec_eval::{
    CandidateQuery, EvalReport, FullRankingOptions, FullRankingQuery, MetricContext, MetricSpec,
    evaluate_candidates, evaluate_full, parse_metric, parse_metrics,
};
use quadrec_method::{FitContext, FitEvent, Method, MethodEntry, Provenance, UserQuery};
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
/// key, resolved params of every trial, prompt-template and model-weight hashes, seed, probe
/// view hash, selection metric, code version).
#[allow(clippy::too_many_arguments)]
pub fn cell_id(
    p: &Prepared,
    v: &TestView,
    probe: &TestView,
    spec: &MethodSpec,
    trials: &[Value],
    provenance: &Provenance,
    seed: u64,
    suite: &Suite,
    resolved: &[Value],
    code: &str,
) -> String {
    let trials_json = serde_json::to_string(trials).expect("params serialise");
    // The fully resolved params of every trial (defaults included): a changed default moves
    // the id even in a build whose code version does not change (an uncommitted tree).
    let resolved_json = serde_json::to_string(resolved).expect("params serialise");
    let params_json = serde_json::to_string(&spec.params).expect("params serialise");
    let mut f = Fingerprint::new()
        .part("dataset", &p.dataset_hash)
        .part("split", &p.split_hash)
        .part("view", &v.hash)
        .part("method", spec.key())
        .part("params", params_json)
        .part("trials", trials_json)
        .part("resolved", resolved_json);
    // Only methods with prompts or pretrained weights add these parts, so the ids of
    // conventional methods do not move when the field was introduced.
    if !provenance.prompt_hashes.is_empty() || !provenance.weight_hashes.is_empty() {
        f = f
            .part("prompts", serde_json::to_string(&provenance.prompt_hashes).expect("map"))
            .part("weights", serde_json::to_string(&provenance.weight_hashes).expect("map"));
    }
    // The view whose validation phase selects the trial and stops training (the method's first
    // view): listing `["pointwise", "closed"]` instead of `["closed", "pointwise"]` changes
    // what is selected, so it must change the id of every cell of the method.
    f.part("seed", seed.to_le_bytes())
        .part("probe", &probe.hash)
        .part("select_by", &suite.select_by)
        .part("metrics", suite.ranking_metrics.join(","))
        .part("bootstrap", suite.bootstrap.to_le_bytes())
        .part("code", code)
        .finish()[..20]
        .to_string()
}

/// The resolved params (registry defaults < suite params < grid point) of every trial of `spec`.
pub fn resolved_trials(entry: &MethodEntry, spec: &MethodSpec) -> anyhow::Result<Vec<Value>> {
    spec.trials()
        .iter()
        .map(|point| {
            let layers: [(&str, &Value); 2] =
                [("suite params", &spec.params), ("suite grid", point)];
            Ok(quadrec_method::merge_params(entry.id, &(entry.default_params)(), &layers)?)
        })
        .collect()
}

/// Prompt and weight hashes of every trial of `spec` (their union), from unfitted builds.
pub fn provenance_of(entry: &MethodEntry, spec: &MethodSpec) -> anyhow::Result<Provenance> {
    let mut out = Provenance::default();
    for point in spec.trials() {
        let layers: [(&str, &Value); 2] = [("suite params", &spec.params), ("suite grid", &point)];
        let (_, m) = entry.build_with(&layers)?;
        let p = m.provenance();
        out.prompt_hashes.extend(p.prompt_hashes);
        out.weight_hashes.extend(p.weight_hashes);
    }
    Ok(out)
}

/// Whether the method of `spec` reads natural-language requests (from an unfitted build).
pub fn reads_requests(entry: &MethodEntry, spec: &MethodSpec) -> anyhow::Result<bool> {
    let (_, m) = entry.build_with(&[("suite params", &spec.params)])?;
    Ok(m.reads_requests())
}

/// Indices of the views of `p` that `spec` runs on: the ones it lists, in its order (the first
/// drives the validation probe), or every view in protocol order. Conversational views are
/// exactly the views of methods that read requests (`reads`): a method that does not is never
/// run on one (it would rank without the request, a different input), and a request-reading
/// method only on them (suite validation refuses other explicit combinations).
pub fn method_views(spec: &MethodSpec, p: &Prepared, reads: bool) -> Vec<usize> {
    let fits = |i: &usize| (p.views[*i].kind == ViewKind::Conversational) == reads;
    if spec.views.is_empty() {
        return (0..p.views.len()).filter(fits).collect();
    }
    spec.views
        .iter()
        .filter_map(|l| p.views.iter().position(|v| &v.label == l))
        .filter(fits)
        .collect()
}

/// What one evaluation pass produced besides the report.
#[derive(Default)]
pub struct PassExtras {
    /// Milliseconds of each per-user scoring call (candidate and pointwise views).
    pub call_ms: Vec<f64>,
    /// Grounded generated outputs per user, for methods that report them.
    pub generated: Vec<(u32, Vec<Option<u32>>)>,
    /// Scored rows of a pointwise pass (for the user-level bootstrap of global AUC).
    pub pointwise_rows: Vec<quadrec_eval::PointwiseRow>,
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
    Ok(eval_full_extras(m, users, n_items, metrics, popularity, tie_seed)?.0)
}

fn eval_full_extras(
    m: &dyn Method,
    users: &[EvalUser],
    n_items: u32,
    metrics: &[MetricSpec],
    popularity: &[u32],
    tie_seed: u64,
) -> anyhow::Result<(EvalReport, PassExtras)> {
    let fq: Vec<FullRankingQuery> = users
        .iter()
        .map(|u| FullRankingQuery { user: u.user, targets: &u.targets, seen: &u.seen })
        .collect();
    let index: BTreeMap<u32, usize> = users.iter().enumerate().map(|(i, u)| (u.user, i)).collect();
    let ctx = MetricContext { n_items, item_popularity: Some(popularity), long_tail: None };
    let opts = FullRankingOptions { mask_seen: true, block_users: 0, tie_seed, keep_top: 0 };
    let generated = std::sync::Mutex::new(Vec::new());
    let rep = evaluate_full(&fq, n_items, metrics, &ctx, &opts, |block_users, out| {
        let qs: Vec<UserQuery> = block_users
            .iter()
            .map(|u| {
                let e = &users[index[u]];
                UserQuery { user: e.user, history: &e.history }
            })
            .collect();
        m.score_full(&qs, out)?;
        for &u in block_users {
            if let Some(g) = m.generated(u) {
                generated.lock().unwrap_or_else(|p| p.into_inner()).push((u, g));
            }
        }
        Ok::<(), quadrec_method::MethodError>(())
    })?;
    let mut generated = generated.into_inner().unwrap_or_else(|p| p.into_inner());
    generated.sort_by_key(|g| g.0);
    Ok((rep, PassExtras { generated, ..Default::default() }))
}

#[allow(clippy::too_many_arguments)]
fn eval_candidates(
    m: &dyn Method,
    users: &[EvalUser],
    cands: &[Vec<u32>],
    n_items: u32,
    metrics: &[MetricSpec],
    popularity: &[u32],
    tie_seed: u64,
    progress: &mut dyn FnMut(usize, usize),
) -> anyhow::Result<(EvalReport, PassExtras)> {
    let cq: Vec<CandidateQuery> = users
        .iter()
        .zip(cands)
        .map(|(u, c)| CandidateQuery { user: u.user, targets: &u.targets, candidates: c })
        .collect();
    let index: BTreeMap<u32, usize> = users.iter().enumerate().map(|(i, u)| (u.user, i)).collect();
    let ctx = MetricContext { n_items, item_popularity: Some(popularity), long_tail: None };
    let mut extras = PassExtras::default();
    let n = users.len();
    // The whole pass is announced first (generators batch users); its time is spread over
    // the per-user latencies so that p50/p99 stay the cost of one user.
    let t = Instant::now();
    let qs: Vec<UserQuery> =
        users.iter().map(|u| UserQuery { user: u.user, history: &u.history }).collect();
    let lists: Vec<&[u32]> = cands.iter().map(Vec::as_slice).collect();
    m.prepare(&qs, &lists)?;
    let prep_ms = t.elapsed().as_secs_f64() * 1e3 / n.max(1) as f64;
    let rep = evaluate_candidates(&cq, n_items, metrics, &ctx, tie_seed, 0, |user, items, out| {
        let e = &users[index[&user]];
        let t = Instant::now();
        let r = m.score_items(&UserQuery { user, history: &e.history }, items, out);
        extras.call_ms.push(t.elapsed().as_secs_f64() * 1e3 + prep_ms);
        if let Some(g) = m.generated(user) {
            extras.generated.push((user, g));
        }
        progress(extras.call_ms.len(), n);
        r
    })?;
    extras.generated.sort_by_key(|g| g.0);
    Ok((rep, extras))
}

/// Conversational evaluation: each user's request scored over the catalogue with
/// `score_request` (seen items masked, as full ranking), the suite's ranking metrics, plus
/// `hard_rate@10`: the share of the user's top-10 that satisfies every hard condition of the
/// request (genre, decade; true of the held-out item by construction).
#[allow(clippy::too_many_arguments)]
fn eval_conv(
    m: &dyn Method,
    users: &[EvalUser],
    phase: &PhaseView,
    items: &quadrec_data::ItemTable,
    n_items: u32,
    metrics: &[MetricSpec],
    popularity: &[u32],
    tie_seed: u64,
    progress: &mut dyn FnMut(usize, usize),
) -> anyhow::Result<(EvalReport, PassExtras)> {
    const HARD_K: usize = 10;
    let fq: Vec<FullRankingQuery> = users
        .iter()
        .map(|u| FullRankingQuery { user: u.user, targets: &u.targets, seen: &u.seen })
        .collect();
    let index: BTreeMap<u32, usize> = users.iter().enumerate().map(|(i, u)| (u.user, i)).collect();
    let ctx = MetricContext { n_items, item_popularity: Some(popularity), long_tail: None };
    let opts = FullRankingOptions { mask_seen: true, block_users: 0, tie_seed, keep_top: HARD_K };
    let call_ms = std::sync::Mutex::new(Vec::new());
    let n = users.len();
    let mut rep = evaluate_full(&fq, n_items, metrics, &ctx, &opts, |block_users, out| {
        for (k, &u) in block_users.iter().enumerate() {
            let i = index[&u];
            let e = &users[i];
            let row = &mut out[k * n_items as usize..(k + 1) * n_items as usize];
            let t = Instant::now();
            m.score_request(
                &UserQuery { user: u, history: &e.history },
                &phase.requests[i].text,
                row,
            )?;
            let mut ms = call_ms.lock().unwrap_or_else(|p| p.into_inner());
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            progress(ms.len(), n);
        }
        Ok::<(), quadrec_method::MethodError>(())
    })?;
    // hard_rate@10 per user, from the kept top lists (seen items already masked).
    let top = rep.top.as_ref().context("conversational pass kept no top lists")?;
    let mut hard_by_user = BTreeMap::new();
    for t in 0..top.len() {
        let (u, list, _) = top.get(t);
        let r = &phase.requests[index[&u]];
        let ok = list
            .iter()
            .take(HARD_K)
            .filter(|&&i| quadrec_lmconv::request::satisfies_all(items, i, &r.hard))
            .count();
        hard_by_user.insert(u, ok as f64 / HARD_K as f64);
    }
    let col: Vec<f64> = rep
        .per_user
        .users
        .iter()
        .map(|u| hard_by_user.get(u).copied().unwrap_or(f64::NAN))
        .collect();
    let name = format!("hard_rate@{HARD_K}");
    let defined: Vec<f64> = col.iter().copied().filter(|x| !x.is_nan()).collect();
    rep.summary.push(quadrec_eval::results::SummaryValue {
        metric: name.clone(),
        value: defined.iter().sum::<f64>() / defined.len().max(1) as f64,
        n_users: defined.len(),
    });
    rep.per_user.columns.push((name, col));
    let call_ms = call_ms.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok((rep, PassExtras { call_ms, ..Default::default() }))
}

/// Pointwise evaluation: each user's labelled items scored with `score_items`. LogLoss and
/// accuracy need probabilities: when a method's scores leave [0, 1] they are not computed
/// (AUC and GAUC are rank-based and always are).
fn eval_pointwise(
    m: &dyn Method,
    users: &[EvalUser],
    phase: &PhaseView,
    metrics: &[MetricSpec],
    progress: &mut dyn FnMut(usize, usize),
) -> anyhow::Result<(EvalReport, PassExtras)> {
    let mut rows = Vec::new();
    let mut extras = PassExtras::default();
    let n = phase.users.len();
    let t = Instant::now();
    let qs: Vec<UserQuery> = phase
        .users
        .iter()
        .map(|&ui| UserQuery { user: users[ui].user, history: &users[ui].history })
        .collect();
    let lists: Vec<&[u32]> = phase.items.iter().map(Vec::as_slice).collect();
    m.prepare(&qs, &lists)?;
    let prep_ms = t.elapsed().as_secs_f64() * 1e3 / n.max(1) as f64;
    for (k, ((&ui, items), labels)) in
        phase.users.iter().zip(&phase.items).zip(&phase.labels).enumerate()
    {
        if items.is_empty() {
            continue;
        }
        let u = &users[ui];
        let mut out = vec![0f32; items.len()];
        let t = Instant::now();
        m.score_items(&UserQuery { user: u.user, history: &u.history }, items, &mut out)?;
        extras.call_ms.push(t.elapsed().as_secs_f64() * 1e3 + prep_ms);
        progress(k + 1, n);
        for ((&item, &label), &score) in items.iter().zip(labels).zip(&out) {
            rows.push(quadrec_eval::PointwiseRow { user: u.user, item, label, score });
        }
    }
    let probabilities = rows.iter().all(|r| (0.0..=1.0).contains(&r.score));
    // GAUC needs a user with both classes (leave-one-out gives one row per user), AUC needs
    // both classes overall: metrics that are undefined on this view are not computed.
    let both = |rs: &[bool]| rs.iter().any(|&l| l) && rs.iter().any(|&l| !l);
    let all_labels: Vec<bool> = rows.iter().map(|r| r.label).collect();
    let gauc_defined = phase.labels.iter().any(|l| both(l));
    let kept: Vec<MetricSpec> = metrics
        .iter()
        .filter(|s| match s.name().as_str() {
            "logloss" | "accuracy" => probabilities,
            "gauc" => gauc_defined,
            "auc" => both(&all_labels),
            _ => true,
        })
        .cloned()
        .collect();
    let rep = quadrec_eval::evaluate_pointwise(&rows, &kept)?;
    extras.pointwise_rows = rows;
    Ok((rep, extras))
}

/// One evaluation pass of `m` over a phase of view `v` (validation or test users of `p`).
#[allow(clippy::too_many_arguments)]
fn eval_phase(
    m: &dyn Method,
    p: &Prepared,
    v: &TestView,
    test: bool,
    ranking: &[MetricSpec],
    pointwise: &[MetricSpec],
    tie_seed: u64,
    progress: &mut dyn FnMut(usize, usize),
) -> anyhow::Result<(EvalReport, PassExtras)> {
    let (phase, all) = if test { (&v.test, &p.test) } else { (&v.valid, &p.valid) };
    let n_items = p.train.n_items();
    match v.kind {
        ViewKind::Full => {
            let users: Vec<EvalUser> = phase.users.iter().map(|&i| all[i].clone()).collect();
            eval_full_extras(m, &users, n_items, ranking, &p.popularity, tie_seed)
        }
        ViewKind::Candidates => {
            let users: Vec<EvalUser> = phase.users.iter().map(|&i| all[i].clone()).collect();
            eval_candidates(
                m,
                &users,
                &phase.items,
                n_items,
                ranking,
                &p.popularity,
                tie_seed,
                progress,
            )
        }
        ViewKind::Pointwise => eval_pointwise(m, all, phase, pointwise, progress),
        ViewKind::Conversational => {
            let users: Vec<EvalUser> = phase.users.iter().map(|&i| all[i].clone()).collect();
            eval_conv(
                m,
                &users,
                phase,
                p.train.items(),
                n_items,
                ranking,
                &p.popularity,
                tie_seed,
                progress,
            )
        }
    }
}

/// The validation metric of a view: the suite's `select_by` for ranking views, AUC for
/// pointwise views.
pub fn select_metric(suite: &Suite, v: &TestView) -> anyhow::Result<MetricSpec> {
    Ok(match v.kind {
        ViewKind::Pointwise => parse_metric("auc")?,
        _ => parse_metric(&suite.select_by)?,
    })
}

/// The outcome of tuning: the fitted method of the best trial and what the search saw.
pub struct Tuned {
    /// The fitted method of the selected trial.
    pub method: Box<dyn Method>,
    /// Resolved params of the selected trial.
    pub params: Value,
    /// Validation value of the selected trial.
    pub valid: f64,
    /// Name of the validation metric (with its view when it is not full ranking on all users).
    pub valid_metric: String,
    /// Tuning record.
    pub tuning: Tuning,
    /// Fit seconds of the selected trial.
    pub train_seconds: f64,
    /// Whole search seconds.
    pub tuning_seconds: f64,
    /// Device of the selected trial.
    pub device: String,
}

/// Fit every trial of `spec` on train and pick the best on VALIDATION: `suite.select_by` (AUC on
/// pointwise views) on the validation phase of the method's first view.
pub fn tune(
    entry: &MethodEntry,
    spec: &MethodSpec,
    p: &Prepared,
    suite: &Suite,
    seed: u64,
    mut log: impl FnMut(&str),
) -> anyhow::Result<Tuned> {
    let views = method_views(spec, p, reads_requests(entry, spec)?);
    let probe_view = views
        .first()
        .map(|&i| &p.views[i])
        .context("the method runs on no view of this protocol")?;
    let select = select_metric(suite, probe_view)?;
    let valid_metric = if probe_view.kind == ViewKind::Full && probe_view.user_sample == "all" {
        select.name().to_string()
    } else {
        format!("{}@valid:{}", select.name(), probe_view.label)
    };
    let trials = spec.trials();
    let search_start = Instant::now();
    let mut best: Option<Tuned> = None;
    let mut values = Vec::with_capacity(trials.len());
    let select_metrics = [select];
    // The probe: validation phase of the probe view; full ranking on all users keeps the fast
    // path (every validation user, no candidate lists).
    let probe_value = |m: &dyn Method| -> anyhow::Result<f64> {
        let rep = eval_phase(
            m,
            p,
            probe_view,
            false,
            &select_metrics,
            &select_metrics,
            0,
            &mut |_, _| {},
        )?
        .0;
        Ok(rep.summary.first().map(|s| s.value).unwrap_or(f64::NAN))
    };
    for (t, point) in trials.iter().enumerate() {
        let layers: [(&str, &Value); 2] = [("suite params", &spec.params), ("suite grid", point)];
        let (resolved, mut method) = entry.build_with(&layers)?;
        let mut probe = |m: &dyn Method| -> f64 { probe_value(m).unwrap_or(f64::NAN) };
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
        // here. This avoids a second validation pass per trial (minutes for DIN).
        // With a single configuration and no probe value there is nothing to select: the
        // validation pass is skipped (for zero-shot LM methods it costs as much as the test
        // pass) and no validation value is recorded.
        let v = match report.best_valid {
            Some(v) if !v.is_nan() => v,
            _ if trials.len() == 1 => f64::NAN,
            _ => probe_value(method.as_ref())?,
        };
        if !v.is_nan() {
            values.push(v);
        }
        log(&format!(
            "{} trial {}/{}: valid {valid_metric} = {v:.5} ({fit_seconds:.1} s)",
            spec.key(),
            t + 1,
            trials.len(),
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
                valid_metric: valid_metric.clone(),
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
        select_by: valid_metric,
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
    Ok(p50_p99(ms))
}

fn p50_p99(mut ms: Vec<f64>) -> (f64, f64) {
    if ms.is_empty() {
        return (0.0, 0.0);
    }
    ms.sort_by(f64::total_cmp);
    let q = |p: f64| quadrec_eval::stats::quantile_type7(&ms, p);
    (q(0.5), q(0.99))
}

/// Known pretrained weights -> parameter count, for the quadrant map's marker size.
fn lm_parameters(weights: &std::collections::BTreeMap<String, String>) -> Option<u64> {
    let known = [
        (quadrec_lm::assets::smollm2_model_hash(), quadrec_lmrec::SMOLLM2_PARAMETERS),
        (quadrec_lm::assets::minilm_model_hash(), quadrec_lmrec::MINILM_PARAMETERS),
    ];
    weights.values().filter_map(|h| known.iter().find(|(k, _)| k == h).map(|(_, n)| *n)).max()
}

/// Bootstrap CIs of a report's summary values, keyed by metric name.
fn with_cis(
    rep: &EvalReport,
    suite: &Suite,
    seed: u64,
    cell: &str,
    out: &mut BTreeMap<String, MetricValue>,
) {
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
        out.insert(
            s.metric.clone(),
            MetricValue { mean: s.value, ci_low: lo, ci_high: hi, n: s.n_users },
        );
    }
}

/// 95% CI of a GLOBAL pointwise metric (AUC over all rows, which has no per-user value under
/// leave-one-out) by the bootstrap over users: resample users with replacement, keep all their
/// rows, recompute the metric with the shared kernel. Seeded per cell and metric.
fn pointwise_global_ci(
    rows: &[quadrec_eval::PointwiseRow],
    metric: &MetricSpec,
    resamples: usize,
    seed: Seed,
) -> Option<(f64, f64)> {
    use rand::RngExt;
    let mut by_user: BTreeMap<u32, Vec<quadrec_eval::PointwiseRow>> = BTreeMap::new();
    for r in rows {
        by_user.entry(r.user).or_default().push(*r);
    }
    let groups: Vec<&Vec<quadrec_eval::PointwiseRow>> = by_user.values().collect();
    if groups.len() < 2 || resamples == 0 {
        return None;
    }
    let mut rng = seed.rng();
    let mut vals = Vec::with_capacity(resamples);
    let spec = [*metric];
    for _ in 0..resamples {
        let mut sample = Vec::with_capacity(rows.len());
        for k in 0..groups.len() {
            let g = groups[rng.random_range(0..groups.len())];
            // Fresh user ids: a user drawn twice counts as two users.
            sample.extend(g.iter().map(|r| quadrec_eval::PointwiseRow { user: k as u32, ..*r }));
        }
        if let Ok(rep) = quadrec_eval::evaluate_pointwise(&sample, &spec)
            && let Some(v) = rep.summary.first().map(|s| s.value)
            && v.is_finite()
        {
            vals.push(v);
        }
    }
    if vals.len() < resamples / 2 {
        return None;
    }
    vals.sort_by(f64::total_cmp);
    let q = |p: f64| quadrec_eval::stats::quantile_type7(&vals, p);
    Some((q(0.025), q(0.975)))
}

/// Evaluate the tuned method once on each of its test views (`views`: indices into `p.views`,
/// aligned with `cell_ids`) and build the cell records. Per-user values are written by the
/// caller through `write_per_user`.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_views(
    tuned: &Tuned,
    entry: &MethodEntry,
    spec: &MethodSpec,
    p: &Prepared,
    views: &[usize],
    provenance: &Provenance,
    suite: &Suite,
    seed: u64,
    cell_ids: &[String],
    started_at: &str,
    progress: &mut dyn FnMut(&str, usize, usize),
    mut write_per_user: impl FnMut(&str, &EvalReport) -> anyhow::Result<String>,
) -> anyhow::Result<Vec<CellRecord>> {
    let ranking = parse_metrics(&suite.ranking_metrics)?;
    let pointwise = parse_metrics(&suite.pointwise_metrics)?;
    let generation = parse_metrics(&["valid_rate", "hallucination_rate", "duplicate_rate"])?;
    let n_items = p.train.n_items();
    let m = tuned.method.as_ref();
    // Full-ranking latency needs single-user calls over the catalogue; methods that run only on
    // list views are timed on their own per-user calls of the first view instead.
    let full_latency = if views.iter().any(|&i| p.views[i].kind == ViewKind::Full) {
        let users: Vec<EvalUser> = match views.iter().find(|&&i| p.views[i].kind == ViewKind::Full)
        {
            Some(&i) => p.views[i].test.users.iter().map(|&u| p.test[u].clone()).collect(),
            None => vec![],
        };
        Some(latency(m, &users, n_items)?)
    } else {
        None
    };
    let fit_tokens = m.lm_tokens();
    let mut list_latency = None;
    let mut out = Vec::new();
    for (&vi, cell) in views.iter().zip(cell_ids) {
        let v = &p.views[vi];
        let tokens_before = m.lm_tokens();
        // Diagnostics are per cell: forget what fitting, probes, latency timing and earlier
        // views measured, read them right after this view's pass.
        m.reset_diagnostics();
        let t = Instant::now();
        let (rep, extras) = eval_phase(m, p, v, true, &ranking, &pointwise, seed, &mut |k, n| {
            progress(&v.label, k, n)
        })?;
        let eval_seconds = t.elapsed().as_secs_f64();
        let eval_tokens = m.lm_tokens() - tokens_before;
        let diagnostics: BTreeMap<String, f64> = m.diagnostics().into_iter().collect();
        if list_latency.is_none() && !extras.call_ms.is_empty() {
            list_latency = Some(p50_p99(extras.call_ms.clone()));
        }
        let per_user = write_per_user(cell, &rep)?;
        let mut test = BTreeMap::new();
        with_cis(&rep, suite, seed, cell, &mut test);
        if v.kind == ViewKind::Pointwise {
            for spec in &pointwise {
                let name = spec.name();
                let Some(mv) = test.get_mut(&name) else { continue };
                if rep.per_user.column(&name).is_some_and(|c| c.iter().any(|x| !x.is_nan())) {
                    continue;
                }
                let s = Seed::new(seed).child(&format!("bootstrap/{cell}/{name}/users"));
                if let Some((lo, hi)) =
                    pointwise_global_ci(&extras.pointwise_rows, spec, suite.bootstrap, s)
                {
                    mv.ci_low = lo;
                    mv.ci_high = hi;
                }
            }
        }
        if !extras.generated.is_empty() {
            let index: BTreeMap<u32, &EvalUser> = p.test.iter().map(|u| (u.user, u)).collect();
            let gusers: Vec<quadrec_eval::GenerationUser> = extras
                .generated
                .iter()
                .filter_map(|(u, outs)| {
                    index.get(u).map(|e| quadrec_eval::GenerationUser {
                        user: *u,
                        outputs: outs,
                        targets: &e.targets,
                        seen: &e.seen,
                    })
                })
                .collect();
            let ctx =
                MetricContext { n_items, item_popularity: Some(&p.popularity), long_tail: None };
            let grep = quadrec_eval::evaluate_generation(
                &gusers,
                n_items,
                &generation,
                &ctx,
                &spec.key(),
            )?;
            with_cis(&grep, suite, seed, cell, &mut test);
        }
        let (p50, p99) = full_latency.or(list_latency).unwrap_or((0.0, 0.0));
        let n_users = v.test.users.len();
        let mut weight_hashes = provenance.weight_hashes.clone();
        weight_hashes.retain(|_, h| !h.is_empty());
        let mut info = method_info(entry, spec);
        info.lm_parameters = lm_parameters(&weight_hashes);
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
            method: info,
            params: tuned.params.clone(),
            seed,
            status: Status::Ok,
            error: None,
            test,
            valid: if tuned.valid.is_nan() {
                BTreeMap::new()
            } else {
                BTreeMap::from([(tuned.valid_metric.clone(), tuned.valid)])
            },
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
                lm_tokens: fit_tokens + eval_tokens,
            },
            per_user: Some(per_user),
            prompt_hashes: provenance.prompt_hashes.clone(),
            weight_hashes,
            user_sample: v.user_sample.clone(),
            diagnostics,
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
        user_sample: v.user_sample.clone(),
        diagnostics: BTreeMap::new(),
        env: environment("rust"),
        started_at: started_at.to_string(),
        finished_at: now_utc(),
    }
}
