//! EASE: embarrassingly shallow autoencoder, a closed-form item-item linear model.
//!
//! Paper: Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019. Survey:
//! scoring/ranking stage, top-N ranking task, conventional. Recipe: RecBole 1.2.1 `EASE`
//! (reg_weight = 250). `P = (X^T X + lambda I)^-1`, `B = I - P diag(1/diag(P))`, i.e.
//! `B[j, i] = -P[j, i] / P[i, i]` off the diagonal and 0 on it; `score(u) = x_u B`. The
//! inverse is computed in f64 by Cholesky (`G = L L^T`, `P = L^-T L^-1`), in pure Rust.
//! Difference from RecBole: the query's input history is used (train + valid at test time).

use super::item_item::{ItemItem, binary_rows};
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, TrainView, UserQuery, parse_params,
};
use serde::{Deserialize, Serialize};

const ID: &str = "ease";

/// EASE params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EaseParams {
    /// L2 regularisation lambda added to the Gram diagonal.
    pub reg_weight: f64,
}

impl Default for EaseParams {
    fn default() -> Self {
        EaseParams { reg_weight: 250.0 }
    }
}

/// EASE.
#[derive(Debug)]
pub struct Ease {
    p: EaseParams,
    model: Option<ItemItem>,
}

/// Inverse of a symmetric positive-definite row-major `g` `[n, n]` via Cholesky.
/// Returns `None` if `g` is not positive definite.
pub fn spd_inverse(g: &[f64], n: usize) -> Option<Vec<f64>> {
    // L (lower, row-major): L[i][j] = (G[i][j] - <L[i][..j], L[j][..j]>) / L[j][j].
    let mut l = vec![0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let (ri, rj) = (&l[i * n..i * n + j], &l[j * n..j * n + j]);
            let dot: f64 = ri.iter().zip(rj).map(|(a, b)| a * b).sum();
            let s = g[i * n + j] - dot;
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    // M = L^-1 (lower), row by row: M[i] = (e_i - sum_{k<i} L[i][k] M[k]) / L[i][i].
    let mut m = vec![0f64; n * n];
    for i in 0..n {
        let mut row = vec![0f64; i + 1];
        row[i] = 1.0;
        for k in 0..i {
            let c = l[i * n + k];
            if c != 0.0 {
                let mk = &m[k * n..k * n + k + 1];
                for (r, v) in row.iter_mut().zip(mk) {
                    *r -= c * v;
                }
            }
        }
        let d = l[i * n + i];
        for (t, r) in m[i * n..i * n + i + 1].iter_mut().zip(&row) {
            *t = r / d;
        }
    }
    // P = M^T M = sum_k M[k]^T M[k]: rank-1 updates over the lower rows, then mirror.
    let mut p = vec![0f64; n * n];
    for k in 0..n {
        let mk = &m[k * n..k * n + k + 1];
        for a in 0..=k {
            let c = mk[a];
            if c != 0.0 {
                let pa = &mut p[a * n..a * n + a + 1];
                for (t, v) in pa.iter_mut().zip(&mk[..=a]) {
                    *t += c * v;
                }
            }
        }
    }
    for a in 0..n {
        for b in 0..a {
            p[b * n + a] = p[a * n + b];
        }
    }
    Some(p)
}

impl Method for Ease {
    fn fit(&mut self, train: &TrainView, _ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let t0 = std::time::Instant::now();
        let n = train.n_items() as usize;
        let mut g = vec![0f64; n * n];
        for r in binary_rows(train) {
            for &a in &r {
                for &b in &r {
                    g[a as usize * n + b as usize] += 1.0;
                }
            }
        }
        for i in 0..n {
            g[i * n + i] += self.p.reg_weight;
        }
        let p = spd_inverse(&g, n).ok_or_else(|| MethodError::Numerical {
            method: ID.into(),
            message: format!("Gram matrix + {} I is not positive definite", self.p.reg_weight),
        })?;
        let mut w = vec![0f32; n * n];
        for j in 0..n {
            for i in 0..n {
                if i != j {
                    w[j * n + i] = (-p[j * n + i] / p[i * n + i]) as f32;
                }
            }
        }
        self.model = Some(ItemItem { n, n_users: train.n_users(), w });
        Ok(FitReport { fit_seconds: t0.elapsed().as_secs_f64(), ..FitReport::default() })
    }

    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        let m = self.model.as_ref().ok_or(MethodError::NotFitted { method: ID.into() })?;
        m.score_full(ID, queries, out)
    }

    fn score_items(
        &self,
        q: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        let m = self.model.as_ref().ok_or(MethodError::NotFitted { method: ID.into() })?;
        m.score_items(ID, q, items, out)
    }

    /// Entries of B (fitted in closed form).
    fn n_parameters(&self) -> u64 {
        self.model.as_ref().map_or(0, ItemItem::nnz)
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: EaseParams = parse_params(ID, v)?;
    if p.reg_weight <= 0.0 {
        return Err(ParamsError::Invalid {
            method: ID.into(),
            message: "reg_weight must be > 0".into(),
        });
    }
    Ok(Box::new(Ease { p, model: None }))
}

/// Smoke params (a smaller lambda for the tiny data).
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"reg_weight": 10.0})
}

#[cfg(test)]
mod tests {
    use super::spd_inverse;

    #[test]
    fn cholesky_inverse_matches_identity() {
        // G = A A^T + 3 I for a fixed A: SPD.
        let n = 5;
        let a: Vec<f64> = (0..n * n).map(|k| ((k * 7 % 11) as f64 - 5.0) / 3.0).collect();
        let mut g = vec![0f64; n * n];
        for i in 0..n {
            for j in 0..n {
                g[i * n + j] = (0..n).map(|k| a[i * n + k] * a[j * n + k]).sum::<f64>();
            }
            g[i * n + i] += 3.0;
        }
        let p = spd_inverse(&g, n).unwrap();
        for i in 0..n {
            for j in 0..n {
                let v: f64 = (0..n).map(|k| g[i * n + k] * p[k * n + j]).sum();
                let e = if i == j { 1.0 } else { 0.0 };
                assert!((v - e).abs() < 1e-10, "({i},{j}) = {v}");
            }
        }
        assert!(spd_inverse(&[-1.0], 1).is_none());
    }
}
