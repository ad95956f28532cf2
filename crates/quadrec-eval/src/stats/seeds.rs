//! Mean +- standard deviation of a headline value over training seeds (sample std, n - 1).

use serde::{Deserialize, Serialize};

/// Summary over seeds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedSummary {
    /// Number of seeds.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (NaN for one seed).
    pub std: f64,
}

/// Mean and sample standard deviation of `values`.
pub fn mean_std(values: &[f64]) -> SeedSummary {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let std = if n < 2 {
        f64::NAN
    } else {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    };
    SeedSummary { n, mean, std }
}

impl std::fmt::Display for SeedSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.4} ± {:.4} (n={})", self.mean, self.std, self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_values() {
        // [1, 2, 3, 4]: mean 2.5, var = (2.25+0.25+0.25+2.25)/3 = 5/3.
        let s = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.mean, 2.5);
        assert!((s.std - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!(mean_std(&[1.0]).std.is_nan());
    }
}
