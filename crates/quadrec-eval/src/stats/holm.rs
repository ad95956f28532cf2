//! Holm's step-down correction (Holm 1979) of the p-values of the comparisons in one table:
//! sort ascending, adj_(i) = max_{j<=i} min(1, (m - j + 1) p_(j)), returned in input order.

/// Holm-adjusted p-values, in the order given.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut idx: Vec<usize> = (0..m).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in idx.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_values() {
        // p = [0.01, 0.04, 0.03], m = 3: sorted 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max 0.06.
        let a = holm(&[0.01, 0.04, 0.03]);
        let want = [0.03, 0.06, 0.06];
        for (x, w) in a.iter().zip(want) {
            assert!((x - w).abs() < 1e-15);
        }
        assert_eq!(holm(&[0.6, 0.9]), vec![1.0, 1.0]);
        assert!(holm(&[]).is_empty());
    }
}
