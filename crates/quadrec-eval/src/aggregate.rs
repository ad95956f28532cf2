//! Shared by the ranking-style evaluators: check which metrics apply, turn each user's
//! [`UserRanking`] into per-user values, and finish with summaries and exposure metrics.

use crate::error::{EvalError, Result};
use crate::metrics::{Compute, MetricContext, MetricKind, MetricSpec};
use crate::ranking::UserRanking;
use crate::results::{EvalFlags, EvalReport, PerUserTable, SummaryValue, TopLists, column_means};

/// Check that every metric can be computed by `evaluator` from rankings (plus `extra` kinds).
pub(crate) fn check_ranking_metrics(
    metrics: &[MetricSpec],
    ctx: &MetricContext<'_>,
    evaluator: &'static str,
    extra: &[MetricKind],
) -> Result<()> {
    for m in metrics {
        let ok = matches!(m.def.kind, MetricKind::Ranking | MetricKind::Exposure)
            || extra.contains(&m.def.kind);
        if !ok {
            return Err(EvalError::MetricNotApplicable {
                metric: m.name(),
                evaluator,
                reason: format!("it is a {:?} metric", m.def.kind),
            });
        }
        if m.def.needs_popularity {
            match ctx.item_popularity {
                None => {
                    return Err(EvalError::MetricNotApplicable {
                        metric: m.name(),
                        evaluator,
                        reason: "no item popularity was given in the MetricContext".into(),
                    });
                }
                Some(p) if p.len() != ctx.n_items as usize => {
                    return Err(EvalError::BadArgument {
                        what: "MetricContext::item_popularity",
                        reason: format!("{} entries for {} items", p.len(), ctx.n_items),
                    });
                }
                _ => {}
            }
        }
        if m.def.needs_long_tail {
            match ctx.long_tail {
                None => {
                    return Err(EvalError::MetricNotApplicable {
                        metric: m.name(),
                        evaluator,
                        reason: "no long-tail set was given in the MetricContext".into(),
                    });
                }
                Some(lt) if lt.n_items() != ctx.n_items => {
                    return Err(EvalError::BadArgument {
                        what: "MetricContext::long_tail",
                        reason: format!(
                            "defined over {} items, catalogue has {}",
                            lt.n_items(),
                            ctx.n_items
                        ),
                    });
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Depth of concrete top lists needed by the metrics that read them (and by TREC export).
pub(crate) fn top_depth(metrics: &[MetricSpec], keep_top: usize) -> usize {
    metrics
        .iter()
        .filter(|m| m.def.reads_top_list)
        .filter_map(|m| m.k)
        .map(|k| k as usize)
        .max()
        .unwrap_or(0)
        .max(keep_top)
}

/// Per-user values of the per-user metrics, in metric order.
pub(crate) fn user_values(
    r: &UserRanking,
    metrics: &[MetricSpec],
    ctx: &MetricContext<'_>,
) -> Vec<f64> {
    metrics
        .iter()
        .filter_map(|m| match m.def.compute {
            Compute::PerUser(f) => Some(f(r, m.k, ctx).unwrap_or(f64::NAN)),
            _ => None,
        })
        .collect()
}

/// [`user_values`] written into `out` (one slot per per-user metric, in metric order): no
/// allocation, for the full-ranking hot loop.
pub(crate) fn user_values_into(
    r: &UserRanking,
    metrics: &[MetricSpec],
    ctx: &MetricContext<'_>,
    out: &mut [f64],
) {
    let mut slots = out.iter_mut();
    for m in metrics {
        if let Compute::PerUser(f) = m.def.compute {
            *slots.next().expect("one slot per per-user metric") =
                f(r, m.k, ctx).unwrap_or(f64::NAN);
        }
    }
}

/// Collects per-user values and top lists in user order.
pub(crate) struct Collector<'a> {
    metrics: &'a [MetricSpec],
    users: Vec<u32>,
    columns: Vec<Vec<f64>>,
    extra: Vec<(String, Vec<f64>)>,
    top: TopLists,
}

impl<'a> Collector<'a> {
    pub fn new(metrics: &'a [MetricSpec]) -> Self {
        let n = metrics
            .iter()
            .filter(|m| matches!(m.def.compute, Compute::PerUser(_) | Compute::Generation(_)))
            .count();
        Collector {
            metrics,
            users: Vec::new(),
            columns: vec![Vec::new(); n],
            extra: Vec::new(),
            top: TopLists::new(),
        }
    }

    /// Number of per-user value columns (per-user and generation metrics).
    pub fn n_per_user(&self) -> usize {
        self.columns.len()
    }

    /// Room for `users` more users with `top_entries` top-list entries in all (no reallocation
    /// while pushing).
    pub fn reserve(&mut self, users: usize, top_entries: usize) {
        self.users.reserve(users);
        for c in &mut self.columns {
            c.reserve(users);
        }
        self.top.users.reserve(users);
        self.top.offsets.reserve(users);
        self.top.items.reserve(top_entries);
        self.top.scores.reserve(top_entries);
    }

    /// Add one user: values from [`user_values`] (plus generation values, same order as metrics).
    pub fn push(&mut self, user: u32, values: &[f64], top: &[(u32, f32)]) {
        self.users.push(user);
        for (c, &v) in self.columns.iter_mut().zip(values) {
            c.push(v);
        }
        self.top.push(user, top);
    }

    /// Extra per-user diagnostic column (kept after the metric columns).
    #[allow(dead_code)]
    pub fn add_extra(&mut self, name: &str, values: Vec<f64>) {
        self.extra.push((name.to_string(), values));
    }

    pub fn finish(self, flags: EvalFlags, ctx: &MetricContext<'_>) -> EvalReport {
        let mut per_user = PerUserTable { users: self.users, columns: Vec::new() };
        let mut summary = Vec::new();
        // Exposure counts once per cutoff, shared by every exposure metric at that cutoff.
        let ks: std::collections::BTreeSet<usize> = self
            .metrics
            .iter()
            .filter(|m| matches!(m.def.compute, Compute::Exposure(_)))
            .map(|m| m.k.expect("exposure metrics require @K") as usize)
            .collect();
        let ks: Vec<usize> = ks.into_iter().collect();
        let counts = self.top.exposure_counts_multi(&ks, ctx.n_items);
        let mut means = column_means(&self.columns).into_iter();
        let mut cols = self.columns.into_iter();
        for m in self.metrics {
            match m.def.compute {
                Compute::PerUser(_) | Compute::Generation(_) => {
                    let col = cols.next().expect("one column per per-user metric");
                    per_user.columns.push((m.name(), col));
                    let (mean, n) = means.next().expect("one mean per column");
                    summary.push(SummaryValue { metric: m.name(), value: mean, n_users: n });
                }
                Compute::Exposure(f) => {
                    let k = m.k.expect("exposure metrics require @K") as usize;
                    let c = &counts[ks.binary_search(&k).expect("every exposure cutoff counted")];
                    summary.push(SummaryValue { metric: m.name(), value: f(c, ctx), n_users: 0 });
                }
                Compute::Pointwise { .. } => unreachable!("checked by check_ranking_metrics"),
            }
        }
        per_user.columns.extend(self.extra);
        EvalReport { flags, summary, per_user, top: Some(self.top) }
    }
}
