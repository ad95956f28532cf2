//! NDCG@K with binary gains: DCG@K = sum over relevant positions p <= K of 1/log2(p+1);
//! IDCG@K = sum_{i=1}^{min(R,K)} 1/log2(i+1) (ranx, trec_eval `ndcg_cut`, RecBole).

use super::{Compute, KRule, MetricContext, MetricDef, MetricKind};
use crate::ranking::UserRanking;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "ndcg",
    kind: MetricKind::Ranking,
    k: KRule::Required,
    about: "DCG@K / ideal DCG@K, binary gains, log2 discount",
    needs_popularity: false,
    needs_long_tail: false,
    higher_is_better: true,
    reads_top_list: false,
    compute: Compute::PerUser(compute),
};

fn compute(r: &UserRanking, k: Option<u64>, _: &MetricContext<'_>) -> Option<f64> {
    let k = k.expect("ndcg requires @K");
    // Sums of expectations can exceed 1 by an ulp; the true value is in [0, 1].
    (r.n_relevant > 0).then(|| (r.expected_dcg(k) / r.ideal_dcg(k)).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranking::TieGroup;

    #[test]
    fn hand_formulas() {
        let c = MetricContext::default();
        // relevant at ranks 2 and 3, R = 2: (1/log2 3 + 1/log2 4) / (1 + 1/log2 3).
        let r = UserRanking::from_list(0, &[1, 2, 3, 4], &[2, 3]);
        let want = (1.0 / 3f64.log2() + 0.5) / (1.0 + 1.0 / 3f64.log2());
        assert!((compute(&r, Some(4), &c).unwrap() - want).abs() < 1e-15);
        // one target tied with 2 others at ranks 1..=3: mean of the three discounts.
        let t = UserRanking {
            user: 0,
            n_relevant: 1,
            n_candidates: 3,
            groups: vec![TieGroup { above: 0, size: 3, relevant: 1 }],
            top: vec![],
        };
        let want = (1.0 + 1.0 / 3f64.log2() + 0.5) / 3.0;
        assert!((compute(&t, Some(10), &c).unwrap() - want).abs() < 1e-15);
    }
}
