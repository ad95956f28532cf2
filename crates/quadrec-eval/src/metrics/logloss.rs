//! LogLoss (binary cross-entropy) with probabilities clipped to [eps, 1 - eps], eps = 1e-7
//! (as in FuxiCTR/BARS), so one confident mistake cannot give infinity. Headline = mean over all
//! rows; per-user value = mean over that user's rows. Probabilities outside [0, 1] are rejected
//! by the pointwise evaluator.

use super::{Compute, KRule, MetricDef, MetricKind};
use crate::error::Result;
use crate::pointwise::PointwiseData;

/// Clipping constant.
pub const LOGLOSS_EPS: f64 = 1e-7;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "logloss",
    kind: MetricKind::Pointwise,
    k: KRule::Forbidden,
    about: "mean of -[y log p + (1-y) log(1-p)], p clipped to [1e-7, 1-1e-7]",
    needs_popularity: false,
    needs_long_tail: false,
    higher_is_better: false,
    reads_top_list: false,
    compute: Compute::Pointwise { per_user, global },
};

fn per_user(p: &[f64], y: &[bool]) -> Option<f64> {
    (!p.is_empty()).then(|| sum(p, y) / p.len() as f64)
}

fn global(d: &PointwiseData) -> Result<f64> {
    Ok(sum(&d.scores, &d.labels) / d.scores.len() as f64)
}

fn sum(p: &[f64], y: &[bool]) -> f64 {
    p.iter()
        .zip(y)
        .map(|(&p, &y)| {
            let p = p.clamp(LOGLOSS_EPS, 1.0 - LOGLOSS_EPS);
            if y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_values() {
        let v = per_user(&[0.8, 0.4], &[true, false]).unwrap();
        assert!((v - (-(0.8f64).ln() - (0.6f64).ln()) / 2.0).abs() < 1e-15);
        // p = 0 for a positive is clipped: -ln(1e-7).
        let v = per_user(&[0.0], &[true]).unwrap();
        assert!((v + (1e-7f64).ln()).abs() < 1e-12);
    }
}
