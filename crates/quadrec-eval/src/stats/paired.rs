//! Paired tests between two methods evaluated on the same users (per-user differences d = a - b,
//! pairs with a NaN dropped).
//! - Paired bootstrap: resample users; CI of the mean difference; two-sided p-value of
//!   "mean difference = 0" from the bootstrap distribution shifted to the null
//!   (Efron & Tibshirani 1993, ch. 16): p = (1 + #{|m* - m| >= |m|}) / (1 + B).
//! - Paired permutation (sign flip): under H0 each difference is symmetric around 0; exact over
//!   all 2^n sign vectors when n <= 20, otherwise B seeded random flips with
//!   p = (1 + #{|T*| >= |T|}) / (1 + B) (Phipson & Smyth 2010).

use quadrec_core::Seed;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::bootstrap::{quantile_type7, resample_means};
use super::{mean, paired_differences};
use crate::error::{EvalError, Result};

/// Result of a paired test.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairedTest {
    /// Pairs used.
    pub n: usize,
    /// Mean of a - b.
    pub mean_diff: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// 95% CI of the mean difference (paired bootstrap only; NaN for permutation).
    pub ci_lo: f64,
    /// Upper CI bound.
    pub ci_hi: f64,
    /// Resamples / permutations used (2^n when exact).
    pub n_resamples: u64,
}

// Relative slack so that floating-point noise in re-summed means does not flip `>=`.
const EPS: f64 = 1e-12;

/// Paired bootstrap test of mean(a - b) = 0.
pub fn paired_bootstrap(
    a: &[f64],
    b: &[f64],
    n_resamples: usize,
    seed: Seed,
) -> Result<PairedTest> {
    let d = paired_differences(a, b)?;
    if d.is_empty() || n_resamples == 0 {
        return Err(EvalError::BadArgument {
            what: "paired_bootstrap",
            reason: format!("{} pairs, {n_resamples} resamples", d.len()),
        });
    }
    let m = mean(&d);
    let mut ms = resample_means(&d, n_resamples, seed);
    let count = ms.iter().filter(|&&x| (x - m).abs() >= m.abs() * (1.0 - EPS)).count();
    ms.sort_by(f64::total_cmp);
    Ok(PairedTest {
        n: d.len(),
        mean_diff: m,
        p_value: (1 + count) as f64 / (1 + n_resamples) as f64,
        ci_lo: quantile_type7(&ms, 0.025),
        ci_hi: quantile_type7(&ms, 0.975),
        n_resamples: n_resamples as u64,
    })
}

/// Paired sign-flip permutation test of mean(a - b) = 0 (exact for n <= 20).
pub fn paired_permutation(
    a: &[f64],
    b: &[f64],
    n_resamples: usize,
    seed: Seed,
) -> Result<PairedTest> {
    let d = paired_differences(a, b)?;
    let n = d.len();
    if n == 0 {
        return Err(EvalError::BadArgument {
            what: "paired_permutation",
            reason: "no pairs".into(),
        });
    }
    let t = d.iter().sum::<f64>().abs();
    let thr = t * (1.0 - EPS);
    let (p, used) = if n <= 20 {
        let total = 1u64 << n;
        let mut count = 0u64;
        for mask in 0..total {
            let s: f64 =
                d.iter().enumerate().map(|(i, &x)| if mask >> i & 1 == 1 { -x } else { x }).sum();
            count += u64::from(s.abs() >= thr);
        }
        (count as f64 / total as f64, total)
    } else {
        if n_resamples == 0 {
            return Err(EvalError::BadArgument {
                what: "paired_permutation",
                reason: "0 resamples".into(),
            });
        }
        let mut rng = seed.rng();
        let mut count = 0u64;
        for _ in 0..n_resamples {
            let s: f64 = d.iter().map(|&x| if rng.random::<bool>() { -x } else { x }).sum();
            count += u64::from(s.abs() >= thr);
        }
        ((1 + count) as f64 / (1 + n_resamples) as f64, n_resamples as u64)
    };
    Ok(PairedTest {
        n,
        mean_diff: mean(&d),
        p_value: p,
        ci_lo: f64::NAN,
        ci_hi: f64::NAN,
        n_resamples: used,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_sign_flip_by_hand() {
        // d = [1, 2, 3]: sums over the 8 sign vectors: ±1±2±3 -> |s| in {6,4,2,0,0,2,4,6};
        // |s| >= 6 in 2 of 8: p = 1/4.
        let p = paired_permutation(&[1.0, 2.0, 3.0], &[0.0; 3], 0, Seed::new(0)).unwrap();
        assert_eq!(p.p_value, 0.25);
        assert_eq!(p.n_resamples, 8);
        assert_eq!(p.mean_diff, 2.0);
    }

    #[test]
    fn clear_difference_is_significant_and_none_is_not() {
        let a: Vec<f64> = (0..100).map(|i| (i % 10) as f64 / 10.0 + 0.2).collect();
        let b: Vec<f64> = (0..100).map(|i| (i % 10) as f64 / 10.0).collect();
        let pb = paired_bootstrap(&a, &b, 1000, Seed::new(3)).unwrap();
        assert!(pb.p_value < 0.01 && (pb.mean_diff - 0.2).abs() < 1e-12);
        let pp = paired_permutation(&a, &b, 1000, Seed::new(3)).unwrap();
        assert!(pp.p_value < 0.01);
        let same = paired_permutation(&a, &a, 1000, Seed::new(3)).unwrap();
        assert_eq!(same.p_value, 1.0);
        assert!(paired_bootstrap(&a, &b[..5], 10, Seed::new(0)).is_err());
    }
}
