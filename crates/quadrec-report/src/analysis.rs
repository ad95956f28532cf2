//! Small analyses over leaderboard rows: Kendall's tau-b between two orderings of the same
//! methods (protocol robustness), and the Pareto front of quality vs cost.

/// Kendall's tau-b between paired scores `x` and `y` (same methods, same order):
/// `(C - D) / sqrt((n0 - n1) (n0 - n2))` with C/D the concordant/discordant pairs,
/// n0 = n(n-1)/2, n1/n2 the pairs tied in x/y. `None` when undefined (fewer than 2 items, or
/// one side constant), or when a score is NaN.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len();
    if n != y.len() || n < 2 || x.iter().chain(y).any(|v| v.is_nan()) {
        return None;
    }
    let (mut c, mut d, mut tx, mut ty) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let sx = (x[i] - x[j]).partial_cmp(&0.0).map(|o| o as i8).unwrap_or(0);
            let sy = (y[i] - y[j]).partial_cmp(&0.0).map(|o| o as i8).unwrap_or(0);
            if sx == 0 {
                tx += 1;
            }
            if sy == 0 {
                ty += 1;
            }
            if sx != 0 && sy != 0 {
                if sx == sy {
                    c += 1;
                } else {
                    d += 1;
                }
            }
        }
    }
    let n0 = (n * (n - 1) / 2) as i64;
    let den = (((n0 - tx) * (n0 - ty)) as f64).sqrt();
    (den > 0.0).then(|| (c - d) as f64 / den)
}

/// Indices of the Pareto-optimal points among `(cost, quality)` pairs, where lower cost and
/// higher quality are better, sorted by ascending cost (then descending quality). A point is
/// dominated when another point is no worse on both axes and strictly better on one; identical
/// points are all kept. Points with a NaN coordinate are never on the front.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<usize> {
    let ok = |p: &(f64, f64)| !p.0.is_nan() && !p.1.is_nan();
    let mut front: Vec<usize> = (0..points.len())
        .filter(|&i| ok(&points[i]))
        .filter(|&i| {
            let (ci, qi) = points[i];
            !points.iter().any(|p| ok(p) && p.0 <= ci && p.1 >= qi && (p.0 < ci || p.1 > qi))
        })
        .collect();
    front.sort_by(|&a, &b| {
        points[a]
            .0
            .total_cmp(&points[b].0)
            .then(points[b].1.total_cmp(&points[a].1))
            .then(a.cmp(&b))
    });
    front
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tau_on_hand_made_orderings() {
        // identical and reversed orderings
        assert_eq!(kendall_tau_b(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 30.0, 40.0]), Some(1.0));
        assert_eq!(kendall_tau_b(&[1.0, 2.0, 3.0, 4.0], &[4.0, 3.0, 2.0, 1.0]), Some(-1.0));
        // one swapped adjacent pair of 4: C = 5, D = 1, tau = 4/6
        let t = kendall_tau_b(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 4.0, 3.0]).unwrap();
        assert!((t - 4.0 / 6.0).abs() < 1e-15);
        // ties: x = [1,1,2], y = [1,2,3]: pairs (0,1) tied in x; (0,2),(1,2) concordant.
        // n0 = 3, n1 = 1, n2 = 0: tau_b = 2 / sqrt(2 * 3) (scipy.stats.kendalltau gives 0.8165)
        let t = kendall_tau_b(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]).unwrap();
        assert!((t - 2.0 / 6f64.sqrt()).abs() < 1e-15);
        assert_eq!(kendall_tau_b(&[1.0, 1.0], &[1.0, 2.0]), None, "x constant");
        assert_eq!(kendall_tau_b(&[1.0], &[1.0]), None);
    }

    #[test]
    fn pareto_on_hand_made_points() {
        // (cost, quality)
        let pts = [
            (1.0, 0.10),     // 0: cheapest -> front
            (2.0, 0.30),     // 1: front
            (3.0, 0.20),     // 2: dominated by 1
            (5.0, 0.40),     // 3: front (best quality)
            (5.0, 0.35),     // 4: dominated by 3 (same cost, lower quality)
            (2.0, 0.30),     // 5: identical to 1 -> kept
            (f64::NAN, 0.9), // 6: NaN never on the front
            (0.5, 0.05),     // 7: cheaper than everything -> front
        ];
        assert_eq!(pareto_front(&pts), vec![7, 0, 1, 5, 3]);
        assert!(pareto_front(&[]).is_empty());
    }
}
