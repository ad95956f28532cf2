//! HR@K (hit ratio): 1 if at least one relevant item is in the top K, else 0; equals Recall@K
//! when each user has one target. Under ties: the hypergeometric probability of a hit.

use super::{Compute, KRule, MetricContext, MetricDef, MetricKind};
use crate::ranking::UserRanking;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "hr",
    kind: MetricKind::Ranking,
    k: KRule::Required,
    about: "1 if any relevant item is in the top K (expected value over random ties)",
    needs_popularity: false,
    needs_long_tail: false,
    higher_is_better: true,
    reads_top_list: false,
    compute: Compute::PerUser(compute),
};

fn compute(r: &UserRanking, k: Option<u64>, _: &MetricContext<'_>) -> Option<f64> {
    (r.n_relevant > 0).then(|| r.prob_any_hit(k.expect("hr requires @K")).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranking::TieGroup;

    #[test]
    fn straddling_tie_is_hypergeometric() {
        // 2 relevant in a tie of 5 at positions 3..=7, K = 4: j = 2 positions inside.
        // P(no hit) = C(3,2)/C(5,2) = 3/10, so HR = 7/10.
        let r = UserRanking {
            user: 0,
            n_relevant: 2,
            n_candidates: 10,
            groups: vec![TieGroup { above: 2, size: 5, relevant: 2 }],
            top: vec![],
        };
        assert!((compute(&r, Some(4), &MetricContext::default()).unwrap() - 0.7).abs() < 1e-15);
        assert_eq!(compute(&r, Some(2), &MetricContext::default()).unwrap(), 0.0);
        assert_eq!(compute(&r, Some(7), &MetricContext::default()).unwrap(), 1.0);
    }
}
