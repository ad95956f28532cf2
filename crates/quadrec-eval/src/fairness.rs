//! Fairness and long-tail analysis: the gap of any per-user metric between user groups (groups
//! given by the caller from a side feature: gender, age band, activity level...) and long-tail
//! item sets for the `tail_share@K` metric.
//!
//! # Gap metric names
//! A gap is a derived metric with its own parseable name, `gap(METRIC,FEATURE)`, e.g.
//! `gap(ndcg@10,gender)`: METRIC is any per-user metric name of the table (canonicalised, so
//! `GAP( NDCG@10 , Gender )` reads as `gap(ndcg@10,gender)`), FEATURE is a lower-case label of
//! the side feature (`[a-z0-9_]+`) that names the user grouping the caller supplies. Its value is
//! max - min of the per-group means ([`group_gap`]); [`EvalReport::add_group_gap`] appends it to
//! a report's summary under that name (n_users = users with a group and a defined value).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result};
use crate::metrics::{Compute, MetricSpec, parse_metric};
use crate::results::{EvalReport, SummaryValue};

/// A parsed gap metric name `gap(METRIC,FEATURE)`.
#[derive(Clone, Debug, PartialEq)]
pub struct GapSpec {
    /// The per-user metric whose group means are compared.
    pub metric: MetricSpec,
    /// Side feature that defines the groups (lower case, `[a-z0-9_]+`).
    pub feature: String,
}

impl GapSpec {
    /// Parse `gap(ndcg@10,gender)` (case-insensitive, spaces around parts allowed).
    pub fn parse(name: &str) -> Result<Self> {
        let bad = |reason: &str| EvalError::BadMetricSpec {
            name: name.to_string(),
            reason: format!("{reason}; expected `gap(METRIC,FEATURE)`, e.g. `gap(ndcg@10,gender)`"),
        };
        let lower = name.trim().to_ascii_lowercase();
        let inner = lower
            .strip_prefix("gap(")
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| bad("not a gap metric"))?;
        let (m, f) = inner.split_once(',').ok_or_else(|| bad("missing `,FEATURE`"))?;
        let metric = parse_metric(m)?;
        if !matches!(metric.def.compute, Compute::PerUser(_) | Compute::Generation(_)) {
            return Err(bad(&format!("`{}` has no per-user values", metric.name())));
        }
        let feature = f.trim().to_string();
        if feature.is_empty()
            || !feature.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(bad(&format!("feature `{}` is not [a-z0-9_]+", f.trim())));
        }
        Ok(GapSpec { metric, feature })
    }

    /// Canonical name, `gap(ndcg@10,gender)`; parses back to the same spec.
    pub fn name(&self) -> String {
        format!("gap({},{})", self.metric.name(), self.feature)
    }
}

impl std::fmt::Display for GapSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl EvalReport {
    /// Compute the gap of `spec.metric` between the groups `group_of(user)` (`None` = user
    /// excluded) over this report's per-user values and append it to the summary under
    /// `spec.name()`. Errors if the metric is not in the report, if the name is already in the
    /// summary, or if fewer than 2 groups have values.
    pub fn add_group_gap(
        &mut self,
        spec: &GapSpec,
        group_of: impl Fn(u32) -> Option<String>,
    ) -> Result<GroupGap> {
        let name = spec.name();
        if self.summary.iter().any(|s| s.metric == name) {
            return Err(EvalError::BadMetricSpec { name, reason: "already in the summary".into() });
        }
        let values =
            self.per_user.column(&spec.metric.name()).ok_or_else(|| EvalError::BadMetricSpec {
                name: name.clone(),
                reason: format!("metric `{}` is not in this report", spec.metric.name()),
            })?;
        let labels: Vec<Option<String>> =
            self.per_user.users.iter().map(|&u| group_of(u)).collect();
        let refs: Vec<Option<&str>> = labels.iter().map(|l| l.as_deref()).collect();
        let g = group_gap(values, &refs)?;
        let n_users = g.groups.values().map(|(n, _)| n).sum();
        self.summary.push(SummaryValue { metric: name, value: g.gap, n_users });
        Ok(g)
    }
}

/// Per-group means of one metric and the largest gap between groups.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupGap {
    /// group label -> (users with a defined value, mean).
    pub groups: BTreeMap<String, (usize, f64)>,
    /// max mean - min mean over groups.
    pub gap: f64,
    /// Group with the highest mean.
    pub best: String,
    /// Group with the lowest mean.
    pub worst: String,
}

/// Gap of per-user `values` between groups; `groups[i]` labels user i (`None` = excluded).
/// NaN values (undefined for that user) are skipped. Needs >= 2 non-empty groups.
pub fn group_gap(values: &[f64], groups: &[Option<&str>]) -> Result<GroupGap> {
    if values.len() != groups.len() {
        return Err(EvalError::BadArgument {
            what: "group_gap",
            reason: format!("{} values but {} group labels", values.len(), groups.len()),
        });
    }
    let mut acc: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for (&v, g) in values.iter().zip(groups) {
        if let (Some(g), false) = (g, v.is_nan()) {
            let e = acc.entry(g.to_string()).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += v;
        }
    }
    for e in acc.values_mut() {
        e.1 /= e.0 as f64;
    }
    if acc.len() < 2 {
        return Err(EvalError::BadArgument {
            what: "group_gap",
            reason: format!("{} non-empty group(s); need 2", acc.len()),
        });
    }
    // BTreeMap order makes ties between equal means deterministic (first label wins).
    let best = acc
        .iter()
        .fold(None::<(&String, f64)>, |b, (k, v)| match b {
            Some((_, m)) if m >= v.1 => b,
            _ => Some((k, v.1)),
        })
        .unwrap();
    let worst = acc
        .iter()
        .fold(None::<(&String, f64)>, |b, (k, v)| match b {
            Some((_, m)) if m <= v.1 => b,
            _ => Some((k, v.1)),
        })
        .unwrap();
    Ok(GroupGap {
        gap: best.1 - worst.1,
        best: best.0.clone(),
        worst: worst.0.clone(),
        groups: acc,
    })
}

/// A set of long-tail items over a catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongTail {
    is_tail: Vec<bool>,
}

impl LongTail {
    /// Tail = the given items.
    pub fn from_items(n_items: u32, tail: &[u32]) -> Result<Self> {
        let mut is_tail = vec![false; n_items as usize];
        for &i in tail {
            *is_tail.get_mut(i as usize).ok_or_else(|| EvalError::BadArgument {
                what: "LongTail::from_items",
                reason: format!("item {i} out of range (n_items = {n_items})"),
            })? = true;
        }
        Ok(LongTail { is_tail })
    }

    /// Head = the `ceil(head_share * n_items)` most popular items (popularity descending, then
    /// item id ascending); tail = all others. `head_share = 0.2` is the usual 20/80 split.
    pub fn from_popularity_quantile(popularity: &[u32], head_share: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&head_share) {
            return Err(EvalError::BadArgument {
                what: "LongTail::from_popularity_quantile",
                reason: format!("head_share {head_share} not in [0, 1]"),
            });
        }
        let n = popularity.len();
        let n_head = (head_share * n as f64).ceil() as usize;
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| popularity[b].cmp(&popularity[a]).then(a.cmp(&b)));
        let mut is_tail = vec![true; n];
        for &i in &order[..n_head.min(n)] {
            is_tail[i] = false;
        }
        Ok(LongTail { is_tail })
    }

    /// Catalogue size.
    pub fn n_items(&self) -> u32 {
        self.is_tail.len() as u32
    }

    /// Whether `item` is a long-tail item.
    pub fn contains(&self, item: u32) -> bool {
        self.is_tail.get(item as usize).copied().unwrap_or(false)
    }

    /// Number of tail items.
    pub fn len(&self) -> usize {
        self.is_tail.iter().filter(|&&t| t).count()
    }

    /// No tail items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_between_groups() {
        let v = [1.0, 0.0, 0.5, f64::NAN, 0.25];
        let g = [Some("F"), Some("M"), Some("F"), Some("M"), None];
        let r = group_gap(&v, &g).unwrap();
        assert_eq!(r.groups["F"], (2, 0.75));
        assert_eq!(r.groups["M"], (1, 0.0));
        assert_eq!(r.gap, 0.75);
        assert_eq!((r.best.as_str(), r.worst.as_str()), ("F", "M"));
        assert!(group_gap(&v, &[Some("F"); 5]).is_err());
    }

    #[test]
    fn gap_names_parse_and_round_trip() {
        let g = GapSpec::parse(" GAP( NDCG@10 , Gender )").unwrap();
        assert_eq!(g.name(), "gap(ndcg@10,gender)");
        assert_eq!(GapSpec::parse(&g.name()).unwrap(), g);
        assert_eq!(GapSpec::parse("gap(mrr,age_band)").unwrap().metric.k, None);
        for bad in [
            "gap(ndcg@10)",
            "gap(ndgc@10,gender)",
            "gap(ndcg@10,gen der)",
            "ndcg@10",
            "gap(coverage@10,gender)",
            "gap(ndcg,gender)",
        ] {
            assert!(GapSpec::parse(bad).is_err(), "{bad}");
        }
        let e = GapSpec::parse("gap(ndcg@10)").unwrap_err().to_string();
        assert!(e.contains("gap(METRIC,FEATURE)"), "{e}");
    }

    #[test]
    fn gap_is_added_to_report_summary() {
        use crate::metrics::{MetricContext, parse_metrics};
        use crate::{FullRankingOptions, FullRankingQuery, evaluate_full};
        // 4 users x 4 items, score = item id; user u's target is item u: ranks 4, 3, 2, 1, so
        // hr@2 = [0, 0, 1, 1]; users 0, 2 are "f", 1, 3 are "m": means 0.5, 0.5 -> gap 0;
        // users 0, 1 "a" (mean 0) and 2, 3 "b" (mean 1) -> gap 1.
        let m = parse_metrics(&["hr@2"]).unwrap();
        let t = [0u32, 1, 2, 3];
        let qs: Vec<FullRankingQuery> = (0..4)
            .map(|u| FullRankingQuery {
                user: u,
                targets: &t[u as usize..u as usize + 1],
                seen: &[],
            })
            .collect();
        let mut rep = evaluate_full(
            &qs,
            4,
            &m,
            &MetricContext::default(),
            &FullRankingOptions::default(),
            |_, out: &mut [f32]| -> std::result::Result<(), std::io::Error> {
                for r in out.chunks_mut(4) {
                    for (i, x) in r.iter_mut().enumerate() {
                        *x = i as f32;
                    }
                }
                Ok(())
            },
        )
        .unwrap();
        let sex = GapSpec::parse("gap(hr@2,sex)").unwrap();
        let g =
            rep.add_group_gap(&sex, |u| Some(if u % 2 == 0 { "f" } else { "m" }.into())).unwrap();
        assert_eq!(g.gap, 0.0);
        let half = GapSpec::parse("gap(hr@2,half)").unwrap();
        rep.add_group_gap(&half, |u| Some(if u < 2 { "a" } else { "b" }.into())).unwrap();
        assert_eq!(rep.value("gap(hr@2,half)"), Some(1.0));
        assert_eq!(rep.value("gap(hr@2,sex)"), Some(0.0));
        assert!(rep.add_group_gap(&half, |_| None).is_err()); // already there
        let mrr = GapSpec::parse("gap(mrr,half)").unwrap();
        assert!(rep.add_group_gap(&mrr, |_| Some("a".into())).is_err()); // not in report
    }

    #[test]
    fn popularity_quantile_head() {
        // popularity [5, 1, 9, 1, 0]: head_share 0.4 -> ceil(2) head items {2, 0}.
        let lt = LongTail::from_popularity_quantile(&[5, 1, 9, 1, 0], 0.4).unwrap();
        assert_eq!(
            (0..5).map(|i| lt.contains(i)).collect::<Vec<_>>(),
            vec![false, true, false, true, true]
        );
        assert_eq!(lt.len(), 3);
    }
}
