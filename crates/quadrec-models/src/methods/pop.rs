//! Pop: most-popular items first (train interaction counts).
//!
//! Paper: none (the standard non-personalised baseline). Survey: scoring/ranking stage, top-N
//! ranking task, conventional. Recipe: RecBole `Pop` (score = train count of the item). The
//! history is not used; the evaluator masks seen items.

use crate::common::{check_items, check_out, check_queries};
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, TrainView, UserQuery, parse_params,
};
use serde::{Deserialize, Serialize};

const ID: &str = "pop";

/// Pop has no params.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PopParams {}

/// The popularity scorer.
#[derive(Debug, Default)]
pub struct Pop {
    counts: Option<Vec<f32>>,
    n_users: u32,
}

impl Method for Pop {
    fn fit(&mut self, train: &TrainView, _ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        self.counts = Some(train.item_popularity().iter().map(|&c| c as f32).collect());
        self.n_users = train.n_users();
        Ok(FitReport::default())
    }

    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        let c = self.counts.as_ref().ok_or(MethodError::NotFitted { method: ID.into() })?;
        check_out(ID, queries.len() * c.len(), out.len())?;
        check_queries(ID, queries, self.n_users, c.len() as u32)?;
        for row in out.chunks_mut(c.len()) {
            row.copy_from_slice(c);
        }
        Ok(())
    }

    fn score_items(
        &self,
        _q: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        let c = self.counts.as_ref().ok_or(MethodError::NotFitted { method: ID.into() })?;
        check_out(ID, items.len(), out.len())?;
        check_items(ID, items, c.len() as u32)?;
        for (s, &i) in out.iter_mut().zip(items) {
            *s = c[i as usize];
        }
        Ok(())
    }

    fn n_parameters(&self) -> u64 {
        0
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let _: PopParams = parse_params(ID, v)?;
    Ok(Box::new(Pop::default()))
}

/// Smoke params: none.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({})
}
