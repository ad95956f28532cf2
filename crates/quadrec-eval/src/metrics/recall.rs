//! Recall@K: relevant items in the top K divided by all relevant items of the user (including
//! relevant items absent from a candidate list). Under ties: expected hits by linearity.

use super::{Compute, KRule, MetricContext, MetricDef, MetricKind};
use crate::ranking::UserRanking;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "recall",
    kind: MetricKind::Ranking,
    k: KRule::Required,
    about: "hits in the top K / number of relevant items",
    needs_popularity: false,
    needs_long_tail: false,
    higher_is_better: true,
    reads_top_list: false,
    compute: Compute::PerUser(compute),
};

fn compute(r: &UserRanking, k: Option<u64>, _: &MetricContext<'_>) -> Option<f64> {
    (r.n_relevant > 0)
        .then(|| (r.expected_hits(k.expect("recall requires @K")) / r.n_relevant as f64).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranking::TieGroup;

    #[test]
    fn tie_is_linear() {
        // 3 relevant: one at rank 1, two in a tie of 4 at ranks 5..=8; K = 6 covers 2 of 4.
        // E[hits@6] = 1 + 2 * 2/4 = 2, recall = 2/3.
        let r = UserRanking {
            user: 0,
            n_relevant: 3,
            n_candidates: 20,
            groups: vec![
                TieGroup { above: 0, size: 1, relevant: 1 },
                TieGroup { above: 4, size: 4, relevant: 2 },
            ],
            top: vec![],
        };
        let v = compute(&r, Some(6), &MetricContext::default()).unwrap();
        assert!((v - 2.0 / 3.0).abs() < 1e-15);
    }
}
