//! Text-Profile: the LM-only two-tower scorer over frozen MiniLM item-text embeddings.
//!
//! The user tower is the recency-weighted mean of the MiniLM embeddings of the query history
//! (weight `decay^(age)`, age 0 = most recent, last `max_history` items), the item tower the
//! item's own embedding; score = cosine. No parameter is trained and no interaction data is used
//! beyond the query's own history (zero-shot). Survey: scoring/ranking stage, top-N ranking task,
//! quadrant Q3 (frozen LM alone). It is the "LM parent" against which `distill` (LM knowledge
//! moved into a CRM at training time) is compared on quality and per-user latency, and the
//! text-only reference of the feature-encoder methods. Reference: the zero-shot text
//! retrieval baselines of UniSRec / ZESRec (Ding et al., 2021).

use crate::textfeat::{catalogue_text, minilm_weights};
use quadrec_lmrec::ItemEmbeddings;
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, Provenance, TrainView, UserQuery,
    parse_params,
};
use quadrec_models::common::{check_items, check_out, check_queries};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Registry id.
pub const ID: &str = "text-profile";

/// Params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextProfileParams {
    /// Most recent history items in the profile.
    pub max_history: usize,
    /// Recency decay per step back in the history (1 = plain mean).
    pub decay: f64,
}

impl Default for TextProfileParams {
    fn default() -> Self {
        TextProfileParams { max_history: 50, decay: 0.9 }
    }
}

/// Text-Profile.
#[derive(Debug)]
pub struct TextProfile {
    p: TextProfileParams,
    emb: Option<Arc<ItemEmbeddings>>,
    n_users: u32,
}

impl TextProfile {
    fn profile(&self, e: &ItemEmbeddings, history: &[u32]) -> Vec<f32> {
        let mut v = vec![0f32; e.dim];
        let h = &history[history.len().saturating_sub(self.p.max_history)..];
        let mut w = 1f64;
        for &i in h.iter().rev() {
            for (a, b) in v.iter_mut().zip(e.row(i)) {
                *a += (w as f32) * b;
            }
            w *= self.p.decay;
        }
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        v.iter_mut().for_each(|x| *x /= n);
        v
    }

    fn emb(&self) -> Result<&ItemEmbeddings, MethodError> {
        self.emb.as_deref().ok_or(MethodError::NotFitted { method: ID.into() })
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl Method for TextProfile {
    fn fit(&mut self, train: &TrainView, _ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let t0 = std::time::Instant::now();
        self.emb = Some(catalogue_text(ID, train.items())?);
        self.n_users = train.n_users();
        Ok(FitReport { fit_seconds: t0.elapsed().as_secs_f64(), ..FitReport::default() })
    }
    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        let e = self.emb()?;
        let n = e.len();
        check_out(ID, queries.len() * n, out.len())?;
        check_queries(ID, queries, self.n_users, n as u32)?;
        for (q, row) in queries.iter().zip(out.chunks_mut(n)) {
            let p = self.profile(e, q.history);
            for (i, s) in row.iter_mut().enumerate() {
                *s = dot(&p, e.row(i as u32));
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
        let e = self.emb()?;
        check_out(ID, items.len(), out.len())?;
        check_items(ID, items, e.len() as u32)?;
        check_queries(ID, std::slice::from_ref(q), self.n_users, e.len() as u32)?;
        let p = self.profile(e, q.history);
        for (s, &i) in out.iter_mut().zip(items) {
            *s = dot(&p, e.row(i));
        }
        Ok(())
    }
    fn n_parameters(&self) -> u64 {
        0
    }
    fn provenance(&self) -> Provenance {
        let mut p = Provenance::default();
        let (k, v) = minilm_weights();
        p.weight_hashes.insert(k, v);
        p
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: TextProfileParams = parse_params(ID, v)?;
    if !(p.decay > 0.0 && p.decay <= 1.0) || p.max_history == 0 {
        return Err(ParamsError::Invalid {
            method: ID.into(),
            message: "decay must be in (0, 1] and max_history >= 1".into(),
        });
    }
    Ok(Box::new(TextProfile { p, emb: None, n_users: 0 }))
}

/// Smoke params.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"max_history": 5})
}
