//! Gini index of exposure@K: inequality of how often each catalogue item appears in the top-K
//! lists (0 = every item equally exposed, -> 1 = all exposure on one item). With counts c sorted
//! ascending over ALL n catalogue items (zeros included):
//! G = sum_i (2i - n - 1) c_i / (n sum_i c_i), i = 1..n (RecBole's GiniIndex).

use super::{Compute, KRule, MetricContext, MetricDef, MetricKind};

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

fn compute(counts: &[u64], _: &MetricContext<'_>) -> f64 {
    gini_index(counts)
}

/// Gini index of non-negative counts (0 for an all-zero vector).
///
/// Every term of the formula is an integer, so it is evaluated exactly in integers; without
/// sorting when the counts are small (they are at most the number of users): the sorted order
/// is runs of equal values, and a run of `h` items with count `v` starting after position `a`
/// contributes `v * sum_{i=a+1}^{a+h} (2i - n - 1) = v * h * (2a + h - n)`. The result is the
/// same f64 as the sorted sum ([`gini_index_sorted`], which the tests compare against).
pub fn gini_index(counts: &[u64]) -> f64 {
    let n = counts.len();
    let max = counts.iter().copied().max().unwrap_or(0);
    if max as u128 > 4 * n as u128 + 1024 {
        return gini_index_sorted(counts);
    }
    let mut hist = vec![0u64; max as usize + 1];
    for &c in counts {
        hist[c as usize] += 1;
    }
    let (mut num, mut total, mut a) = (0i128, 0i128, 0i128);
    for (v, &h) in hist.iter().enumerate() {
        let (v, h) = (v as i128, h as i128);
        num += v * h * (2 * a + h - n as i128);
        total += v * h;
        a += h;
    }
    if total == 0 {
        return 0.0;
    }
    num as f64 / (n as f64 * total as f64)
}

/// [`gini_index`] by sorting (reference; used for very large counts).
pub fn gini_index_sorted(counts: &[u64]) -> f64 {
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
    use crate::results::TopLists;

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
        assert!((compute(&t.exposure_counts(2, 4), &c) - 6.0 / 16.0).abs() < 1e-15);
    }

    #[test]
    fn histogram_gini_equals_sorted_gini() {
        // Pseudo-random counts with many repeats and zeros, plus large counts (sorted path).
        let mut z = 12345u64;
        for len in [1usize, 2, 7, 100, 1682] {
            let counts: Vec<u64> = (0..len)
                .map(|_| {
                    z = z.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let r = z >> 33;
                    if r.is_multiple_of(3) { 0 } else { r % 50 }
                })
                .collect();
            assert_eq!(gini_index(&counts).to_bits(), gini_index_sorted(&counts).to_bits());
        }
        let big = [0u64, 1 << 40, 3, 1 << 41];
        assert_eq!(gini_index(&big), gini_index_sorted(&big));
        assert_eq!(gini_index(&[0, 0, 0]), 0.0);
        assert_eq!(gini_index(&[]), 0.0);
    }
}
