//! Wilcoxon signed-rank test of paired per-user values (two-sided), matching
//! `scipy.stats.wilcoxon(a, b, zero_method="wilcox", correction=False)`:
//! zero differences dropped, |d| ranked with mid-ranks, W+ = sum of ranks of positive d.
//! - Exact (n <= 50, no ties, no zeros): null distribution of W+ by dynamic programming over
//!   the 2^n sign patterns; p = min(1, 2 min(P(W+ >= w), P(W+ <= w))).
//! - Otherwise normal approximation with tie correction:
//!   z = (W+ - n(n+1)/4) / sqrt((n(n+1)(2n+1) - sum(t^3 - t)/2) / 24), p = 2 Phi(-|z|)
//!   (Phi from statrs).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use super::paired_differences;
use crate::error::{EvalError, Result};

/// How the p-value was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WilcoxonMethod {
    /// Exact null distribution.
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
    let mut ranks = vec![0.0; n];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && d[idx[j + 1]].abs() == d[idx[i]].abs() {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = mid;
        }
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let w_plus: f64 = (0..n).filter(|&k| d[k] > 0.0).map(|k| ranks[k]).sum();
    let total = (n * (n + 1)) as f64 / 2.0;
    let statistic = w_plus.min(total - w_plus);
    let nf = n as f64;
    let (p_value, method) = if n <= 50 && tie_term == 0.0 && !force_normal {
        // counts[s] = number of sign patterns with W+ = s.
        let max = n * (n + 1) / 2;
        let mut counts = vec![0f64; max + 1];
        counts[0] = 1.0;
        for r in 1..=n {
            for s in (r..=max).rev() {
                counts[s] += counts[s - r];
            }
        }
        let all = 2f64.powi(n as i32);
        let w = w_plus.round() as usize;
        let cdf: f64 = counts[..=w].iter().sum::<f64>() / all;
        let sf: f64 = counts[w..].iter().sum::<f64>() / all;
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
}
