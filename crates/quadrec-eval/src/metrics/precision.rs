//! Precision@K: relevant items in the top K divided by K (K, not the list length, as in
//! trec_eval, ranx and RecBole).

use super::{Compute, KRule, MetricContext, MetricDef, MetricKind};
use crate::ranking::UserRanking;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "precision",
    kind: MetricKind::Ranking,
    k: KRule::Required,
    about: "hits in the top K / K",
    needs_popularity: false,
    needs_long_tail: false,
    higher_is_better: true,
    reads_top_list: false,
    compute: Compute::PerUser(compute),
};

fn compute(r: &UserRanking, k: Option<u64>, _: &MetricContext<'_>) -> Option<f64> {
    let k = k.expect("precision requires @K");
    (r.n_relevant > 0).then(|| (r.expected_hits(k) / k as f64).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_formula() {
        // relevant at ranks 1 and 4 of a list: P@5 = 2/5, P@2 = 1/2.
        let r = UserRanking::from_list(0, &[5, 6, 7, 8, 9], &[5, 8]);
        let c = MetricContext::default();
        assert!((compute(&r, Some(5), &c).unwrap() - 0.4).abs() < 1e-15);
        assert!((compute(&r, Some(2), &c).unwrap() - 0.5).abs() < 1e-15);
    }
}
