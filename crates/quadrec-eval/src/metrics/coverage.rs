//! Item coverage@K: share of the catalogue that appears in at least one user's top-K list.

use super::{Compute, KRule, MetricContext, MetricDef, MetricKind};

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "coverage",
    kind: MetricKind::Exposure,
    k: KRule::Required,
    about: "distinct items in all top-K lists / catalogue size",
    needs_popularity: false,
    needs_long_tail: false,
    higher_is_better: true,
    reads_top_list: true,
    compute: Compute::Exposure(compute),
};

fn compute(counts: &[u64], c: &MetricContext<'_>) -> f64 {
    counts.iter().filter(|&&x| x > 0).count() as f64 / f64::from(c.n_items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::TopLists;

    #[test]
    fn distinct_over_catalogue() {
        let t = TopLists::from_lists(&[(0, vec![1, 2, 3]), (1, vec![2, 4, 0])]);
        let c = MetricContext { n_items: 10, item_popularity: None, long_tail: None };
        assert!((compute(&t.exposure_counts(2, 10), &c) - 0.3).abs() < 1e-15); // {1,2,4}
        assert!((compute(&t.exposure_counts(3, 10), &c) - 0.5).abs() < 1e-15); // {0,1,2,3,4}
    }
}
