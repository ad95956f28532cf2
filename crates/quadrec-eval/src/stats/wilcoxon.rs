//! Wilcoxon signed-rank test of paired per-user values (two-sided), matching
//! `scipy.stats.wilcoxon(a, b, zero_method="wilcox", correction=False)`:
//! zero differences dropped, |d| ranked with mid-ranks, W+ = sum of ranks of positive d.
//! - Exact (n <= 50 non-zero differences, ties allowed): the null distribution of W+ over the
//!   2^n equally likely sign patterns of the OBSERVED ranks (mid-ranks included), by dynamic
//!   programming over doubled ranks (integers: a mid-rank is a multiple of 1/2);
//!   p = min(1, 2 min(P(W+ >= w), P(W+ <= w))). Without ties this is the classical exact test
//!   (scipy `method="exact"`); with ties it is the exact conditional (sign-flip permutation)
//!   test, equal to scipy `method=PermutationMethod(n_resamples=inf)` (goldens in
//!   `tests/golden/wilcoxon_ties.json`, script `tests/golden/make_wilcoxon_ties.py`).
//!   Counts stay below 2^50 < 2^53, so they are exact in f64.
//! - Otherwise (n > 50, or forced) normal approximation with tie correction:
//!   z = (W+ - n(n+1)/4) / sqrt((n(n+1)(2n+1) - sum(t^3 - t)/2) / 24), p = 2 Phi(-|z|)
//!   (Phi from statrs).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use super::paired_differences;
use crate::error::{EvalError, Result};

/// How the p-value was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WilcoxonMethod {
    /// Exact null distribution of W+ over the sign patterns of the observed (mid-)ranks.
    Exact,
    /// Normal approximation with tie correction.
    Normal,
}

/// Result of the test.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Wilcoxon {
    /// Non-zero differences used.
    pub n: usize,
    /// Sum of ranks of positive differences.
    pub w_plus: f64,
    /// min(W+, W-), scipy's two-sided `statistic`.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Method used.
    pub method: WilcoxonMethod,
}

/// Two-sided Wilcoxon signed-rank test of a vs b (pairs with NaN dropped).
/// `force_normal` uses the normal approximation even where the exact test applies.
pub fn wilcoxon_signed_rank(a: &[f64], b: &[f64], force_normal: bool) -> Result<Wilcoxon> {
    let d: Vec<f64> = paired_differences(a, b)?.into_iter().filter(|&x| x != 0.0).collect();
    let n = d.len();
    if n == 0 {
        return Err(EvalError::BadArgument {
            what: "wilcoxon_signed_rank",
            reason: "all differences are zero".into(),
        });
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&i, &j| d[i].abs().total_cmp(&d[j].abs()));
    // Doubled mid-ranks: integers (positions i..=j share rank (i + j)/2 + 1).
    let mut ranks2 = vec![0usize; n];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && d[idx[j + 1]].abs() == d[idx[i]].abs() {
            j += 1;
        }
        for &k in &idx[i..=j] {
            ranks2[k] = i + j + 2;
        }
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let w2: usize = (0..n).filter(|&k| d[k] > 0.0).map(|k| ranks2[k]).sum();
    let w_plus = w2 as f64 / 2.0;
    let total = (n * (n + 1)) as f64 / 2.0;
    let statistic = w_plus.min(total - w_plus);
    let nf = n as f64;
    let (p_value, method) = if n <= 50 && !force_normal {
        // counts[s] = number of sign patterns with 2 W+ = s (doubled ranks sum to n(n+1)).
        let max = n * (n + 1);
        let mut counts = vec![0f64; max + 1];
        counts[0] = 1.0;
        for &r in &ranks2 {
            for s in (r..=max).rev() {
                counts[s] += counts[s - r];
            }
        }
        let all = 2f64.powi(n as i32);
        let cdf: f64 = counts[..=w2].iter().sum::<f64>() / all;
        let sf: f64 = counts[w2..].iter().sum::<f64>() / all;
        ((2.0 * cdf.min(sf)).min(1.0), WilcoxonMethod::Exact)
    } else {
        let mn = nf * (nf + 1.0) / 4.0;
        let se = ((nf * (nf + 1.0) * (2.0 * nf + 1.0) - tie_term / 2.0) / 24.0).sqrt();
        let z = (w_plus - mn) / se;
        let normal = Normal::new(0.0, 1.0).expect("standard normal");
        (2.0 * normal.cdf(-z.abs()), WilcoxonMethod::Normal)
    };
    Ok(Wilcoxon { n, w_plus, statistic, p_value, method })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_by_hand() {
        // d = [1, 2, 3] all positive: W+ = 6 is the max of 8 patterns: P(W+ >= 6) = 1/8, p = 1/4.
        let w = wilcoxon_signed_rank(&[1.0, 2.0, 3.0], &[0.0; 3], false).unwrap();
        assert_eq!(
            (w.n, w.w_plus, w.statistic, w.p_value, w.method),
            (3, 6.0, 0.0, 0.25, WilcoxonMethod::Exact)
        );
        // zeros are dropped.
        let w = wilcoxon_signed_rank(&[1.0, 2.0, 3.0, 5.0], &[0.0, 0.0, 0.0, 5.0], false).unwrap();
        assert_eq!(w.n, 3);
    }

    #[test]
    fn exact_with_ties_by_hand() {
        // d = [1, 1, -2]: mid-ranks 1.5, 1.5, 3; W+ = 3. Sign patterns (8, equally likely) give
        // W+ in {0, 1.5, 1.5, 3, 3, 4.5, 4.5, 6}: P(W+ <= 3) = P(W+ >= 3) = 5/8, p = min(1, 10/8).
        let w = wilcoxon_signed_rank(&[1.0, 1.0, 0.0], &[0.0, 0.0, 2.0], false).unwrap();
        assert_eq!((w.n, w.w_plus, w.p_value, w.method), (3, 3.0, 1.0, WilcoxonMethod::Exact));
        // d = [1, 1, 1, 1] (mid-rank 2.5 each): W+ = 10 only when all signs are +: p = 2/16.
        let w = wilcoxon_signed_rank(&[1.0; 4], &[0.0; 4], false).unwrap();
        assert_eq!((w.w_plus, w.statistic, w.p_value), (10.0, 0.0, 0.125));
    }
}
