//! MAP@K: AP@K = (1 / min(R, K)) * sum over relevant positions p <= K of precision@p.
//! The min(R, K) denominator (RecBole, most recommender papers) gives a perfect top-K list the
//! score one. trec_eval's `map_cut` and ranx divide by R instead: the two agree whenever R <= K (always
//! under leave-one-out); the golden test checks both the agreement and the R > K relation.

use super::{Compute, KRule, MetricContext, MetricDef, MetricKind};
use crate::ranking::UserRanking;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "map",
    kind: MetricKind::Ranking,
    k: KRule::Required,
    about: "mean of precision@p over relevant positions p <= K, divided by min(R, K)",
    needs_popularity: false,
    needs_long_tail: false,
    higher_is_better: true,
    reads_top_list: false,
    compute: Compute::PerUser(compute),
};

fn compute(r: &UserRanking, k: Option<u64>, _: &MetricContext<'_>) -> Option<f64> {
    let k = k.expect("map requires @K");
    // Sums of expectations can exceed 1 by an ulp; the true value is in [0, 1].
    (r.n_relevant > 0).then(|| (r.expected_ap_numerator(k) / r.n_relevant.min(k) as f64).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranking::TieGroup;

    #[test]
    fn hand_formulas() {
        let c = MetricContext::default();
        // relevant at ranks 1 and 3, R = 2: AP = (1/1 + 2/3) / 2.
        let r = UserRanking::from_list(0, &[1, 2, 3, 4], &[1, 3]);
        assert!((compute(&r, Some(4), &c).unwrap() - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-15);
        // K = 2: only rank 1 counts, denominator min(2, 2) = 2.
        assert!((compute(&r, Some(2), &c).unwrap() - 0.5).abs() < 1e-15);
        // 2 relevant tied at ranks 1..=2 (the whole group relevant): AP = 1.
        let t = UserRanking {
            user: 0,
            n_relevant: 2,
            n_candidates: 5,
            groups: vec![TieGroup { above: 0, size: 2, relevant: 2 }],
            top: vec![],
        };
        assert!((compute(&t, Some(5), &c).unwrap() - 1.0).abs() < 1e-15);
        // 1 relevant tied with 1 other at ranks 1..=2: AP = (1 + 1/2)/2.
        let u = UserRanking {
            user: 0,
            n_relevant: 1,
            n_candidates: 5,
            groups: vec![TieGroup { above: 0, size: 2, relevant: 1 }],
            top: vec![],
        };
        assert!((compute(&u, Some(5), &c).unwrap() - 0.75).abs() < 1e-15);
    }
}
