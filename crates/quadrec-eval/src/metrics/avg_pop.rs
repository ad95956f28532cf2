//! Average popularity@K: mean train popularity (interaction count) of the K recommended items,
//! per user, averaged over users (popularity bias). Reads the concrete top-K list.

use super::{Compute, KRule, MetricContext, MetricDef, MetricKind};
use crate::ranking::UserRanking;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "avg_pop",
    kind: MetricKind::Ranking,
    k: KRule::Required,
    about: "mean train popularity of the top-K items",
    needs_popularity: true,
    needs_long_tail: false,
    higher_is_better: false,
    reads_top_list: true,
    compute: Compute::PerUser(compute),
};

fn compute(r: &UserRanking, k: Option<u64>, c: &MetricContext<'_>) -> Option<f64> {
    let pop = c.item_popularity.expect("avg_pop needs item popularity (checked by the evaluator)");
    let k = k.expect("avg_pop requires @K") as usize;
    let top = &r.top[..k.min(r.top.len())];
    (!top.is_empty()).then(|| {
        top.iter().map(|&(i, _)| f64::from(pop[i as usize])).sum::<f64>() / top.len() as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_list() {
        let pop = [10, 0, 4, 7];
        let c = MetricContext { n_items: 4, item_popularity: Some(&pop), long_tail: None };
        let r = UserRanking::from_list(0, &[0, 2, 3], &[1]);
        assert!((compute(&r, Some(2), &c).unwrap() - 7.0).abs() < 1e-15);
        assert!((compute(&r, Some(10), &c).unwrap() - 7.0).abs() < 1e-15);
    }
}
