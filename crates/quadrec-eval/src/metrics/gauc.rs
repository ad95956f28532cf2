//! GAUC (group AUC, Zhou et al., DIN, KDD 2018): per-user AUC weighted by the user's number of
//! impressions (rows), over users that have both a positive and a negative row.

use super::{Compute, KRule, MetricDef, MetricKind};
use crate::error::{EvalError, Result};
use crate::metrics::auc::auc_exact;
use crate::pointwise::PointwiseData;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "gauc",
    kind: MetricKind::Pointwise,
    k: KRule::Forbidden,
    about: "impression-weighted mean of per-user AUC (users with both classes)",
    needs_popularity: false,
    needs_long_tail: false,
    higher_is_better: true,
    reads_top_list: false,
    compute: Compute::Pointwise { per_user: auc_exact, global },
};

fn global(d: &PointwiseData) -> Result<f64> {
    let (mut num, mut den) = (0.0, 0.0);
    for u in 0..d.n_users() {
        let (s, l) = d.user_rows(u);
        if let Some(a) = auc_exact(s, l) {
            num += a * s.len() as f64;
            den += s.len() as f64;
        }
    }
    if den == 0.0 {
        return Err(EvalError::BadArgument {
            what: "gauc",
            reason: "no user has both a positive and a negative row".into(),
        });
    }
    Ok(num / den)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pointwise::PointwiseRow;

    #[test]
    fn weighted_by_impressions() {
        let row = |user, score, label| PointwiseRow { user, item: 0, label, score };
        // user 0: 2 rows, AUC 1; user 1: 4 rows, AUC (1+0+1+1)/4 = 3/4; user 2: one class, skipped.
        let rows = vec![
            row(0, 0.9, true),
            row(0, 0.1, false),
            row(1, 0.6, true),
            row(1, 0.2, true),
            row(1, 0.5, false),
            row(1, 0.1, false),
            row(2, 0.3, true),
        ];
        let d = PointwiseData::from_rows(&rows).unwrap();
        let g = global(&d).unwrap();
        assert!((g - (2.0 * 1.0 + 4.0 * 0.75) / 6.0).abs() < 1e-15);
    }
}
