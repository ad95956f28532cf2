//! AUC (area under the ROC curve), exact: the Mann-Whitney statistic with mid-ranks, so a tied
//! (positive, negative) pair counts 1/2. Headline = AUC over all rows; per-user value = that
//! user's AUC (undefined when the user has only one class).

use super::{Compute, KRule, MetricDef, MetricKind};
use crate::error::{EvalError, Result};
use crate::pointwise::PointwiseData;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "auc",
    kind: MetricKind::Pointwise,
    k: KRule::Forbidden,
    about: "P(score of a random positive > score of a random negative), ties count 1/2",
    needs_popularity: false,
    needs_long_tail: false,
    higher_is_better: true,
    reads_top_list: false,
    compute: Compute::Pointwise { per_user: auc_exact, global },
};

fn global(d: &PointwiseData) -> Result<f64> {
    auc_exact(&d.scores, &d.labels).ok_or_else(|| EvalError::BadArgument {
        what: "auc",
        reason: "all rows have the same label; AUC is undefined".into(),
    })
}

/// Exact AUC with ties counted 1/2; `None` if one class is absent. O(n log n).
pub fn auc_exact(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of mid-ranks (1-based) of the positives.
    let mut rank_sum = 0.0f64;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        let pos_in_tie = idx[i..=j].iter().filter(|&&p| labels[p]).count();
        rank_sum += mid * pos_in_tie as f64;
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_values() {
        // pairs (pos, neg): (0.8,0.1) win, (0.8,0.8) tie, (0.3,0.1) win, (0.3,0.8) loss.
        // AUC = (1 + 0.5 + 1 + 0) / 4.
        let a = auc_exact(&[0.8, 0.3, 0.1, 0.8], &[true, true, false, false]).unwrap();
        assert!((a - 2.5 / 4.0).abs() < 1e-15);
        assert_eq!(auc_exact(&[0.5, 0.5, 0.5], &[true, false, false]), Some(0.5));
        assert_eq!(auc_exact(&[0.1, 0.2], &[true, true]), None);
    }
}
