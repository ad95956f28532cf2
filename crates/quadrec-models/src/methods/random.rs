//! Random: a uniformly random scorer, the floor every method must clear.
//!
//! Paper: none (reference scorer). Survey: scoring/ranking stage, top-N ranking task,
//! conventional (no LM). Recipe: none. Scores are a hash of (seed, user, item), so they are
//! reproducible, identical between full and candidate scoring, and independent of the history.

use crate::common::{check_items, check_out, check_queries};
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, TrainView, UserQuery, parse_params,
};
use serde::{Deserialize, Serialize};

const ID: &str = "random";

/// Random has no params (an empty table).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RandomParams {}

/// The random scorer.
#[derive(Debug, Default)]
pub struct RandomScorer {
    seed: Option<u64>,
    n_users: u32,
    n_items: u32,
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl RandomScorer {
    fn score(&self, seed: u64, user: u32, item: u32) -> f32 {
        let h = splitmix(seed ^ splitmix(((user as u64) << 32) | item as u64));
        (h >> 40) as f32 / (1u64 << 24) as f32
    }
}

impl Method for RandomScorer {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        self.seed = Some(ctx.seed.child("random/scores").0);
        self.n_users = train.n_users();
        self.n_items = train.n_items();
        Ok(FitReport::default())
    }

    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        let seed = self.seed.ok_or(MethodError::NotFitted { method: ID.into() })?;
        let n = self.n_items as usize;
        check_out(ID, queries.len() * n, out.len())?;
        check_queries(ID, queries, self.n_users, self.n_items)?;
        for (q, row) in queries.iter().zip(out.chunks_mut(n)) {
            for (i, s) in row.iter_mut().enumerate() {
                *s = self.score(seed, q.user, i as u32);
            }
        }
        Ok(())
    }

    fn score_items(
        &self,
        q: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        let seed = self.seed.ok_or(MethodError::NotFitted { method: ID.into() })?;
        check_out(ID, items.len(), out.len())?;
        check_items(ID, items, self.n_items)?;
        for (s, &i) in out.iter_mut().zip(items) {
            *s = self.score(seed, q.user, i);
        }
        Ok(())
    }

    fn n_parameters(&self) -> u64 {
        0
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let _: RandomParams = parse_params(ID, v)?;
    Ok(Box::new(RandomScorer::default()))
}

/// Smoke params: none.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({})
}
