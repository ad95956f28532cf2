//! Shared scorer of item-item models (ItemKNN, EASE): `score(u, i) = sum_{j in history(u)} W[j, i]`
//! with a dense row-major `W` `[n_items, n_items]`. Repeated history items count once (the
//! models are fitted on a binary user-item matrix).

use crate::common::{check_items, check_out, check_queries};
use quadrec_method::{MethodError, UserQuery};

/// Dense item-item weights.
#[derive(Debug, Clone)]
pub struct ItemItem {
    /// Number of items.
    pub n: usize,
    /// Number of users of the catalogue (for query checks).
    pub n_users: u32,
    /// `W[j * n + i]`: weight of history item `j` for candidate `i`.
    pub w: Vec<f32>,
}

impl ItemItem {
    fn distinct(history: &[u32]) -> Vec<u32> {
        let mut h = history.to_vec();
        h.sort_unstable();
        h.dedup();
        h
    }

    /// Full scores.
    pub fn score_full(
        &self,
        id: &str,
        queries: &[UserQuery],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        check_out(id, queries.len() * self.n, out.len())?;
        check_queries(id, queries, self.n_users, self.n as u32)?;
        for (q, row) in queries.iter().zip(out.chunks_mut(self.n)) {
            row.fill(0.0);
            for j in Self::distinct(q.history) {
                let wj = &self.w[j as usize * self.n..(j as usize + 1) * self.n];
                for (s, w) in row.iter_mut().zip(wj) {
                    *s += w;
                }
            }
        }
        Ok(())
    }

    /// Candidate scores.
    pub fn score_items(
        &self,
        id: &str,
        q: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        check_out(id, items.len(), out.len())?;
        check_items(id, items, self.n as u32)?;
        check_items(id, q.history, self.n as u32)?;
        let h = Self::distinct(q.history);
        for (s, &i) in out.iter_mut().zip(items) {
            *s = h.iter().map(|&j| self.w[j as usize * self.n + i as usize]).sum();
        }
        Ok(())
    }

    /// Non-zero weights (the fitted closed-form parameters).
    pub fn nnz(&self) -> u64 {
        self.w.iter().filter(|w| **w != 0.0).count() as u64
    }
}

/// Distinct train items per user (binary user-item matrix rows).
pub fn binary_rows(train: &quadrec_split::TrainView) -> Vec<Vec<u32>> {
    crate::common::seen_sets(train)
}
