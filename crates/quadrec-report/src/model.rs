//! The leaderboard model: records grouped into one table per protocol, rows per method variant
//! (seeds aggregated), significance against the best row, and protocol robustness. Renderers
//! only format this model; they compute nothing.

use std::collections::BTreeMap;

use quadrec_core::Seed;
use quadrec_eval::stats::{self, SeedSummary};

use crate::analysis::kendall_tau_b;
use crate::load::Run;
use crate::options::{PairedTestKind, ReportOptions, ViewKind, higher_is_better};
use crate::record::{CellRecord, MethodInfo, Status};

/// The whole report.
#[derive(Clone, Debug)]
pub struct Leaderboard {
    /// Title.
    pub title: String,
    /// Records read.
    pub n_records: usize,
    /// One table per protocol id, sorted by protocol id.
    pub tables: Vec<ProtocolTable>,
    /// Kendall tau between orderings of the same dataset+split under different ranking views.
    pub robustness: Vec<TauEntry>,
    /// Distinct environments of the records (hardware fingerprint).
    pub environments: Vec<crate::record::Environment>,
    /// The configuration each method ran with (the selected params, which carry every budget:
    /// epochs, k-shot sizes, LoRA steps, beams, generated tokens), its tuning and the user
    /// samples it was scored on; one entry per method and distinct configuration.
    pub configurations: Vec<ConfigEntry>,
    /// Method-specific diagnostics of the ok cells (e.g. the probability mass outside Yes/No of
    /// the Yes/No scorers), one entry per cell and name, sorted by method, view, seed, name.
    /// Empty when no record has any; renderers then omit the section.
    pub diagnostics: Vec<DiagnosticEntry>,
    /// Warnings (truncated tail, superseded records, unreadable per-user files, duplicates).
    pub notes: Vec<String>,
}

/// One method configuration as run (see [`Leaderboard::configurations`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigEntry {
    /// Method key (`id` or `id [variant]`).
    pub key: String,
    /// Display name.
    pub display: String,
    /// Survey quadrant.
    pub quadrant: String,
    /// Resolved params of the selected trial, compact JSON.
    pub params: String,
    /// `trials/budget by select_by`.
    pub tuning: String,
    /// Views the configuration was scored on (with their user samples), comma-separated.
    pub views: String,
}

/// One diagnostic value of one cell (see [`Leaderboard::diagnostics`]).
#[derive(Clone, Debug, PartialEq)]
pub struct DiagnosticEntry {
    /// Method key (`id` or `id [variant]`).
    pub key: String,
    /// View label, with the user sample when it is not `all`.
    pub view: String,
    /// Seed of the cell.
    pub seed: u64,
    /// Diagnostic name (e.g. `yes_no_outside_mass`).
    pub name: String,
    /// Its value.
    pub value: f64,
}

impl DiagnosticEntry {
    /// The value as shown: whole numbers (counts) without decimals, others with 4 significant
    /// decimals.
    pub fn display(&self) -> String {
        if self.value.fract() == 0.0 && self.value.abs() < 1e15 {
            format!("{}", self.value as i64)
        } else {
            format!("{:.4}", self.value)
        }
    }
}

/// Diagnostics of the ok records, sorted.
fn diagnostics(run: &Run) -> Vec<DiagnosticEntry> {
    let mut out: Vec<DiagnosticEntry> = run
        .records
        .iter()
        .filter(|r| r.status == Status::Ok)
        .flat_map(|r| {
            let view = if r.user_sample == "all" {
                r.view.clone()
            } else {
                format!("{} ({})", r.view, r.user_sample)
            };
            r.diagnostics.iter().map(move |(name, &value)| DiagnosticEntry {
                key: row_key(&r.method),
                view: view.clone(),
                seed: r.seed,
                name: name.clone(),
                value,
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.key, &a.view, a.seed, &a.name).cmp(&(&b.key, &b.view, b.seed, &b.name)));
    out
}

/// Distinct configurations of the ok records, in method-key order.
fn configurations(run: &Run) -> Vec<ConfigEntry> {
    let mut by: BTreeMap<(String, String), (ConfigEntry, Vec<String>)> = BTreeMap::new();
    for r in run.records.iter().filter(|r| r.status == crate::record::Status::Ok) {
        let params = serde_json::to_string(&r.params).unwrap_or_default();
        let key = row_key(&r.method);
        let e = by.entry((key.clone(), params.clone())).or_insert_with(|| {
            (
                ConfigEntry {
                    key,
                    display: r.method.display.clone(),
                    quadrant: r.method.quadrant.clone(),
                    params,
                    tuning: format!(
                        "{} trial(s), budget {}, selected by {} on validation",
                        r.tuning.trials, r.tuning.budget, r.tuning.select_by
                    ),
                    views: String::new(),
                },
                Vec::new(),
            )
        });
        let v = if r.user_sample == "all" {
            r.view.clone()
        } else {
            format!("{} ({})", r.view, r.user_sample)
        };
        if !e.1.contains(&v) {
            e.1.push(v);
        }
    }
    by.into_values()
        .map(|(mut c, mut v)| {
            v.sort();
            c.views = v.join(", ");
            c
        })
        .collect()
}

/// A metric column.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricCol {
    /// Canonical name.
    pub name: String,
    /// Larger is better.
    pub higher_is_better: bool,
}

/// One table: every number in it was measured under the same protocol.
#[derive(Clone, Debug)]
pub struct ProtocolTable {
    /// Protocol id (keys the table).
    pub protocol: String,
    /// Dataset id.
    pub dataset: String,
    /// Split label.
    pub split: String,
    /// View label.
    pub view: String,
    /// View kind.
    pub kind: ViewKind,
    /// Users evaluated (`all` or a pinned sample id).
    pub user_sample: String,
    /// Metric columns.
    pub metrics: Vec<MetricCol>,
    /// Index into `metrics` of the main metric (orders rows, tested, plotted); `None` when no
    /// record of the table has any shown metric.
    pub main: Option<usize>,
    /// Rows with at least one finished cell, best first by the main metric.
    pub rows: Vec<Row>,
    /// Failed cells, each listed with its error.
    pub failed: Vec<FailedCell>,
    /// Label of the primary paired test.
    pub test_label: String,
    /// Family-wise level of the marks.
    pub alpha: f64,
}

/// A method variant's finished cells in one protocol (one per seed).
#[derive(Clone, Debug)]
pub struct Row {
    /// Method metadata (of the first cell).
    pub method: MethodInfo,
    /// Seeds of the finished cells, ascending.
    pub seeds: Vec<u64>,
    /// Cell ids, aligned with `seeds`.
    pub cell_ids: Vec<String>,
    /// One value per metric column (`None` = not recorded).
    pub values: Vec<Option<Value>>,
    /// Cost, averaged over seeds (maxima for parameters and memory).
    pub cost: CostSummary,
    /// Comparison with the best row on the main metric.
    pub sig: Sig,
}

impl Row {
    /// `Display (variant)` label.
    pub fn label(&self) -> String {
        if self.method.variant.is_empty() {
            self.method.display.clone()
        } else {
            format!("{} ({})", self.method.display, self.method.variant)
        }
    }

    /// Value of the main metric, if any.
    pub fn main_value(&self, t: &ProtocolTable) -> Option<&Value> {
        t.main.and_then(|m| self.values[m].as_ref())
    }
}

/// A metric value of a row.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// Mean over users (one seed) or mean over seeds of the per-seed means.
    pub mean: f64,
    /// 95% bootstrap CI over users (one seed only).
    pub ci: Option<(f64, f64)>,
    /// Mean +- std over seeds (several seeds only).
    pub seeds: Option<SeedSummary>,
    /// Users averaged over (of the first seed).
    pub n_users: usize,
}

impl Value {
    /// The interval drawn in plots: the CI for one seed, mean +- std for several.
    pub fn interval(&self) -> Option<(f64, f64)> {
        match (&self.ci, &self.seeds) {
            (Some(ci), _) => Some(*ci),
            (None, Some(s)) if s.std.is_finite() => Some((s.mean - s.std, s.mean + s.std)),
            _ => None,
        }
    }

    /// `0.1234 [0.1100, 0.1350]` for one seed, `0.1234 ± 0.0050 (n=3 seeds)` for several.
    pub fn display(&self) -> String {
        match (&self.seeds, &self.ci) {
            (Some(s), _) => format!("{:.4} ± {:.4} (n={} seeds)", s.mean, s.std, s.n),
            (None, Some((lo, hi))) => format!("{:.4} [{lo:.4}, {hi:.4}]", self.mean),
            (None, None) => format!("{:.4}", self.mean),
        }
    }
}

/// Cost of a row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CostSummary {
    /// Mean training seconds.
    pub train_seconds: f64,
    /// Mean evaluation seconds.
    pub eval_seconds: f64,
    /// Mean p50 latency per user, ms.
    pub latency_p50_ms: f64,
    /// Mean p99 latency per user, ms.
    pub latency_p99_ms: f64,
    /// Max parameter count.
    pub n_parameters: u64,
    /// Max peak RSS, bytes.
    pub peak_rss_bytes: u64,
    /// Mean LM tokens processed.
    pub lm_tokens: u64,
}

impl CostSummary {
    /// Training + evaluation seconds (the x axis of the quality-vs-cost plot).
    pub fn total_seconds(&self) -> f64 {
        self.train_seconds + self.eval_seconds
    }
}

/// Comparison of a row with the best row of its table on the main metric.
#[derive(Clone, Debug, PartialEq)]
pub enum Sig {
    /// This is the best row.
    Best,
    /// Paired tests on the per-user values (averaged over seeds per user).
    Compared(Comparison),
    /// Not computed, with the reason.
    Unavailable(String),
}

/// Paired tests of one row against the best row.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Users paired.
    pub n_pairs: usize,
    /// Mean of (row - best) over paired users.
    pub mean_diff: f64,
    /// Primary test p-value.
    pub p: f64,
    /// Holm-adjusted primary p-value across the table's comparisons.
    pub p_holm: f64,
    /// Wilcoxon signed-rank p-value.
    pub wilcoxon_p: f64,
    /// Holm-adjusted Wilcoxon p-value.
    pub wilcoxon_holm: f64,
    /// Holm-adjusted primary p < alpha.
    pub significant: bool,
    /// Holm-adjusted Wilcoxon p < alpha.
    pub wilcoxon_significant: bool,
}

/// A failed cell.
#[derive(Clone, Debug, PartialEq)]
pub struct FailedCell {
    /// Cell id.
    pub cell_id: String,
    /// Method metadata.
    pub method: MethodInfo,
    /// Seed.
    pub seed: u64,
    /// Error text (`no error recorded` when the record has none).
    pub error: String,
}

/// Kendall tau between two protocols' orderings of the methods they share.
#[derive(Clone, Debug, PartialEq)]
pub struct TauEntry {
    /// Dataset.
    pub dataset: String,
    /// Split.
    pub split: String,
    /// First protocol and its main metric.
    pub protocol_a: (String, String),
    /// Second protocol and its main metric.
    pub protocol_b: (String, String),
    /// Methods (row keys) in both.
    pub methods: Vec<String>,
    /// tau-b, `None` when undefined (constant scores).
    pub tau: Option<f64>,
}

/// Row key: method id + variant.
fn row_key(m: &MethodInfo) -> String {
    if m.variant.is_empty() { m.id.clone() } else { format!("{} [{}]", m.id, m.variant) }
}

/// Build the leaderboard of a run.
pub fn build(run: &Run, opts: &ReportOptions) -> crate::Result<Leaderboard> {
    let opts = opts.validated()?;
    let mut notes = run.warnings();
    let mut by_protocol: BTreeMap<&str, Vec<&CellRecord>> = BTreeMap::new();
    for r in &run.records {
        by_protocol.entry(r.protocol.as_str()).or_default().push(r);
    }
    let mut tables = Vec::new();
    for (protocol, recs) in by_protocol {
        tables.push(build_table(run, protocol, &recs, &opts, &mut notes));
    }
    let robustness = robustness(&tables);
    let mut environments: Vec<crate::record::Environment> = Vec::new();
    for r in &run.records {
        if !environments.contains(&r.env) {
            environments.push(r.env.clone());
        }
    }
    let title = opts.title.clone().unwrap_or_else(|| {
        let mut suites: Vec<&str> = run.records.iter().map(|r| r.suite.as_str()).collect();
        suites.sort();
        suites.dedup();
        if suites.is_empty() {
            "quadrec leaderboard".to_string()
        } else {
            format!("quadrec leaderboard: {}", suites.join(", "))
        }
    });
    Ok(Leaderboard {
        title,
        n_records: run.records.len(),
        tables,
        robustness,
        environments,
        configurations: configurations(run),
        diagnostics: diagnostics(run),
        notes,
    })
}

fn build_table(
    run: &Run,
    protocol: &str,
    recs: &[&CellRecord],
    opts: &ReportOptions,
    notes: &mut Vec<String>,
) -> ProtocolTable {
    let first = recs[0];
    let kind = ViewKind::of(&first.view);
    for r in recs {
        if (r.dataset.as_str(), r.split.as_str(), r.view.as_str(), r.user_sample.as_str())
            != (
                first.dataset.as_str(),
                first.split.as_str(),
                first.view.as_str(),
                first.user_sample.as_str(),
            )
        {
            notes.push(format!(
                "protocol {protocol}: cell {} has dataset/split/view/users {}/{}/{}/{} but cell {} has {}/{}/{}/{}",
                r.cell_id, r.dataset, r.split, r.view, r.user_sample,
                first.cell_id, first.dataset, first.split, first.view, first.user_sample
            ));
        }
    }
    let metrics: Vec<MetricCol> = opts
        .metrics_for(kind)
        .into_iter()
        .map(|name| MetricCol { higher_is_better: higher_is_better(&name), name })
        .collect();
    let main = main_metric_index(opts, kind, &metrics, recs);

    // Group finished cells by row key; list failed cells.
    let mut groups: BTreeMap<String, Vec<&CellRecord>> = BTreeMap::new();
    let mut failed = Vec::new();
    for r in recs {
        match r.status {
            Status::Ok => groups.entry(row_key(&r.method)).or_default().push(r),
            Status::Failed => failed.push(FailedCell {
                cell_id: r.cell_id.clone(),
                method: r.method.clone(),
                seed: r.seed,
                error: r.error.clone().unwrap_or_else(|| "no error recorded".into()),
            }),
        }
    }
    failed.sort_by(|a, b| {
        (row_key(&a.method), a.seed, &a.cell_id).cmp(&(row_key(&b.method), b.seed, &b.cell_id))
    });

    let mut rows: Vec<(Row, Vec<&CellRecord>)> = Vec::new();
    for (key, mut cells) in groups {
        cells.sort_by(|a, b| (a.seed, &a.cell_id).cmp(&(b.seed, &b.cell_id)));
        for w in cells.windows(2) {
            if w[0].seed == w[1].seed {
                notes.push(format!(
                    "protocol {protocol}: row {key} has two finished cells with seed {} ({} and {}); \
                     both enter the mean over seeds",
                    w[0].seed, w[0].cell_id, w[1].cell_id
                ));
            }
        }
        let values = metrics.iter().map(|c| row_value(&cells, &c.name)).collect();
        let n = cells.len() as f64;
        let cost = CostSummary {
            train_seconds: cells.iter().map(|c| c.cost.train_seconds).sum::<f64>() / n,
            eval_seconds: cells.iter().map(|c| c.cost.eval_seconds).sum::<f64>() / n,
            latency_p50_ms: cells.iter().map(|c| c.cost.latency_p50_ms).sum::<f64>() / n,
            latency_p99_ms: cells.iter().map(|c| c.cost.latency_p99_ms).sum::<f64>() / n,
            n_parameters: cells.iter().map(|c| c.cost.n_parameters).max().unwrap_or(0),
            peak_rss_bytes: cells.iter().map(|c| c.cost.peak_rss_bytes).max().unwrap_or(0),
            lm_tokens: (cells.iter().map(|c| c.cost.lm_tokens as f64).sum::<f64>() / n).round()
                as u64,
        };
        let row = Row {
            method: cells[0].method.clone(),
            seeds: cells.iter().map(|c| c.seed).collect(),
            cell_ids: cells.iter().map(|c| c.cell_id.clone()).collect(),
            values,
            cost,
            sig: Sig::Unavailable("no main metric".into()),
        };
        rows.push((row, cells));
    }
    // Best first on the main metric; rows without it last; ties by key for a stable order.
    if let Some(m) = main {
        let hib = metrics[m].higher_is_better;
        rows.sort_by(|(a, _), (b, _)| {
            let va = a.values[m].as_ref().map(|v| v.mean).filter(|x| !x.is_nan());
            let vb = b.values[m].as_ref().map(|v| v.mean).filter(|x| !x.is_nan());
            let ord = match (va, vb) {
                (Some(x), Some(y)) => {
                    if hib {
                        y.total_cmp(&x)
                    } else {
                        x.total_cmp(&y)
                    }
                }
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            };
            ord.then_with(|| row_key(&a.method).cmp(&row_key(&b.method)))
        });
    }
    let test_label = match opts.test {
        PairedTestKind::Bootstrap => format!("paired bootstrap ({} resamples)", opts.n_resamples),
        PairedTestKind::Permutation => {
            format!(
                "paired sign-flip permutation (exact for <= 20 users, else {} flips)",
                opts.n_resamples
            )
        }
    };
    let mut t = ProtocolTable {
        protocol: protocol.to_string(),
        dataset: first.dataset.clone(),
        split: first.split.clone(),
        view: first.view.clone(),
        kind,
        user_sample: first.user_sample.clone(),
        metrics,
        main,
        rows: Vec::new(),
        failed,
        test_label,
        alpha: opts.alpha,
    };
    significance(run, &mut t, rows, opts, notes);
    t
}

/// Index into `metrics` of a protocol table's main metric: the configured main metric of the
/// view kind when a finished record of the table has it, else the first shown metric that one
/// has. Shared with [`crate::compare`], so that both pick the same metric.
pub(crate) fn main_metric_index(
    opts: &ReportOptions,
    kind: ViewKind,
    metrics: &[MetricCol],
    recs: &[&CellRecord],
) -> Option<usize> {
    let present = |m: &str| recs.iter().any(|r| r.status == Status::Ok && r.test.contains_key(m));
    opts.main_for(kind)
        .and_then(|m| metrics.iter().position(|c| c.name == m))
        .filter(|&i| present(&metrics[i].name))
        .or_else(|| metrics.iter().position(|c| present(&c.name)))
}

/// A row's value of one metric over its cells (seeds).
pub(crate) fn row_value(cells: &[&CellRecord], metric: &str) -> Option<Value> {
    let vals: Vec<&crate::record::MetricValue> =
        cells.iter().filter_map(|c| c.test.get(metric)).collect();
    match vals.len() {
        0 => None,
        1 => Some(Value {
            mean: vals[0].mean,
            ci: Some((vals[0].ci_low, vals[0].ci_high)),
            seeds: None,
            n_users: vals[0].n,
        }),
        _ => {
            let s = stats::mean_std(&vals.iter().map(|v| v.mean).collect::<Vec<_>>());
            Some(Value { mean: s.mean, ci: None, seeds: Some(s), n_users: vals[0].n })
        }
    }
}

/// Per-user values of a metric of a row, averaged over its seeds per user (users whose value is
/// NaN in every seed are absent).
pub(crate) fn row_per_user(
    run: &Run,
    cells: &[&CellRecord],
    metric: &str,
) -> Result<BTreeMap<u32, f64>, String> {
    let mut acc: BTreeMap<u32, (f64, usize)> = BTreeMap::new();
    for c in cells {
        let t = run.per_user(c).map_err(|e| e.to_string())?;
        let col = t
            .column(metric)
            .ok_or_else(|| format!("cell {}: per-user file has no column `{metric}`", c.cell_id))?;
        for (&u, &v) in t.users.iter().zip(col) {
            if !v.is_nan() {
                let e = acc.entry(u).or_insert((0.0, 0));
                e.0 += v;
                e.1 += 1;
            }
        }
    }
    Ok(acc.into_iter().map(|(u, (s, n))| (u, s / n as f64)).collect())
}

fn significance(
    run: &Run,
    t: &mut ProtocolTable,
    rows: Vec<(Row, Vec<&CellRecord>)>,
    opts: &ReportOptions,
    notes: &mut Vec<String>,
) {
    let Some(m) = t.main else {
        t.rows = rows.into_iter().map(|(r, _)| r).collect();
        return;
    };
    let metric = t.metrics[m].name.clone();
    let best_idx =
        rows.iter().position(|(r, _)| r.values[m].as_ref().is_some_and(|v| !v.mean.is_nan()));
    let Some(best_idx) = best_idx else {
        t.rows = rows.into_iter().map(|(r, _)| r).collect();
        return;
    };
    let best = row_per_user(run, &rows[best_idx].1, &metric);
    let mut out: Vec<Row> = Vec::with_capacity(rows.len());
    // (row index, p, wilcoxon p) of the comparisons that ran, for Holm.
    let mut ran: Vec<(usize, f64, f64)> = Vec::new();
    for (i, (mut row, cells)) in rows.into_iter().enumerate() {
        row.sig = if i == best_idx {
            Sig::Best
        } else if row.values[m].is_none() {
            Sig::Unavailable(format!("no `{metric}` recorded"))
        } else {
            match (&best, row_per_user(run, &cells, &metric)) {
                (Err(e), _) => Sig::Unavailable(format!("best row: {e}")),
                (_, Err(e)) => Sig::Unavailable(e),
                (Ok(b), Ok(a)) => {
                    let (xa, xb): (Vec<f64>, Vec<f64>) =
                        a.iter().filter_map(|(u, &va)| b.get(u).map(|&vb| (va, vb))).unzip();
                    if xa.len() < a.len().max(b.len()) {
                        notes.push(format!(
                            "protocol {}: {} and the best row share {} of {}/{} users; tests use the shared users",
                            t.protocol, row_key(&row.method), xa.len(), a.len(), b.len()
                        ));
                    }
                    if a.is_empty() || b.is_empty() {
                        // Global metrics (AUC over one labelled row per user) have NaN per-user
                        // values: there is nothing to pair, whatever the user overlap.
                        Sig::Unavailable(format!(
                            "`{metric}` has no per-user values (global metric)"
                        ))
                    } else if xa.is_empty() {
                        Sig::Unavailable("no users shared with the best row".into())
                    } else {
                        let seed = Seed::new(opts.seed).child(&format!(
                            "report/{}/{}",
                            t.protocol,
                            row_key(&row.method)
                        ));
                        let p = match opts.test {
                            PairedTestKind::Bootstrap => {
                                stats::paired_bootstrap(&xa, &xb, opts.n_resamples, seed)
                            }
                            PairedTestKind::Permutation => {
                                stats::paired_permutation(&xa, &xb, opts.n_resamples, seed)
                            }
                        };
                        // All differences zero: Wilcoxon refuses; the p-value is 1 by definition.
                        let w = stats::wilcoxon_signed_rank(&xa, &xb, false)
                            .map(|w| w.p_value)
                            .unwrap_or(1.0);
                        match p {
                            Ok(p) => {
                                ran.push((out.len(), p.p_value, w));
                                Sig::Compared(Comparison {
                                    n_pairs: p.n,
                                    mean_diff: p.mean_diff,
                                    p: p.p_value,
                                    p_holm: f64::NAN,
                                    wilcoxon_p: w,
                                    wilcoxon_holm: f64::NAN,
                                    significant: false,
                                    wilcoxon_significant: false,
                                })
                            }
                            Err(e) => Sig::Unavailable(e.to_string()),
                        }
                    }
                }
            }
        };
        out.push(row);
    }
    let holm_p = stats::holm(&ran.iter().map(|r| r.1).collect::<Vec<_>>());
    let holm_w = stats::holm(&ran.iter().map(|r| r.2).collect::<Vec<_>>());
    for (k, &(i, _, _)) in ran.iter().enumerate() {
        if let Sig::Compared(c) = &mut out[i].sig {
            c.p_holm = holm_p[k];
            c.wilcoxon_holm = holm_w[k];
            c.significant = holm_p[k] < opts.alpha;
            c.wilcoxon_significant = holm_w[k] < opts.alpha;
        }
    }
    t.rows = out;
}

/// Kendall tau between every pair of ranking-view protocols of the same dataset, split and user
/// sample that share at least two methods.
fn robustness(tables: &[ProtocolTable]) -> Vec<TauEntry> {
    let mut out = Vec::new();
    for (i, a) in tables.iter().enumerate() {
        for b in &tables[i + 1..] {
            if !(a.kind.is_ranking_view() && b.kind.is_ranking_view())
                || (&a.dataset, &a.split, &a.user_sample) != (&b.dataset, &b.split, &b.user_sample)
            {
                continue;
            }
            let (Some(ma), Some(mb)) = (a.main, b.main) else { continue };
            let score = |t: &ProtocolTable, m: usize| -> BTreeMap<String, f64> {
                let sign = if t.metrics[m].higher_is_better { 1.0 } else { -1.0 };
                t.rows
                    .iter()
                    .filter_map(|r| {
                        r.values[m].as_ref().map(|v| (row_key(&r.method), sign * v.mean))
                    })
                    .filter(|(_, v)| !v.is_nan())
                    .collect()
            };
            let (sa, sb) = (score(a, ma), score(b, mb));
            let shared: Vec<String> = sa.keys().filter(|k| sb.contains_key(*k)).cloned().collect();
            if shared.len() < 2 {
                continue;
            }
            let x: Vec<f64> = shared.iter().map(|k| sa[k]).collect();
            let y: Vec<f64> = shared.iter().map(|k| sb[k]).collect();
            out.push(TauEntry {
                dataset: a.dataset.clone(),
                split: a.split.clone(),
                protocol_a: (a.protocol.clone(), a.metrics[ma].name.clone()),
                protocol_b: (b.protocol.clone(), b.metrics[mb].name.clone()),
                methods: shared,
                tau: kendall_tau_b(&x, &y),
            });
        }
    }
    out
}
