//! Pointwise (CTR-style) evaluation: labelled (user, item, label, probability) rows.
//! Headlines: AUC over all rows, GAUC, LogLoss and accuracy over all rows; per-user values are
//! kept for paired tests (per-user AUC is NaN for users with one class).

use crate::error::{EvalError, Result};
use crate::metrics::{Compute, MetricKind, MetricSpec};
use crate::ranking::TIE_POLICY;
use crate::results::{EvalFlags, EvalReport, PerUserTable, SummaryValue};

/// One labelled row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PointwiseRow {
    /// Dense user id.
    pub user: u32,
    /// Dense item id.
    pub item: u32,
    /// Positive label.
    pub label: bool,
    /// Predicted probability (LogLoss/accuracy require [0, 1]; AUC accepts any real score).
    pub score: f32,
}

/// Rows grouped by user (stable within a user).
#[derive(Clone, Debug, PartialEq)]
pub struct PointwiseData {
    /// Users in ascending order.
    pub users: Vec<u32>,
    /// Rows of user i: `offsets[i]..offsets[i+1]`.
    pub offsets: Vec<usize>,
    /// Scores (f64).
    pub scores: Vec<f64>,
    /// Labels.
    pub labels: Vec<bool>,
}

impl PointwiseData {
    /// Group rows by user; NaN scores are refused (row index in the error).
    pub fn from_rows(rows: &[PointwiseRow]) -> Result<Self> {
        if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.score.is_nan()) {
            return Err(EvalError::BadInput {
                user: r.user,
                reason: format!("row {i} (item {}) has a NaN score", r.item),
            });
        }
        let mut idx: Vec<usize> = (0..rows.len()).collect();
        idx.sort_by_key(|&i| rows[i].user);
        let mut d = PointwiseData {
            users: Vec::new(),
            offsets: vec![0],
            scores: Vec::new(),
            labels: Vec::new(),
        };
        for &i in &idx {
            let r = rows[i];
            if d.users.last() != Some(&r.user) {
                if !d.users.is_empty() {
                    d.offsets.push(d.scores.len());
                }
                d.users.push(r.user);
            }
            d.scores.push(f64::from(r.score));
            d.labels.push(r.label);
        }
        if !d.users.is_empty() {
            d.offsets.push(d.scores.len());
        }
        Ok(d)
    }

    /// Number of users.
    pub fn n_users(&self) -> usize {
        self.users.len()
    }

    /// Scores and labels of user i.
    pub fn user_rows(&self, i: usize) -> (&[f64], &[bool]) {
        let r = self.offsets[i]..self.offsets[i + 1];
        (&self.scores[r.clone()], &self.labels[r])
    }
}

/// Evaluate pointwise metrics (`auc`, `gauc`, `logloss`, `accuracy`).
pub fn evaluate_pointwise(rows: &[PointwiseRow], metrics: &[MetricSpec]) -> Result<EvalReport> {
    for m in metrics {
        if m.def.kind != MetricKind::Pointwise {
            return Err(EvalError::MetricNotApplicable {
                metric: m.name(),
                evaluator: "pointwise",
                reason: format!("it is a {:?} metric", m.def.kind),
            });
        }
        if matches!(m.def.name, "logloss" | "accuracy")
            && let Some((i, r)) =
                rows.iter().enumerate().find(|(_, r)| !(0.0..=1.0).contains(&r.score))
        {
            return Err(EvalError::BadInput {
                user: r.user,
                reason: format!(
                    "row {i} (item {}): {} needs a probability in [0, 1], got {}",
                    r.item,
                    m.name(),
                    r.score
                ),
            });
        }
    }
    if rows.is_empty() {
        return Err(EvalError::BadArgument {
            what: "evaluate_pointwise",
            reason: "no rows".into(),
        });
    }
    let d = PointwiseData::from_rows(rows)?;
    let mut per_user = PerUserTable { users: d.users.clone(), columns: Vec::new() };
    let mut summary = Vec::new();
    for m in metrics {
        let Compute::Pointwise { per_user: pu, global } = m.def.compute else {
            unreachable!("checked above")
        };
        let col: Vec<f64> = (0..d.n_users())
            .map(|u| {
                let (s, l) = d.user_rows(u);
                pu(s, l).unwrap_or(f64::NAN)
            })
            .collect();
        let n = col.iter().filter(|x| !x.is_nan()).count();
        per_user.columns.push((m.name(), col));
        summary.push(SummaryValue { metric: m.name(), value: global(&d)?, n_users: n });
    }
    let flags = EvalFlags {
        view: "pointwise".into(),
        masked_seen: false,
        tie_policy: TIE_POLICY.into(),
        tie_seed: 0,
        n_items: 0,
        n_users: d.n_users(),
        targets_also_seen: 0,
    };
    Ok(EvalReport { flags, summary, per_user, top: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::parse_metrics;

    #[test]
    fn logloss_rejects_non_probabilities_but_auc_accepts_logits() {
        let rows = [
            PointwiseRow { user: 0, item: 1, label: true, score: 2.5 },
            PointwiseRow { user: 0, item: 2, label: false, score: -1.0 },
        ];
        let e = evaluate_pointwise(&rows, &parse_metrics(&["logloss"]).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 0") && e.contains("probability"), "{e}");
        let r = evaluate_pointwise(&rows, &parse_metrics(&["auc"]).unwrap()).unwrap();
        assert_eq!(r.value("auc"), Some(1.0));
        assert!(evaluate_pointwise(&rows, &parse_metrics(&["ndcg@5"]).unwrap()).is_err());
    }
}
