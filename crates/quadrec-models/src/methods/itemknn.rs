//! ItemKNN: item-based neighbourhood CF with cosine similarity and shrinkage.
//!
//! Paper: Sarwar et al., "Item-based collaborative filtering recommendation algorithms",
//! WWW 2001; shrinkage as in Koren, "Factor in the neighbors", TKDD 2010. Survey: scoring/ranking
//! stage, top-N ranking task, conventional. Recipe: RecBole 1.2.1 `ItemKNN` defaults (k = 100,
//! shrink = 0.0). `sim(i, j) = |U_i & U_j| / (sqrt(|U_i| |U_j|) + shrink)` on the binary
//! train matrix; each item keeps its `k` most similar neighbours (ties: lower id first), and
//! `score(u, i) = sum_{j in history(u)} sim_k(i, j)`. Differences from RecBole: the history is
//! the query's input history (train + valid items at test time), not the train rows only; the
//! similarity matrix is stored densely (fine up to ~20k items).

use super::item_item::{ItemItem, binary_rows};
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, TrainView, UserQuery, parse_params,
};
use serde::{Deserialize, Serialize};

const ID: &str = "itemknn";

/// ItemKNN params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ItemKnnParams {
    /// Neighbours kept per item.
    pub k: usize,
    /// Shrinkage added to the cosine denominator (0 = plain cosine).
    pub shrink: f64,
}

impl Default for ItemKnnParams {
    fn default() -> Self {
        ItemKnnParams { k: 100, shrink: 0.0 }
    }
}

/// ItemKNN.
#[derive(Debug)]
pub struct ItemKnn {
    p: ItemKnnParams,
    model: Option<ItemItem>,
}

impl Method for ItemKnn {
    fn fit(&mut self, train: &TrainView, _ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let t0 = std::time::Instant::now();
        let n = train.n_items() as usize;
        let rows = binary_rows(train);
        // Co-occurrence counts, dense [n, n] (u32 is exact).
        let mut co = vec![0u32; n * n];
        let mut deg = vec![0u32; n];
        for r in &rows {
            for &a in r {
                deg[a as usize] += 1;
                let base = a as usize * n;
                for &b in r {
                    co[base + b as usize] += 1;
                }
            }
        }
        // W[j, i] = sim(i, j) if j is among the k neighbours of i (column i keeps k entries).
        let mut w = vec![0f32; n * n];
        let mut cand: Vec<(f64, u32)> = Vec::with_capacity(n);
        for i in 0..n {
            cand.clear();
            for j in 0..n {
                let c = co[i * n + j];
                if j == i || c == 0 {
                    continue;
                }
                let s = c as f64 / ((deg[i] as f64 * deg[j] as f64).sqrt() + self.p.shrink);
                cand.push((s, j as u32));
            }
            // Highest similarity first, ties by lower id: deterministic.
            cand.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(s, j) in cand.iter().take(self.p.k) {
                w[j as usize * n + i] = s as f32;
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

    /// Stored neighbour similarities (fitted in closed form, not trained).
    fn n_parameters(&self) -> u64 {
        self.model.as_ref().map_or(0, ItemItem::nnz)
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: ItemKnnParams = parse_params(ID, v)?;
    if p.k == 0 || p.shrink < 0.0 {
        return Err(ParamsError::Invalid {
            method: ID.into(),
            message: "k must be >= 1 and shrink >= 0".into(),
        });
    }
    Ok(Box::new(ItemKnn { p, model: None }))
}

/// Smoke params.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"k": 20})
}
