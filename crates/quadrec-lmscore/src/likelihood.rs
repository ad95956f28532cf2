//! Likelihood scoring: the score of an item is the mean log-probability, under the frozen LM,
//! of the item's title continuing a prompt that lists the user's history and asks for the next
//! item the user will like.
//!
//! Papers: the "LM as a ranker by likelihood" baseline used across LLM-rec evaluations, e.g.
//! Sileo et al., "Zero-Shot Recommendation as Language Modeling" (ECIR 2022) and the
//! perplexity-based ranking of Hou et al., "Large Language Models are Zero-Shot Rankers for
//! Recommender Systems" (ECIR 2024).
//! Survey: stage scoring/ranking, task item scoring, quadrant Q3 (frozen LM alone).
//!
//! All candidates of a user continue ONE prompt: the prompt runs once into the KV cache and
//! the candidate titles are packed after it (`Llama::score_continuations`).
//!
//! Differences from the papers: SmolLM2-135M-Instruct with a ChatML prompt whose assistant turn
//! is the item; the score is the MEAN (not summed) token log-probability, so long titles are not
//! penalised for their length; the title is written as in the history (`item_line`, title with
//! year; `item <raw id>` for items without a title).

use crate::common::{RatingBook, check_items, check_len, data_err};
use quadrec_data::ItemTable;
use quadrec_lmrec::{HistoryStyle, PromptTemplate, Smollm2, TokenMeter, history_block, item_line};
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, Provenance, UserQuery, parse_params,
};
use quadrec_split::TrainView;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// Registry id.
pub const ID: &str = "likelihood";

/// The prompt whose continuation is scored.
pub const PROMPT: PromptTemplate = PromptTemplate {
    name: "likelihood/v1",
    text: "<|im_start|>system\nYou are a recommender system.<|im_end|>\n<|im_start|>user\n\
           The user rated these items (1 = lowest, 5 = highest):\n{history}\n\
           Name one item the user will like next.<|im_end|>\n<|im_start|>assistant\n",
};

/// Params of `likelihood`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LikelihoodParams {
    /// History items in the prompt (most recent).
    pub history_len: usize,
    /// Candidates packed per forward pass.
    pub chunk: usize,
}

impl Default for LikelihoodParams {
    fn default() -> Self {
        LikelihoodParams { history_len: 10, chunk: 32 }
    }
}

struct Fitted {
    lm: Arc<Smollm2>,
    items: Arc<ItemTable>,
    ratings: RatingBook,
}

/// Likelihood scorer.
pub struct Likelihood {
    p: LikelihoodParams,
    fitted: Option<Fitted>,
    meter: TokenMeter,
}

impl Likelihood {
    fn fitted(&self) -> Result<&Fitted, MethodError> {
        self.fitted.as_ref().ok_or(MethodError::NotFitted { method: ID.into() })
    }

    fn score_with(
        &self,
        f: &Fitted,
        q: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        let block = if q.history.is_empty() {
            "(no items yet)".to_string()
        } else {
            history_block(&f.items, q.history, self.p.history_len, HistoryStyle::Title, |i| {
                f.ratings.get(q.user, i)
            })
        };
        let text = PROMPT.render(&[("history", &block)]).expect("template has {history}");
        let tok = &f.lm.tokenizer;
        let prefix = tok.encode(&text).map_err(|e| data_err(ID, e))?;
        let cands: Vec<Vec<u32>> = items
            .iter()
            .map(|&i| tok.encode(&item_line(&f.items, i, HistoryStyle::Title)))
            .collect::<Result<_, _>>()
            .map_err(|e| data_err(ID, e))?;
        let s =
            f.lm.model
                .score_continuations(&prefix, &cands, self.p.chunk)
                .map_err(|e| data_err(ID, e))?;
        self.meter.add(prefix.len() + cands.iter().map(Vec::len).sum::<usize>());
        for (o, c) in out.iter_mut().zip(s) {
            *o = (c.logprob / c.token_logprobs.len().max(1) as f64) as f32;
        }
        Ok(())
    }
}

impl Method for Likelihood {
    fn fit(&mut self, train: &TrainView, _ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let t0 = Instant::now();
        let lm = quadrec_lmrec::smollm2().map_err(|e| data_err(ID, e))?;
        let device = format!("{:?}", lm.device);
        self.fitted =
            Some(Fitted { lm, items: train.items_arc(), ratings: RatingBook::from_train(train) });
        Ok(FitReport { fit_seconds: t0.elapsed().as_secs_f64(), device, ..FitReport::default() })
    }

    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        let f = self.fitted()?;
        let n = f.items.len();
        check_len(ID, queries.len() * n, out.len())?;
        let all: Vec<u32> = (0..n as u32).collect();
        for (q, row) in queries.iter().zip(out.chunks_mut(n.max(1))) {
            self.score_with(f, q, &all, row)?;
        }
        Ok(())
    }

    fn score_items(
        &self,
        query: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        let f = self.fitted()?;
        check_len(ID, items.len(), out.len())?;
        check_items(ID, items, f.items.len() as u32)?;
        if items.is_empty() {
            return Ok(());
        }
        self.score_with(f, query, items, out)
    }

    fn n_parameters(&self) -> u64 {
        0
    }

    fn lm_tokens(&self) -> u64 {
        self.meter.get()
    }

    fn provenance(&self) -> Provenance {
        let mut p = Provenance::default();
        p.prompt_hashes.insert(PROMPT.name.into(), PROMPT.sha256());
        p.weight_hashes.insert(
            "SmolLM2-135M-Instruct".into(),
            quadrec_lm::assets::smollm2_model_hash().into(),
        );
        p
    }
}

/// Build `likelihood`.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: LikelihoodParams = parse_params(ID, v)?;
    Ok(Box::new(Likelihood { p, fitted: None, meter: TokenMeter::default() }))
}

/// Smoke params: a short history.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"history_len": 3})
}
