//! CSV rendering in long ("tidy") form: one line per (protocol, row, metric), and one line per
//! failed cell, so the file loads directly into pandas / R without reshaping. Quoting is done by
//! the `csv` crate.

use crate::model::{Leaderboard, Sig};

/// Column names of the CSV.
pub const COLUMNS: &[&str] = &[
    "protocol",
    "dataset",
    "split",
    "view",
    "user_sample",
    "method_id",
    "method",
    "variant",
    "quadrant",
    "stage",
    "family",
    "status",
    "seeds",
    "metric",
    "higher_is_better",
    "is_main",
    "mean",
    "ci_low",
    "ci_high",
    "std_over_seeds",
    "n_users",
    "p_vs_best",
    "p_vs_best_holm",
    "wilcoxon_p",
    "wilcoxon_p_holm",
    "significant",
    "train_seconds",
    "eval_seconds",
    "latency_p50_ms",
    "latency_p99_ms",
    "n_parameters",
    "peak_rss_bytes",
    "lm_tokens",
    "error",
];

fn num(x: f64) -> String {
    if x.is_nan() { String::new() } else { format!("{x:?}") }
}

/// Render the leaderboard as CSV.
pub fn render(lb: &Leaderboard) -> std::io::Result<String> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS)?;
    for t in &lb.tables {
        for r in &t.rows {
            let seeds = r.seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
            for (i, m) in t.metrics.iter().enumerate() {
                let Some(v) = &r.values[i] else { continue };
                let is_main = Some(i) == t.main;
                let (p, ph, wp, wh, sig) = match (&r.sig, is_main) {
                    (Sig::Compared(c), true) => (
                        num(c.p),
                        num(c.p_holm),
                        num(c.wilcoxon_p),
                        num(c.wilcoxon_holm),
                        c.significant.to_string(),
                    ),
                    _ => Default::default(),
                };
                let (lo, hi) = v.ci.map(|(a, b)| (num(a), num(b))).unwrap_or_default();
                let std = v.seeds.map(|s| num(s.std)).unwrap_or_default();
                w.write_record([
                    t.protocol.clone(),
                    t.dataset.clone(),
                    t.split.clone(),
                    t.view.clone(),
                    t.user_sample.clone(),
                    r.method.id.clone(),
                    r.method.display.clone(),
                    r.method.variant.clone(),
                    r.method.quadrant.clone(),
                    r.method.stage.clone(),
                    r.method.family.clone(),
                    if matches!(r.sig, Sig::Best) && is_main {
                        "ok (best)".into()
                    } else {
                        "ok".into()
                    },
                    seeds.clone(),
                    m.name.clone(),
                    m.higher_is_better.to_string(),
                    is_main.to_string(),
                    num(v.mean),
                    lo,
                    hi,
                    std,
                    v.n_users.to_string(),
                    p,
                    ph,
                    wp,
                    wh,
                    sig,
                    num(r.cost.train_seconds),
                    num(r.cost.eval_seconds),
                    num(r.cost.latency_p50_ms),
                    num(r.cost.latency_p99_ms),
                    r.cost.n_parameters.to_string(),
                    r.cost.peak_rss_bytes.to_string(),
                    r.cost.lm_tokens.to_string(),
                    String::new(),
                ])?;
            }
        }
        for f in &t.failed {
            let mut rec: Vec<String> = vec![
                t.protocol.clone(),
                t.dataset.clone(),
                t.split.clone(),
                t.view.clone(),
                t.user_sample.clone(),
                f.method.id.clone(),
                f.method.display.clone(),
                f.method.variant.clone(),
                f.method.quadrant.clone(),
                f.method.stage.clone(),
                f.method.family.clone(),
                "failed".into(),
                f.seed.to_string(),
            ];
            rec.resize(COLUMNS.len() - 1, String::new());
            rec.push(f.error.clone());
            w.write_record(&rec)?;
        }
    }
    let bytes = w.into_inner().map_err(|e| std::io::Error::other(e.to_string()))?;
    String::from_utf8(bytes).map_err(std::io::Error::other)
}
