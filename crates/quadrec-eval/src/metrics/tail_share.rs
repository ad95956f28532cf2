//! Long-tail share@K: fraction of the top-K recommended items that belong to the long-tail set
//! (given by the caller, or the items outside the popularity head: [`crate::LongTail`]).

use super::{Compute, KRule, MetricContext, MetricDef, MetricKind};
use crate::ranking::UserRanking;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "tail_share",
    kind: MetricKind::Ranking,
    k: KRule::Required,
    about: "share of the top-K items that are long-tail items",
    needs_popularity: false,
    needs_long_tail: true,
    higher_is_better: true,
    reads_top_list: true,
    compute: Compute::PerUser(compute),
};

fn compute(r: &UserRanking, k: Option<u64>, c: &MetricContext<'_>) -> Option<f64> {
    let lt = c.long_tail.expect("tail_share needs a long-tail set (checked by the evaluator)");
    let k = k.expect("tail_share requires @K") as usize;
    let top = &r.top[..k.min(r.top.len())];
    (!top.is_empty())
        .then(|| top.iter().filter(|&&(i, _)| lt.contains(i)).count() as f64 / top.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fairness::LongTail;

    #[test]
    fn share_of_list() {
        let lt = LongTail::from_items(5, &[1, 3]).unwrap();
        let c = MetricContext { n_items: 5, item_popularity: None, long_tail: Some(&lt) };
        let r = UserRanking::from_list(0, &[0, 1, 2, 3], &[9]);
        assert!((compute(&r, Some(4), &c).unwrap() - 0.5).abs() < 1e-15);
        assert!((compute(&r, Some(2), &c).unwrap() - 0.5).abs() < 1e-15);
        assert_eq!(compute(&r, Some(1), &c).unwrap(), 0.0);
    }
}
