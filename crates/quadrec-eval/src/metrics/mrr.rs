//! MRR / MRR@K: reciprocal rank of the first relevant item (0 if none, or if it is after K).
//! Under ties: expectation over the position of the first relevant item in its tie group.

use super::{Compute, KRule, MetricContext, MetricDef, MetricKind};
use crate::ranking::UserRanking;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "mrr",
    kind: MetricKind::Ranking,
    k: KRule::Optional,
    about: "1 / rank of the first relevant item (0 beyond K when @K is given)",
    needs_popularity: false,
    needs_long_tail: false,
    higher_is_better: true,
    reads_top_list: false,
    compute: Compute::PerUser(compute),
};

fn compute(r: &UserRanking, k: Option<u64>, _: &MetricContext<'_>) -> Option<f64> {
    // Sums of expectations can exceed 1 by an ulp; the true value is in [0, 1].
    (r.n_relevant > 0).then(|| r.expected_reciprocal_rank(k).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranking::TieGroup;

    #[test]
    fn tie_expectation() {
        // 2 relevant in a tie of 4 after 1 better item (ranks 2..=5).
        // P(J=1) = 2/4, P(J=2) = (2/4)(2/3) = 1/3, P(J=3) = (2/4)(1/3) = 1/6.
        // MRR = (1/2)/2 + (1/3)/3 + (1/6)/4; MRR@3 drops the last term.
        let r = UserRanking {
            user: 0,
            n_relevant: 2,
            n_candidates: 9,
            groups: vec![TieGroup { above: 1, size: 4, relevant: 2 }],
            top: vec![],
        };
        let c = MetricContext::default();
        let full = 0.25 + 1.0 / 9.0 + 1.0 / 24.0;
        assert!((compute(&r, None, &c).unwrap() - full).abs() < 1e-15);
        assert!((compute(&r, Some(3), &c).unwrap() - (0.25 + 1.0 / 9.0)).abs() < 1e-15);
        assert_eq!(compute(&r, Some(1), &c).unwrap(), 0.0);
    }
}
