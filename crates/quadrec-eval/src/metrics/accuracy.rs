//! Accuracy: share of rows whose thresholded prediction (p >= 0.5 means positive) equals the label.

use super::{Compute, KRule, MetricDef, MetricKind};
use crate::error::Result;
use crate::pointwise::PointwiseData;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "accuracy",
    kind: MetricKind::Pointwise,
    k: KRule::Forbidden,
    about: "share of rows with (p >= 0.5) == label",
    needs_popularity: false,
    needs_long_tail: false,
    higher_is_better: true,
    reads_top_list: false,
    compute: Compute::Pointwise { per_user, global },
};

fn correct(p: &[f64], y: &[bool]) -> usize {
    p.iter().zip(y).filter(|&(&p, &y)| (p >= 0.5) == y).count()
}

fn per_user(p: &[f64], y: &[bool]) -> Option<f64> {
    (!p.is_empty()).then(|| correct(p, y) as f64 / p.len() as f64)
}

fn global(d: &PointwiseData) -> Result<f64> {
    Ok(correct(&d.scores, &d.labels) as f64 / d.scores.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_half_is_positive() {
        assert_eq!(per_user(&[0.5, 0.49, 0.9, 0.1], &[true, true, false, false]), Some(0.5));
    }
}
