//! Pairwise comparison of any two methods of a run (`quadrec compare`): per protocol, the
//! per-user values of one metric (averaged over seeds per user, exactly as the leaderboard's
//! tests against the best row do) are paired on shared users and tested with the paired
//! bootstrap (or sign-flip permutation) and the Wilcoxon signed-rank test; p-values are
//! Holm-adjusted across the protocols compared in one call.

use std::collections::BTreeMap;
use std::path::Path;

use quadrec_core::Seed;
use quadrec_eval::stats;
use serde::Serialize;

use crate::error::{ReportError, Result};
use crate::load::Run;
use crate::model::{MetricCol, main_metric_index, row_per_user, row_value};
use crate::options::{PairedTestKind, RUNNER_METRICS, ReportOptions, ViewKind, higher_is_better};
use crate::record::{CellRecord, MethodInfo, Status};

/// Options of a pairwise comparison.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CompareOptions {
    /// Metric tables, main metrics, test kind, resamples, level and root seed (the defaults are
    /// the report's, so that the default metric is the one each leaderboard table is ranked by).
    pub report: ReportOptions,
    /// Metric to compare in every protocol; `None`: each protocol table's main metric.
    pub metric: Option<String>,
    /// Only protocols whose id contains this substring.
    pub protocol: Option<String>,
}

/// The outcome of the paired tests in one protocol.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairedResult {
    /// Users with a value for both methods (the pairs tested).
    pub n_pairs: usize,
    /// Users with a value for A.
    pub n_users_a: usize,
    /// Users with a value for B.
    pub n_users_b: usize,
    /// Mean over paired users of A - B.
    pub mean_diff: f64,
    /// 95% paired-bootstrap CI of the mean difference (percentile, type 7).
    pub ci_low: f64,
    /// Upper bound of the CI.
    pub ci_high: f64,
    /// The primary test.
    pub test: PairedTestKind,
    /// Bootstrap resamples, random sign flips, or 2^n for an exact permutation test.
    pub n_resamples: u64,
    /// Two-sided p-value of the primary test.
    pub p: f64,
    /// `p` Holm-adjusted across the protocols compared in this call.
    pub p_holm: f64,
    /// Two-sided Wilcoxon signed-rank p-value (1 when every difference is 0).
    pub wilcoxon_p: f64,
    /// `wilcoxon_p` Holm-adjusted across the protocols compared in this call.
    pub wilcoxon_holm: f64,
    /// `p_holm < alpha`.
    pub significant: bool,
    /// `wilcoxon_holm < alpha`.
    pub wilcoxon_significant: bool,
}

/// A and B compared in one protocol.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairedComparison {
    /// Protocol id.
    pub protocol: String,
    /// `dataset/split/view` (short label of the protocol).
    pub label: String,
    /// Metric compared.
    pub metric: String,
    /// Larger values of the metric are better.
    pub higher_is_better: bool,
    /// Key of A (`id` or `id:variant`).
    pub a: String,
    /// Key of B.
    pub b: String,
    /// Seeds of A's finished cells, ascending.
    pub seeds_a: Vec<u64>,
    /// Seeds of B's finished cells, ascending.
    pub seeds_b: Vec<u64>,
    /// Mean of A over the paired users when the test ran; otherwise the recorded mean (mean over
    /// seeds of the per-seed means), if the metric was recorded.
    pub mean_a: Option<f64>,
    /// Mean of B, as `mean_a`.
    pub mean_b: Option<f64>,
    /// The tests, when they ran.
    pub result: Option<PairedResult>,
    /// Why no test ran (global metric, metric not recorded, unreadable per-user file, no
    /// shared users).
    pub unavailable: Option<String>,
}

/// Suite key of a method (`id` or `id:variant`, as `quadrec run --only` takes it).
pub fn method_key(m: &MethodInfo) -> String {
    if m.variant.is_empty() { m.id.clone() } else { format!("{}:{}", m.id, m.variant) }
}

/// Accept the leaderboard's `id [variant]` spelling too.
fn normalise_key(key: &str) -> String {
    let k = key.trim();
    match k.strip_suffix(']').and_then(|s| s.split_once(" [")) {
        Some((id, variant)) => format!("{}:{}", id.trim(), variant.trim()),
        None => k.to_string(),
    }
}

/// Edit distance (for the "did you mean" hint).
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest known key: one that contains the asked key (or is contained in it) counts as
/// close; otherwise the smallest edit distance within a third of the length (at least 2).
fn suggest(key: &str, known: &[String]) -> Option<String> {
    let kl = key.to_lowercase();
    let mut best: Option<(usize, &String)> = None;
    for k in known {
        let l = k.to_lowercase();
        let part = (kl.len() >= 3 && l.contains(&kl)) || (l.len() >= 3 && kl.contains(&l));
        let d = if part { 1 } else { levenshtein(&kl, &l) };
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    let limit = (key.chars().count() / 3).max(2);
    best.filter(|(d, _)| *d <= limit).map(|(_, k)| k.clone())
}

/// Canonical metric name (`NDCG@10` -> `ndcg@10`), or the report's option error.
fn canonical_metric(name: &str) -> Result<String> {
    if RUNNER_METRICS.contains(&name) {
        return Ok(name.to_string());
    }
    quadrec_eval::parse_metric(name)
        .map(|m| m.name())
        .map_err(|e| ReportError::BadOption { option: "metric".into(), reason: e.to_string() })
}

/// Compare methods `a` and `b` (suite keys `id` or `id:variant`; `id [variant]` is accepted)
/// in every protocol of `run` where both have finished cells (and whose id contains
/// `opts.protocol`), one entry per protocol in protocol-id order. Deterministic given
/// `opts.report.seed`: each protocol's resampling uses the child seed
/// `compare/<protocol>/<a>/<b>`.
pub fn compare_methods(
    run: &Run,
    a: &str,
    b: &str,
    opts: &CompareOptions,
) -> Result<Vec<PairedComparison>> {
    let report = opts.report.validated()?;
    let metric = opts.metric.as_deref().map(canonical_metric).transpose()?;
    let (a, b) = (normalise_key(a), normalise_key(b));
    let mut known: Vec<String> = run.records.iter().map(|r| method_key(&r.method)).collect();
    known.sort();
    known.dedup();
    for k in [&a, &b] {
        if !known.contains(k) {
            return Err(ReportError::UnknownMethod {
                run: run.dir.clone(),
                key: k.clone(),
                suggestion: suggest(k, &known),
                known,
            });
        }
    }

    let mut by_protocol: BTreeMap<&str, Vec<&CellRecord>> = BTreeMap::new();
    for r in &run.records {
        by_protocol.entry(r.protocol.as_str()).or_default().push(r);
    }
    if let Some(f) = &opts.protocol
        && !by_protocol.keys().any(|p| p.contains(f.as_str()))
    {
        return Err(ReportError::NothingToCompare {
            run: run.dir.clone(),
            reason: format!(
                "no protocol id contains `{f}`; the run's protocols are: {}",
                by_protocol.keys().copied().collect::<Vec<_>>().join(", ")
            ),
        });
    }

    let mut out = Vec::new();
    for (protocol, recs) in &by_protocol {
        if opts.protocol.as_ref().is_some_and(|f| !protocol.contains(f.as_str())) {
            continue;
        }
        let cells = |key: &str| {
            let mut v: Vec<&CellRecord> = recs
                .iter()
                .copied()
                .filter(|r| r.status == Status::Ok && method_key(&r.method) == key)
                .collect();
            v.sort_by(|x, y| (x.seed, &x.cell_id).cmp(&(y.seed, &y.cell_id)));
            v
        };
        let (ca, cb) = (cells(&a), cells(&b));
        if ca.is_empty() || cb.is_empty() {
            continue;
        }
        let first = recs[0];
        let kind = ViewKind::of(&first.view);
        let m = match &metric {
            Some(m) => Some(m.clone()),
            None => {
                let cols: Vec<MetricCol> = report
                    .metrics_for(kind)
                    .into_iter()
                    .map(|name| MetricCol { higher_is_better: higher_is_better(&name), name })
                    .collect();
                main_metric_index(&report, kind, &cols, recs).map(|i| cols[i].name.clone())
            }
        };
        let mut c = PairedComparison {
            protocol: protocol.to_string(),
            label: format!("{}/{}/{}", first.dataset, first.split, first.view),
            metric: m.clone().unwrap_or_else(|| "(none)".into()),
            higher_is_better: m.as_deref().is_none_or(higher_is_better),
            a: a.clone(),
            b: b.clone(),
            seeds_a: ca.iter().map(|r| r.seed).collect(),
            seeds_b: cb.iter().map(|r| r.seed).collect(),
            mean_a: None,
            mean_b: None,
            result: None,
            unavailable: None,
        };
        let Some(m) = m else {
            c.unavailable = Some("no metric of this view kind is recorded".into());
            out.push(c);
            continue;
        };
        c.mean_a = row_value(&ca, &m).map(|v| v.mean);
        c.mean_b = row_value(&cb, &m).map(|v| v.mean);
        if c.mean_a.is_none() || c.mean_b.is_none() {
            let who = match (c.mean_a, c.mean_b) {
                (None, None) => format!("{a} and {b}"),
                (None, _) => a.clone(),
                _ => b.clone(),
            };
            c.unavailable = Some(format!("`{m}` is not recorded for {who}"));
            out.push(c);
            continue;
        }
        match paired(run, protocol, &a, &b, &ca, &cb, &m, &report) {
            Ok((res, ma, mb)) => {
                c.mean_a = Some(ma);
                c.mean_b = Some(mb);
                c.result = Some(res);
            }
            Err(why) => c.unavailable = Some(why),
        }
        out.push(c);
    }
    if out.is_empty() {
        let protos = |k: &str| -> Vec<&str> {
            let mut v: Vec<&str> = run
                .records
                .iter()
                .filter(|r| r.status == Status::Ok && method_key(&r.method) == k)
                .filter(|r| opts.protocol.as_ref().is_none_or(|f| r.protocol.contains(f.as_str())))
                .map(|r| r.protocol.as_str())
                .collect();
            v.sort();
            v.dedup();
            v
        };
        let show = |v: Vec<&str>| if v.is_empty() { "none".to_string() } else { v.join(", ") };
        return Err(ReportError::NothingToCompare {
            run: run.dir.clone(),
            reason: format!(
                "no protocol{} where both `{a}` and `{b}` have a finished cell; `{a}` finished in: {}; `{b}` finished in: {}",
                opts.protocol.as_ref().map(|f| format!(" matching `{f}`")).unwrap_or_default(),
                show(protos(&a)),
                show(protos(&b))
            ),
        });
    }

    // A valid metric name that neither method recorded in any protocol compared is a typo-like
    // mistake (`ndcg@5` when only `ndcg@10` was computed): say which metrics there are.
    if let Some(m) = &metric
        && out.iter().all(|c| c.mean_a.is_none() && c.mean_b.is_none())
    {
        let mut recorded: Vec<&str> = run
            .records
            .iter()
            .filter(|r| {
                r.status == Status::Ok
                    && out.iter().any(|c| c.protocol == r.protocol)
                    && [&a, &b].contains(&&method_key(&r.method))
            })
            .flat_map(|r| r.test.keys().map(String::as_str))
            .collect();
        recorded.sort();
        recorded.dedup();
        return Err(ReportError::BadOption {
            option: "metric".into(),
            reason: format!(
                "`{m}` is recorded for neither `{a}` nor `{b}` in the protocols compared; \
                 they recorded: {}",
                recorded.join(", ")
            ),
        });
    }

    let ran: Vec<usize> = (0..out.len()).filter(|&i| out[i].result.is_some()).collect();
    let p: Vec<f64> = ran.iter().map(|&i| out[i].result.as_ref().map_or(1.0, |r| r.p)).collect();
    let w: Vec<f64> =
        ran.iter().map(|&i| out[i].result.as_ref().map_or(1.0, |r| r.wilcoxon_p)).collect();
    let (hp, hw) = (stats::holm(&p), stats::holm(&w));
    for (k, &i) in ran.iter().enumerate() {
        if let Some(r) = out[i].result.as_mut() {
            r.p_holm = hp[k];
            r.wilcoxon_holm = hw[k];
            r.significant = hp[k] < report.alpha;
            r.wilcoxon_significant = hw[k] < report.alpha;
        }
    }
    Ok(out)
}

/// The paired tests of one protocol: (result without Holm, mean of A, mean of B over the pairs),
/// or why they cannot run.
#[allow(clippy::too_many_arguments)]
fn paired(
    run: &Run,
    protocol: &str,
    a: &str,
    b: &str,
    ca: &[&CellRecord],
    cb: &[&CellRecord],
    metric: &str,
    report: &ReportOptions,
) -> std::result::Result<(PairedResult, f64, f64), String> {
    let ua = row_per_user(run, ca, metric)?;
    let ub = row_per_user(run, cb, metric)?;
    if ua.is_empty() || ub.is_empty() {
        // Global metrics (AUC over one labelled row per user) have NaN per-user values.
        return Err(format!("`{metric}` has no per-user values (global metric): no paired test"));
    }
    let (xa, xb): (Vec<f64>, Vec<f64>) =
        ua.iter().filter_map(|(u, &va)| ub.get(u).map(|&vb| (va, vb))).unzip();
    if xa.is_empty() {
        return Err(format!("{a} and {b} share no user with a `{metric}` value"));
    }
    let seed = Seed::new(report.seed).child(&format!("compare/{protocol}/{a}/{b}"));
    let boot = stats::paired_bootstrap(&xa, &xb, report.n_resamples, seed.child("bootstrap"))
        .map_err(|e| e.to_string())?;
    let primary = match report.test {
        PairedTestKind::Bootstrap => boot,
        PairedTestKind::Permutation => {
            stats::paired_permutation(&xa, &xb, report.n_resamples, seed.child("permutation"))
                .map_err(|e| e.to_string())?
        }
    };
    // All differences zero: Wilcoxon refuses; the p-value is 1 by definition.
    let wilcoxon_p = stats::wilcoxon_signed_rank(&xa, &xb, false).map(|w| w.p_value).unwrap_or(1.0);
    let n = xa.len() as f64;
    let res = PairedResult {
        n_pairs: xa.len(),
        n_users_a: ua.len(),
        n_users_b: ub.len(),
        mean_diff: primary.mean_diff,
        ci_low: boot.ci_lo,
        ci_high: boot.ci_hi,
        test: report.test,
        n_resamples: primary.n_resamples,
        p: primary.p_value,
        p_holm: primary.p_value,
        wilcoxon_p,
        wilcoxon_holm: wilcoxon_p,
        significant: false,
        wilcoxon_significant: false,
    };
    Ok((res, xa.iter().sum::<f64>() / n, xb.iter().sum::<f64>() / n))
}

/// Load `run_dir` and compare (see [`compare_methods`]); a missing folder or records file is
/// an error naming it.
pub fn compare_run(
    run_dir: &Path,
    a: &str,
    b: &str,
    opts: &CompareOptions,
) -> Result<Vec<PairedComparison>> {
    compare_methods(&crate::load_run(run_dir)?, a, b, opts)
}

fn fmt_v(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "n/a".into())
}

/// Terminal rendering: one row per protocol, then the legend (full protocol ids, test, level).
pub fn render_terminal(cmp: &[PairedComparison], opts: &CompareOptions) -> String {
    use crate::escape::terminal as esc;
    use crate::render::fmt_p;
    let Some(first) = cmp.first() else { return "no comparisons\n".into() };
    let test = match opts.report.test {
        PairedTestKind::Bootstrap => "bootstrap",
        PairedTestKind::Permutation => "permutation",
    };
    let mut b = tabled::builder::Builder::default();
    b.push_record([
        "protocol".to_string(),
        "metric".into(),
        "pairs".into(),
        format!("mean A ({})", first.a),
        format!("mean B ({})", first.b),
        "A - B [95% CI]".into(),
        format!("p {test}"),
        "p Holm".into(),
        "Wilcoxon p".into(),
        "Wilcoxon Holm".into(),
    ]);
    for c in cmp {
        let arrow = if c.higher_is_better { "↑" } else { "↓" };
        let mut row = vec![c.label.clone(), format!("{} {arrow}", c.metric)];
        match (&c.result, &c.unavailable) {
            (Some(r), _) => row.extend([
                r.n_pairs.to_string(),
                fmt_v(c.mean_a),
                fmt_v(c.mean_b),
                format!("{:+.4} [{:+.4}, {:+.4}]", r.mean_diff, r.ci_low, r.ci_high),
                fmt_p(r.p),
                format!("{}{}", fmt_p(r.p_holm), if r.significant { " *" } else { "" }),
                fmt_p(r.wilcoxon_p),
                format!(
                    "{}{}",
                    fmt_p(r.wilcoxon_holm),
                    if r.wilcoxon_significant { " *" } else { "" }
                ),
            ]),
            (None, why) => row.extend([
                "-".into(),
                fmt_v(c.mean_a),
                fmt_v(c.mean_b),
                format!("n/a: {}", why.as_deref().unwrap_or("not computed")),
                "n/a".into(),
                "n/a".into(),
                "n/a".into(),
                "n/a".into(),
            ]),
        }
        b.push_record(row.iter().map(|s| esc(s)));
    }
    let mut t = b.build();
    t.with(tabled::settings::Style::sharp());
    let n_tested = cmp.iter().filter(|c| c.result.is_some()).count();
    let primary = match opts.report.test {
        PairedTestKind::Bootstrap => {
            format!("paired bootstrap ({} resamples)", opts.report.n_resamples)
        }
        PairedTestKind::Permutation => format!(
            "paired sign-flip permutation (exact for <= 20 users, else {} flips)",
            opts.report.n_resamples
        ),
    };
    let mut out = format!("A = {}, B = {}\n{t}\n", esc(&first.a), esc(&first.b));
    out.push_str(&esc(&format!(
        "Per-user values (averaged over seeds per user) paired on shared users; means over the \
         pairs (n/a rows: the recorded means); CI: 95% paired bootstrap of the mean difference; \
         p: {primary}, two-sided; Holm across the {n_tested} protocol(s) tested here; \
         * = Holm-adjusted p < {}; seed {}.",
        opts.report.alpha, opts.report.seed
    )));
    out.push('\n');
    for c in cmp {
        let mut seeds = String::new();
        if c.seeds_a.len() > 1 || c.seeds_b.len() > 1 {
            seeds = format!(" (seeds A {:?}, B {:?})", c.seeds_a, c.seeds_b);
        }
        out.push_str(&esc(&format!("{}: {}{seeds}", c.label, c.protocol)));
        out.push('\n');
    }
    out
}

/// JSON for scripts: the options and every comparison.
pub fn render_json(cmp: &[PairedComparison], opts: &CompareOptions) -> String {
    let v = serde_json::json!({
        "test": opts.report.test,
        "n_resamples": opts.report.n_resamples,
        "seed": opts.report.seed,
        "alpha": opts.report.alpha,
        "comparisons": cmp,
    });
    serde_json::to_string_pretty(&v).expect("comparisons serialise") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_normalise_and_suggest() {
        assert_eq!(normalise_key("tallrec [k64]"), "tallrec:k64");
        assert_eq!(normalise_key("collm"), "collm");
        let known: Vec<String> =
            ["collm", "kshot-crm:din-k64", "tallrec:k16", "tallrec:k64"].map(String::from).into();
        assert_eq!(suggest("talrec:k64", &known).as_deref(), Some("tallrec:k64"));
        assert_eq!(suggest("colm", &known).as_deref(), Some("collm"));
        assert_eq!(suggest("zzzzzzzzzz", &known), None);
    }
}
