//! Gini index of exposure@K: inequality of how often each catalogue item appears in the top-K
//! lists (0 = every item equally exposed, -> 1 = all exposure on one item). With counts c sorted
//! ascending over ALL n catalogue items (zeros included):
//! G = sum_i (2i - n - 1) c_i / (n sum_i c_i), i = 1..n (RecBole's GiniIndex).

use super::{Compute, KRule, MetricContext, MetricDef, MetricKind};
use crate::results::TopLists;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "gini",
    kind: MetricKind::Exposure,
    k: KRule::Required,
    about: "Gini index of item exposure counts in the top-K lists",
    needs_popularity: false,
    needs_long_tail: false,
    higher_is_better: false,
    reads_top_list: true,
    compute: Compute::Exposure(compute),
};

fn compute(t: &TopLists, k: u64, c: &MetricContext<'_>) -> f64 {
    gini_index(&t.exposure_counts(k as usize, c.n_items))
}

/// Gini index of non-negative counts (0 for an all-zero vector).
pub fn gini_index(counts: &[u64]) -> f64 {
    let mut c = counts.to_vec();
    c.sort_unstable();
    let n = c.len() as f64;
    let total: f64 = c.iter().map(|&x| x as f64).sum();
    if total == 0.0 {
        return 0.0;
    }
    let num: f64 =
        c.iter().enumerate().map(|(i, &x)| (2.0 * (i + 1) as f64 - n - 1.0) * x as f64).sum();
    num / (n * total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_values() {
        assert_eq!(gini_index(&[3, 3, 3]), 0.0);
        // all on one of n items: (n-1)/n.
        assert!((gini_index(&[0, 0, 0, 5]) - 0.75).abs() < 1e-15);
        // [1, 2, 3]: ((-2)*1 + 0*2 + 2*3) / (3*6) = 4/18.
        assert!((gini_index(&[3, 1, 2]) - 4.0 / 18.0).abs() < 1e-15);
        let t = TopLists::from_lists(&[(0, vec![0, 1]), (1, vec![0, 2])]);
        let c = MetricContext { n_items: 4, item_popularity: None, long_tail: None };
        // counts [2,1,1,0] sorted [0,1,1,2]: (-3*0 - 1*1 + 1*1 + 3*2) / (4*4) = 6/16.
        assert!((compute(&t, 2, &c) - 6.0 / 16.0).abs() < 1e-15);
    }
}
