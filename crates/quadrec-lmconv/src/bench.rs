//! The conversational request benchmark: one request per sampled test user, composed from the
//! held-out test item ([`crate::request::compose`]); each method ranks the catalogue (the user's
//! history excluded) from the request text (and the user, for the personalised methods).
//!
//! Metrics per request: hit@K of the held-out item, and the share of the top-K items that
//! satisfy every hard condition of the request. Means with percentile-bootstrap CIs over
//! requests, and paired-bootstrap lifts between methods (`quadrec_eval::stats`).
//!
//! The blend weight of the personalised method is selected on VALIDATION requests (composed the
//! same way from each sampled user's validation item and validation-time history); the re-ranker
//! re-ranks the selected personalised list. Test requests are scored once.

use crate::conv::{ConvConfig, ConvError, ConvMethod, ConvRecommender};
use crate::request::{Request, compose, satisfies_all, templates_sha256};
use quadrec_core::Seed;
use quadrec_eval::stats::{BootstrapCi, PairedTest, bootstrap_ci, paired_bootstrap};
use quadrec_split::{HeldOut, Stage, TrainView};
use rand::seq::SliceRandom;
use serde::Serialize;
use std::time::Instant;

/// What to run.
#[derive(Clone, Debug, Serialize)]
pub struct BenchConfig {
    /// Test users sampled (seeded); all when larger than the number of test users.
    pub users: usize,
    /// Cut-off K of hit@K and of the hard-condition rate.
    pub k: usize,
    /// Seed root (user sample, request composition, CRM fit, bootstrap).
    pub seed: u64,
    /// Recommender settings (CRM, re-rank depth, history length; `blend` is overwritten by the
    /// validation-selected value).
    pub conv: ConvConfig,
    /// Blend weights tried on validation.
    pub blend_grid: Vec<f32>,
    /// Methods to run (report order).
    pub methods: Vec<ConvMethod>,
    /// Bootstrap resamples.
    pub bootstrap: usize,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            users: 200,
            k: 10,
            seed: 0,
            conv: ConvConfig::default(),
            blend_grid: vec![0.0, 0.25, 0.5, 0.75, 0.9],
            methods: ConvMethod::ALL.to_vec(),
            bootstrap: 2000,
        }
    }
}

/// One method's figures.
#[derive(Clone, Debug, Serialize)]
pub struct MethodFigures {
    /// Method name.
    pub method: ConvMethod,
    /// hit@K mean and 95% CI.
    pub hit: BootstrapCi,
    /// Hard-condition rate of the top-K, mean and 95% CI.
    pub hard_rate: BootstrapCi,
    /// Wall seconds for all test requests.
    pub seconds: f64,
    /// LM tokens (SmolLM2 prompt tokens) for all test requests.
    pub lm_tokens: u64,
    /// Per-request hit (aligned with `BenchReport::requests`).
    pub per_request_hit: Vec<f64>,
    /// Per-request hard-condition rate.
    pub per_request_hard: Vec<f64>,
}

/// Paired difference `a - b` of a metric.
#[derive(Clone, Debug, Serialize)]
pub struct Lift {
    /// Metric (`hit@K` or `hard@K`).
    pub metric: String,
    /// Method a.
    pub a: ConvMethod,
    /// Method b.
    pub b: ConvMethod,
    /// Paired bootstrap test.
    pub test: PairedTest,
}

/// The benchmark's result file.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Dataset id.
    pub dataset: String,
    /// Split id.
    pub split: String,
    /// Settings.
    pub config: BenchConfig,
    /// sha256 of the request template table.
    pub templates_sha256: String,
    /// Provenance of the LM inputs (prompt and weight hashes).
    pub provenance: quadrec_method::Provenance,
    /// Validation hit@K of the personalised method per blend weight.
    pub blend_validation: Vec<(f32, f64)>,
    /// The selected blend weight.
    pub blend_selected: f32,
    /// Requests (test), in user order.
    pub requests: Vec<Request>,
    /// Per-method figures.
    pub methods: Vec<MethodFigures>,
    /// Paired lifts.
    pub lifts: Vec<Lift>,
    /// CPU model and threads.
    pub hardware: String,
}

fn ci(x: &[f64], n: usize, seed: Seed) -> BootstrapCi {
    bootstrap_ci(x, 0.95, n, seed).unwrap_or(BootstrapCi {
        mean: f64::NAN,
        lo: f64::NAN,
        hi: f64::NAN,
        level: 0.95,
        n_resamples: n,
    })
}

/// CPU model and available threads of this machine (for the record).
pub fn hardware() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1).map(|m| m.trim().to_string()))
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!(
        "{cpu}, {threads} threads, backend {}",
        std::env::var("BURN_DEVICE").unwrap_or("flex".into())
    )
}

/// Requests of `users` at `stage` (users without a composable request are skipped).
pub fn requests_at(
    train: &TrainView,
    held: &HeldOut,
    users: &[u32],
    stage: Stage,
    seed: Seed,
) -> Vec<Request> {
    let items = train.items();
    users
        .iter()
        .filter_map(|&u| {
            let t = held.targets(stage, u).first()?.item;
            compose(items, u, t, held.history(stage, u), seed.child(stage.name()))
        })
        .collect()
}

fn score_requests(
    rec: &mut ConvRecommender,
    held: &HeldOut,
    stage: Stage,
    method: ConvMethod,
    reqs: &[Request],
    k: usize,
) -> Result<(Vec<f64>, Vec<f64>), ConvError> {
    let (mut hit, mut hard) = (Vec::new(), Vec::new());
    for r in reqs {
        let h = held.history(stage, r.user);
        let top = rec.recommend(method, Some((r.user, h)), &r.text, k)?;
        hit.push(if top.iter().any(|x| x.item == r.target) { 1.0 } else { 0.0 });
        let ok = top.iter().filter(|x| satisfies_all(rec.items(), x.item, &r.hard)).count();
        hard.push(ok as f64 / k as f64);
    }
    Ok((hit, hard))
}

/// Run the benchmark on a leave-one-out split (`train`, `held`).
pub fn run_bench(
    dataset: &str,
    train: &TrainView,
    held: &HeldOut,
    cfg: &BenchConfig,
    mut progress: impl FnMut(&str),
) -> Result<BenchReport, ConvError> {
    let seed = Seed(cfg.seed);
    let mut users = held.users(Stage::Test);
    users.shuffle(&mut seed.child("conv/users").rng());
    users.truncate(cfg.users);
    users.sort_unstable();
    let mut rec = ConvRecommender::new(train, cfg.conv.clone(), true, seed)?;
    // Blend weight on validation requests only.
    let valid = requests_at(train, held, &users, Stage::Valid, seed);
    let mut blend_validation = Vec::new();
    for &w in &cfg.blend_grid {
        rec.config.blend = w;
        let (hit, _) =
            score_requests(&mut rec, held, Stage::Valid, ConvMethod::Personalised, &valid, cfg.k)?;
        let m = hit.iter().sum::<f64>() / hit.len().max(1) as f64;
        progress(&format!("validation: blend {w}: hit@{} {m:.4}", cfg.k));
        blend_validation.push((w, m));
    }
    // Best validation value; ties keep the smaller weight (earlier in the grid).
    let blend_selected = blend_validation
        .iter()
        .fold(None::<(f32, f64)>, |b, &(w, m)| match b {
            Some((_, bm)) if bm >= m => b,
            _ => Some((w, m)),
        })
        .map_or(cfg.conv.blend, |(w, _)| w);
    rec.config.blend = blend_selected;
    let requests = requests_at(train, held, &users, Stage::Test, seed);
    let mut methods = Vec::new();
    for &m in &cfg.methods {
        let t0 = Instant::now();
        let tok0 = rec.lm_tokens();
        let (hit, hard) = score_requests(&mut rec, held, Stage::Test, m, &requests, cfg.k)?;
        let seconds = t0.elapsed().as_secs_f64();
        let f = MethodFigures {
            method: m,
            hit: ci(&hit, cfg.bootstrap, seed.child("bootstrap").child(m.name())),
            hard_rate: ci(&hard, cfg.bootstrap, seed.child("bootstrap/hard").child(m.name())),
            seconds,
            lm_tokens: rec.lm_tokens() - tok0,
            per_request_hit: hit,
            per_request_hard: hard,
        };
        progress(&format!(
            "{}: hit@{} {:.4}, hard@{} {:.4}, {:.1} s",
            m.name(),
            cfg.k,
            f.hit.mean,
            cfg.k,
            f.hard_rate.mean,
            seconds
        ));
        methods.push(f);
    }
    let mut lifts = Vec::new();
    for i in 0..methods.len() {
        for j in 0..i {
            let (a, b) = (&methods[i], &methods[j]);
            for (metric, xa, xb) in [
                (format!("hit@{}", cfg.k), &a.per_request_hit, &b.per_request_hit),
                (format!("hard@{}", cfg.k), &a.per_request_hard, &b.per_request_hard),
            ] {
                let s =
                    seed.child("lift").child(&metric).child(a.method.name()).child(b.method.name());
                if let Ok(test) = paired_bootstrap(xa, xb, cfg.bootstrap, s) {
                    lifts.push(Lift { metric, a: a.method, b: b.method, test });
                }
            }
        }
    }
    Ok(BenchReport {
        dataset: dataset.to_string(),
        split: held.meta().id(),
        config: cfg.clone(),
        templates_sha256: templates_sha256(),
        provenance: ConvRecommender::provenance(),
        blend_validation,
        blend_selected,
        requests,
        methods,
        lifts,
        hardware: hardware(),
    })
}

/// Markdown tables of a report (figures, lifts), rendered from the data.
pub fn render_markdown(r: &BenchReport) -> String {
    let k = r.config.k;
    let mut s = format!(
        "Dataset `{}`, split `{}`, {} test requests (seed {}), K = {k}, CRM `{}` (blend w = {} selected on validation), re-rank depth {}.\n\n",
        r.dataset,
        r.split,
        r.requests.len(),
        r.config.seed,
        r.config.conv.crm,
        r.blend_selected,
        r.config.conv.rerank_n
    );
    s.push_str(&format!(
        "| method | hit@{k} [95% CI] | hard-condition rate@{k} [95% CI] | seconds | LM tokens |\n|---|---|---|---|---|\n"
    ));
    for m in &r.methods {
        s.push_str(&format!(
            "| {} | {:.4} [{:.4}, {:.4}] | {:.4} [{:.4}, {:.4}] | {:.1} | {} |\n",
            m.method.name(),
            m.hit.mean,
            m.hit.lo,
            m.hit.hi,
            m.hard_rate.mean,
            m.hard_rate.lo,
            m.hard_rate.hi,
            m.seconds,
            m.lm_tokens
        ));
    }
    s.push_str("\n| lift (a - b) | metric | mean diff [95% CI] | p (paired bootstrap) |\n|---|---|---|---|\n");
    for l in &r.lifts {
        s.push_str(&format!(
            "| {} - {} | {} | {:+.4} [{:+.4}, {:+.4}] | {:.4} |\n",
            l.a.name(),
            l.b.name(),
            l.metric,
            l.test.mean_diff,
            l.test.ci_lo,
            l.test.ci_hi,
            l.test.p_value
        ));
    }
    s.push_str("\nValidation hit@K of `personalised` per blend weight: ");
    let v: Vec<String> = r.blend_validation.iter().map(|(w, m)| format!("{w}: {m:.4}")).collect();
    s.push_str(&v.join(", "));
    s.push('\n');
    s
}
