//! The explicit metric table. A metric is one file with one `DEF` constant and one line in
//! [`METRICS`]; names parse as `name` or `name@K` (`ndcg@10`, `mrr`, `mrr@20`, `auc`).
//! Unknown names fail with a "did you mean" hint and the list of known names. Group gaps have
//! their own spelling, `gap(ndcg@10,gender)` ([`crate::fairness::GapSpec`]).
//!
//! Kinds (which evaluator can compute them):
//! - [`MetricKind::Ranking`]: per-user values from a [`UserRanking`] (full, candidates, generation);
//!   exact expectation over random tie-breaking, see [`crate::ranking`];
//! - [`MetricKind::Exposure`]: one value over all users' concrete top-K lists (coverage, Gini);
//! - [`MetricKind::Pointwise`]: labelled rows with probabilities (AUC, GAUC, LogLoss, accuracy);
//! - [`MetricKind::Generation`]: grounded outputs of generative methods.

use crate::error::{EvalError, Result};
use crate::fairness::LongTail;
use crate::generation::GenerationCounts;
use crate::pointwise::PointwiseData;
use crate::ranking::UserRanking;

mod accuracy;
mod auc;
mod avg_pop;
mod coverage;
mod duplicate_rate;
mod gauc;
mod gini;
mod hallucination_rate;
mod hr;
mod logloss;
mod map;
mod mrr;
mod ndcg;
mod precision;
mod recall;
mod tail_share;
mod valid_rate;

pub use auc::auc_exact;
pub use gini::gini_index;
pub use logloss::LOGLOSS_EPS;

/// Which evaluator computes a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// Per-user value from a ranking.
    Ranking,
    /// One value over all users' top-K lists.
    Exposure,
    /// Labelled rows with probabilities.
    Pointwise,
    /// Grounded generated outputs.
    Generation,
}

/// Whether the name takes `@K`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KRule {
    /// `name@K` only.
    Required,
    /// `name` (no cutoff) or `name@K`.
    Optional,
    /// `name` only.
    Forbidden,
}

/// Side information some metrics need.
#[derive(Clone, Copy, Debug, Default)]
pub struct MetricContext<'a> {
    /// Catalogue size (coverage, Gini denominators).
    pub n_items: u32,
    /// Train interaction count per item (average popularity), len = n_items.
    pub item_popularity: Option<&'a [u32]>,
    /// Long-tail item set (tail share).
    pub long_tail: Option<&'a LongTail>,
}

/// How a metric is computed.
#[derive(Clone, Copy)]
pub enum Compute {
    /// Per-user value from a ranking; `None` = undefined for this user.
    PerUser(fn(&UserRanking, Option<u64>, &MetricContext<'_>) -> Option<f64>),
    /// One value over all users' concrete top-K lists, from the exposure counts at cutoff K
    /// (`counts[i]` = number of top-K lists holding item i, [`crate::results::TopLists::exposure_counts`]; the
    /// evaluator computes them once per K for every exposure metric).
    Exposure(fn(&[u64], &MetricContext<'_>) -> f64),
    /// Pointwise metric: per-user value (None if undefined) and the headline (global) value.
    Pointwise {
        /// Value over one user's rows (probabilities, labels).
        per_user: fn(&[f64], &[bool]) -> Option<f64>,
        /// Headline value over all rows.
        global: fn(&PointwiseData) -> Result<f64>,
    },
    /// Per-user value from generation counts.
    Generation(fn(&GenerationCounts) -> Option<f64>),
}

/// One row of the metric table.
#[derive(Clone, Copy)]
pub struct MetricDef {
    /// Canonical lower-case name.
    pub name: &'static str,
    /// Which evaluator.
    pub kind: MetricKind,
    /// `@K` rule.
    pub k: KRule,
    /// One-line definition.
    pub about: &'static str,
    /// Needs [`MetricContext::item_popularity`].
    pub needs_popularity: bool,
    /// Needs [`MetricContext::long_tail`].
    pub needs_long_tail: bool,
    /// Larger is better (false for LogLoss, popularity bias, Gini, rates of bad outputs).
    pub higher_is_better: bool,
    /// Reads the concrete top-K list (exposure metrics). Accuracy metrics read only the tie
    /// groups, so when no metric needs lists (and no TREC depth is asked) the evaluator skips
    /// top-K selection altogether.
    pub reads_top_list: bool,
    /// The computation.
    pub compute: Compute,
}

impl std::fmt::Debug for MetricDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The metric table: the only place metrics are registered.
pub static METRICS: &[&MetricDef] = &[
    &hr::DEF,
    &recall::DEF,
    &precision::DEF,
    &ndcg::DEF,
    &mrr::DEF,
    &map::DEF,
    &auc::DEF,
    &gauc::DEF,
    &logloss::DEF,
    &accuracy::DEF,
    &coverage::DEF,
    &avg_pop::DEF,
    &gini::DEF,
    &tail_share::DEF,
    &valid_rate::DEF,
    &hallucination_rate::DEF,
    &duplicate_rate::DEF,
];

/// A parsed metric name: table entry + cutoff.
#[derive(Clone, Copy, Debug)]
pub struct MetricSpec {
    /// Table entry.
    pub def: &'static MetricDef,
    /// Cutoff K, if any.
    pub k: Option<u64>,
}

impl PartialEq for MetricSpec {
    fn eq(&self, o: &Self) -> bool {
        self.def.name == o.def.name && self.k == o.k
    }
}

impl MetricSpec {
    /// Canonical name (`ndcg@10`, `mrr`).
    pub fn name(&self) -> String {
        match self.k {
            Some(k) => format!("{}@{k}", self.def.name),
            None => self.def.name.to_string(),
        }
    }
}

impl std::fmt::Display for MetricSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// Parse one metric name such as `NDCG@10`, `mrr`, `auc` (case-insensitive).
pub fn parse_metric(name: &str) -> Result<MetricSpec> {
    let lower = name.trim().to_ascii_lowercase();
    if lower.starts_with("gap(") {
        return Err(EvalError::BadMetricSpec {
            name: name.to_string(),
            reason: "a group-gap metric needs user groups: parse it with `GapSpec::parse` and \
                     add it with `EvalReport::add_group_gap` (see `fairness`)"
                .into(),
        });
    }
    let (base, k) = match lower.split_once('@') {
        Some((b, k)) => (b.to_string(), Some(k.to_string())),
        None => (lower.clone(), None),
    };
    let Some(def) = METRICS.iter().copied().find(|d| d.name == base) else {
        let best = METRICS
            .iter()
            .map(|d| (levenshtein(&base, d.name), d.name))
            .min()
            .filter(|(dist, n)| *dist <= 3.max(n.len() / 3));
        return Err(EvalError::UnknownMetric {
            name: name.to_string(),
            hint: best.map(|(_, n)| format!(" (did you mean `{n}`?)")).unwrap_or_default(),
            known: METRICS.iter().map(|d| d.name).collect::<Vec<_>>().join(", "),
        });
    };
    let bad = |reason: String| EvalError::BadMetricSpec { name: name.to_string(), reason };
    let k = match (def.k, k) {
        (KRule::Forbidden, Some(_)) => {
            return Err(bad(format!("`{}` takes no @K cutoff", def.name)));
        }
        (KRule::Required, None) => {
            return Err(bad(format!("`{}` needs a cutoff, e.g. `{}@10`", def.name, def.name)));
        }
        (_, None) => None,
        (_, Some(k)) => match k.parse::<u64>() {
            Ok(k) if k > 0 => Some(k),
            _ => return Err(bad(format!("cutoff `{k}` is not a positive integer"))),
        },
    };
    Ok(MetricSpec { def, k })
}

/// Parse a list of names; duplicates are an error.
pub fn parse_metrics<S: AsRef<str>>(names: &[S]) -> Result<Vec<MetricSpec>> {
    let mut out: Vec<MetricSpec> = Vec::new();
    for n in names {
        let m = parse_metric(n.as_ref())?;
        if out.contains(&m) {
            return Err(EvalError::BadMetricSpec {
                name: n.as_ref().to_string(),
                reason: "listed twice".into(),
            });
        }
        out.push(m);
    }
    Ok(out)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        let mut names: Vec<&str> = METRICS.iter().map(|d| d.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), METRICS.len());
        for d in METRICS {
            let s = match d.k {
                KRule::Required => format!("{}@5", d.name),
                _ => d.name.to_string(),
            };
            let m = parse_metric(&s.to_uppercase()).unwrap();
            assert_eq!(m.name(), s);
        }
    }

    #[test]
    fn unknown_names_suggest() {
        let e = parse_metric("ndgc@10").unwrap_err().to_string();
        assert!(e.contains("did you mean `ndcg`"), "{e}");
        let e = parse_metric("recal@5").unwrap_err().to_string();
        assert!(e.contains("did you mean `recall`"), "{e}");
        assert!(parse_metric("ndcg").unwrap_err().to_string().contains("needs a cutoff"));
        assert!(parse_metric("auc@5").unwrap_err().to_string().contains("no @K"));
        assert!(parse_metric("hr@0").is_err());
        assert!(parse_metric("hr@x").is_err());
        assert!(parse_metrics(&["mrr", "MRR"]).is_err());
        assert_eq!(parse_metric("mrr@20").unwrap().k, Some(20));
        let e = parse_metric("gap(ndcg@10,gender)").unwrap_err().to_string();
        assert!(e.contains("GapSpec::parse"), "{e}");
    }
}
