//! Report options: which metrics each kind of view shows, which metric ranks rows and drives the
//! significance tests and plots, and how the paired tests are run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ReportError, Result};

/// The kind of an evaluation view, read from the record's view label (`full`, `sampled-100`,
/// `closed-20`, `pointwise`, `generation`). Tables of different kinds show different metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewKind {
    /// Full ranking over the catalogue.
    Full,
    /// 1 target + N sampled negatives.
    Sampled,
    /// Closed-set candidate lists.
    Closed,
    /// Labelled pointwise rows (CTR style).
    Pointwise,
    /// Grounded generated lists.
    Generation,
    /// Natural-language requests over the catalogue (the user-interaction stage's `conv` view).
    Conversational,
    /// Any other label (treated like a ranking view).
    Other,
}

impl ViewKind {
    /// Kind of a view label: the part before the first `-`, `_` or `:` decides
    /// (`sampled-100` -> [`ViewKind::Sampled`]).
    pub fn of(view: &str) -> Self {
        let base = view.split(['-', '_', ':', '@']).next().unwrap_or("").to_ascii_lowercase();
        match base.as_str() {
            "full" => ViewKind::Full,
            "sampled" => ViewKind::Sampled,
            "closed" => ViewKind::Closed,
            "pointwise" => ViewKind::Pointwise,
            "generation" => ViewKind::Generation,
            "conv" => ViewKind::Conversational,
            _ => ViewKind::Other,
        }
    }

    /// Whether orderings under this view enter the protocol-robustness comparison (full ranking,
    /// sampled and closed-set views of one dataset and split).
    pub fn is_ranking_view(self) -> bool {
        matches!(self, ViewKind::Full | ViewKind::Sampled | ViewKind::Closed)
    }

    /// All kinds, in order.
    pub const ALL: [ViewKind; 7] = [
        ViewKind::Full,
        ViewKind::Sampled,
        ViewKind::Closed,
        ViewKind::Pointwise,
        ViewKind::Generation,
        ViewKind::Conversational,
        ViewKind::Other,
    ];
}

/// Which paired test gives the significance marks (Wilcoxon signed-rank is always reported too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairedTestKind {
    /// Paired bootstrap of the mean per-user difference.
    Bootstrap,
    /// Paired sign-flip permutation test (exact for <= 20 users).
    Permutation,
}

/// Options of a report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportOptions {
    /// Metric columns per view kind, in display order.
    pub metrics: BTreeMap<ViewKind, Vec<String>>,
    /// Metric that orders rows, picks the best row, and is tested and plotted, per view kind.
    /// Falls back to the first shown metric present in the table when absent from its records.
    pub main_metric: BTreeMap<ViewKind, String>,
    /// Primary paired test.
    pub test: PairedTestKind,
    /// Resamples of the paired bootstrap / random sign flips of the permutation test.
    pub n_resamples: usize,
    /// Family-wise error level of the Holm-corrected comparisons against the best row.
    pub alpha: f64,
    /// Root seed of the resampling tests (each comparison uses a named child).
    pub seed: u64,
    /// Report title; defaults to the suite names of the records.
    pub title: Option<String>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        let ranking: Vec<String> = ["ndcg@10", "hr@10", "mrr"].map(String::from).to_vec();
        let pointwise: Vec<String> = ["auc", "gauc", "logloss"].map(String::from).to_vec();
        let mut metrics = BTreeMap::new();
        let mut main_metric = BTreeMap::new();
        for k in ViewKind::ALL {
            if k == ViewKind::Pointwise {
                metrics.insert(k, pointwise.clone());
                main_metric.insert(k, "auc".to_string());
            } else if k == ViewKind::Conversational {
                // The request benchmark's metrics: hit of the held-out item and the share of
                // the top 10 that meets every hard condition of the request.
                let conv = ["hr@10", "ndcg@10", "hard_rate@10"].map(String::from).to_vec();
                metrics.insert(k, conv);
                main_metric.insert(k, "hr@10".to_string());
            } else {
                metrics.insert(k, ranking.clone());
                main_metric.insert(k, "ndcg@10".to_string());
            }
        }
        ReportOptions {
            metrics,
            main_metric,
            test: PairedTestKind::Bootstrap,
            n_resamples: 10_000,
            alpha: 0.05,
            seed: 0,
            title: None,
        }
    }
}

impl ReportOptions {
    /// Metric columns of a view kind (canonical names).
    pub fn metrics_for(&self, kind: ViewKind) -> Vec<String> {
        self.metrics.get(&kind).cloned().unwrap_or_default()
    }

    /// Main metric of a view kind, if configured.
    pub fn main_for(&self, kind: ViewKind) -> Option<&str> {
        self.main_metric.get(&kind).map(String::as_str)
    }

    /// Check every metric name against the metric table and canonicalise it (`NDCG@10` ->
    /// `ndcg@10`); check the test settings.
    pub fn validated(&self) -> Result<ReportOptions> {
        let canon = |option: String, name: &str| -> Result<String> {
            if RUNNER_METRICS.contains(&name) {
                return Ok(name.to_string());
            }
            quadrec_eval::parse_metric(name)
                .map(|m| m.name())
                .map_err(|e| ReportError::BadOption { option, reason: e.to_string() })
        };
        let mut out = self.clone();
        for (k, names) in out.metrics.iter_mut() {
            for n in names.iter_mut() {
                *n = canon(format!("metrics.{}", kind_name(*k)), n)?;
            }
        }
        for (k, n) in out.main_metric.iter_mut() {
            *n = canon(format!("main_metric.{}", kind_name(*k)), n)?;
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(ReportError::BadOption {
                option: "alpha".into(),
                reason: format!("{} is not in (0, 1)", self.alpha),
            });
        }
        if self.n_resamples == 0 {
            return Err(ReportError::BadOption {
                option: "n_resamples".into(),
                reason: "must be positive".into(),
            });
        }
        Ok(out)
    }
}

/// Per-user metrics that the runner computes outside the evaluation kernel's metric table
/// (`hard_rate@10` of the conversational view); accepted by name as they are.
pub const RUNNER_METRICS: &[&str] = &["hard_rate@10"];

/// Lower-case name of a kind (as in the serialised options).
pub fn kind_name(k: ViewKind) -> &'static str {
    match k {
        ViewKind::Full => "full",
        ViewKind::Sampled => "sampled",
        ViewKind::Closed => "closed",
        ViewKind::Pointwise => "pointwise",
        ViewKind::Generation => "generation",
        ViewKind::Conversational => "conv",
        ViewKind::Other => "other",
    }
}

/// Whether larger values of `metric` are better (from the metric table; unknown names are taken
/// as larger-is-better).
pub fn higher_is_better(metric: &str) -> bool {
    quadrec_eval::parse_metric(metric).map(|m| m.def.higher_is_better).unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_kinds_from_labels() {
        assert_eq!(ViewKind::of("full"), ViewKind::Full);
        assert_eq!(ViewKind::of("sampled-100"), ViewKind::Sampled);
        assert_eq!(ViewKind::of("closed-20"), ViewKind::Closed);
        assert_eq!(ViewKind::of("pointwise"), ViewKind::Pointwise);
        assert_eq!(ViewKind::of("conv@u100"), ViewKind::Conversational);
        assert_eq!(ViewKind::of("weird"), ViewKind::Other);
        let o = ReportOptions::default().validated().unwrap();
        assert_eq!(o.metrics_for(ViewKind::Conversational)[2], "hard_rate@10");
    }

    #[test]
    fn validation_canonicalises_and_rejects() {
        let mut o = ReportOptions::default();
        o.metrics.insert(ViewKind::Full, vec!["NDCG@5".into()]);
        assert_eq!(o.validated().unwrap().metrics[&ViewKind::Full], vec!["ndcg@5".to_string()]);
        o.metrics.insert(ViewKind::Full, vec!["ndgc@5".into()]);
        let e = o.validated().unwrap_err().to_string();
        assert!(e.contains("metrics.full") && e.contains("did you mean"), "{e}");
        assert!(!higher_is_better("logloss") && higher_is_better("ndcg@10"));
    }
}
