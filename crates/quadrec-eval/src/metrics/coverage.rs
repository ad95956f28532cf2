//! Item coverage@K: share of the catalogue that appears in at least one user's top-K list.

use super::{Compute, KRule, MetricContext, MetricDef, MetricKind};
use crate::results::TopLists;

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

fn compute(t: &TopLists, k: u64, c: &MetricContext<'_>) -> f64 {
    let counts = t.exposure_counts(k as usize, c.n_items);
    counts.iter().filter(|&&x| x > 0).count() as f64 / f64::from(c.n_items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_over_catalogue() {
        let t = TopLists::from_lists(&[(0, vec![1, 2, 3]), (1, vec![2, 4, 0])]);
        let c = MetricContext { n_items: 10, item_popularity: None, long_tail: None };
        assert!((compute(&t, 2, &c) - 0.3).abs() < 1e-15); // {1,2,4}
        assert!((compute(&t, 3, &c) - 0.5).abs() < 1e-15); // {0,1,2,3,4}
    }
}
