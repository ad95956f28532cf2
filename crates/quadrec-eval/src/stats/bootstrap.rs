//! Percentile bootstrap confidence interval of the mean (Efron & Tibshirani 1993, ch. 13),
//! resampling users with replacement, seeded.

use quadrec_core::Seed;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result};

/// A bootstrap confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootstrapCi {
    /// Sample mean.
    pub mean: f64,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
    /// Confidence level (e.g. 0.95).
    pub level: f64,
    /// Resamples drawn.
    pub n_resamples: usize,
}

/// Quantile with linear interpolation between order statistics (Hyndman-Fan type 7, numpy's
/// default). `sorted` must be ascending and non-empty.
pub fn quantile_type7(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Means of `n_resamples` bootstrap resamples of `x`.
pub(crate) fn resample_means(x: &[f64], n_resamples: usize, seed: Seed) -> Vec<f64> {
    let mut rng = seed.rng();
    let n = x.len();
    (0..n_resamples)
        .map(|_| (0..n).map(|_| x[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect()
}

/// Percentile bootstrap CI of the mean of `x` (NaN values skipped) at confidence `level`.
pub fn bootstrap_ci(x: &[f64], level: f64, n_resamples: usize, seed: Seed) -> Result<BootstrapCi> {
    let x: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    if x.is_empty() || n_resamples == 0 || !(0.0 < level && level < 1.0) {
        return Err(EvalError::BadArgument {
            what: "bootstrap_ci",
            reason: format!("{} values, {n_resamples} resamples, level {level}", x.len()),
        });
    }
    let mut m = resample_means(&x, n_resamples, seed);
    m.sort_by(f64::total_cmp);
    let a = (1.0 - level) / 2.0;
    Ok(BootstrapCi {
        mean: super::mean(&x),
        lo: quantile_type7(&m, a),
        hi: quantile_type7(&m, 1.0 - a),
        level,
        n_resamples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_definition() {
        // numpy.percentile([1,2,3,4], 25) = 1.75; 50 -> 2.5.
        assert_eq!(quantile_type7(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75);
        assert_eq!(quantile_type7(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
    }

    #[test]
    fn seeded_and_sensible() {
        let x: Vec<f64> = (0..200).map(|i| ((i * 37) % 100) as f64 / 100.0).collect();
        let a = bootstrap_ci(&x, 0.95, 2000, Seed::new(1)).unwrap();
        let b = bootstrap_ci(&x, 0.95, 2000, Seed::new(1)).unwrap();
        assert_eq!(a, b);
        assert!(a.lo < a.mean && a.mean < a.hi);
        // standard error of the mean of ~U(0,1) with n = 200 is ~0.0204: half-width ~0.04.
        let hw = (a.hi - a.lo) / 2.0;
        assert!(hw > 0.03 && hw < 0.05, "{hw}");
        let c = bootstrap_ci(&[0.5; 8], 0.9, 100, Seed::new(2)).unwrap();
        assert_eq!((c.lo, c.hi), (0.5, 0.5)); // sums of 0.5 are exact in binary
        assert!(bootstrap_ci(&[], 0.95, 10, Seed::new(0)).is_err());
    }
}
