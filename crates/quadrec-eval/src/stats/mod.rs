//! Statistics over per-user values: bootstrap confidence interval of a mean, paired tests
//! between two methods (paired bootstrap, paired sign-flip permutation, Wilcoxon signed-rank),
//! Holm correction across the comparisons of a table, and mean +- std over seeds.
//! Randomised procedures take a [`quadrec_core::Seed`]; the normal distribution comes from
//! `statrs` (no hand-written special functions).

mod bootstrap;
mod holm;
mod paired;
mod seeds;
mod wilcoxon;

pub use bootstrap::{BootstrapCi, bootstrap_ci, quantile_type7};
pub use holm::holm;
pub use paired::{PairedTest, paired_bootstrap, paired_permutation};
pub use seeds::{SeedSummary, mean_std};
pub use wilcoxon::{Wilcoxon, WilcoxonMethod, wilcoxon_signed_rank};

use crate::error::{EvalError, Result};

/// Pair two per-user columns, refusing different lengths and dropping pairs where either is NaN.
pub fn paired_differences(a: &[f64], b: &[f64]) -> Result<Vec<f64>> {
    if a.len() != b.len() {
        return Err(EvalError::BadArgument {
            what: "paired test",
            reason: format!("{} values vs {}", a.len(), b.len()),
        });
    }
    Ok(a.iter().zip(b).filter(|(x, y)| !x.is_nan() && !y.is_nan()).map(|(x, y)| x - y).collect())
}

pub(crate) fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}
