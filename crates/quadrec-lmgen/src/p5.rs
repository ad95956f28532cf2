//! P5-style hybrid (`p5`): ONE SmolLM2 + LoRA model trained on a mix of tasks with task
//! prompts, evaluated on both.
//!
//! Paper: Geng et al., 2022, "Recommendation as Language Processing (RLP): A Unified Pretrain,
//! Personalized Prompt & Predict Paradigm (P5)". P5 casts rating prediction, sequential
//! recommendation, explanation, review and direct recommendation as text-to-text tasks with
//! task prompts and trains one model on all of them. Survey: scoring/ranking stage, hybrid task
//! (item scoring + item generation), Q4 (tuned LM alone).
//!
//! Here two of P5's task families share one LoRA adapter on SmolLM2-135M-Instruct:
//! - scoring (`p5/score/v1`): "Will the user enjoy <item>? Answer Yes or No." Examples are
//!   cuts of the TRAIN sequences: the next item labelled `rating > 3` (TALLRec's rule, the
//!   pointwise view's label), or, with probability `negative_share`, an item the user has no
//!   train interaction with, labelled No;
//! - generation (`p5/generate/v1`): the next item's title, as BIGRec.
//!
//! Every cut yields one example of each task; the tuning budget (`sft`) draws from their union.
//! Evaluation is selected by the param `task`: `scoring` gives `score_items` = P(Yes) =
//! `sigmoid(logit(Yes) - logit(No))` at the end of each candidate's prompt (candidates share the
//! history prefix, run once; packed); `generation` generates a title, grounds it (`grounding`,
//! `threshold`) and ranks by grounding similarity, with `generated(user)` as in BIGRec. A suite
//! lists the method twice (labels `p5:score` and `p5:gen`, see benchmarks/suites), so the
//! leaderboard shows both tasks as separate rows of the same model recipe; each row fits its
//! own copy (same seed, same examples, same adapter), since cells are independent.
//!
//! Differences from the paper: T5 -> SmolLM2 decoder with LoRA instead of full fine-tuning; two
//! task families instead of five; titles instead of item-id tokens; a small recorded budget.

use crate::common::{
    Caches, Catalogue, GenSettings, Grounded, data_err, decoder, generate_grounded_many,
    next_item_cuts, probe_prefetched, provenance,
};
use crate::ground::Grounding;
use crate::lm::{Decoder, SftParams, sft};
use quadrec_lmrec::{ItemEmbeddings, PromptTemplate, TokenMeter};
use quadrec_method::{
    EpochLog, FitContext, FitReport, Method, MethodError, ParamsError, Provenance, TrainView,
    UserQuery, parse_params,
};
use quadrec_models::common::{check_items, check_out, check_queries};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

const ID: &str = "p5";

/// Scoring task prompt.
pub const SCORE_TEMPLATE: PromptTemplate = PromptTemplate {
    name: "p5/score/v1",
    text: "<|im_start|>system\nYou are a movie recommender.<|im_end|>\n<|im_start|>user\nTask: preference.\nA user watched these movies, oldest first:\n{history}\nWill the user enjoy the movie \"{item}\"? Answer Yes or No.<|im_end|>\n<|im_start|>assistant\n",
};

/// Generation task prompt.
pub const GEN_TEMPLATE: PromptTemplate = PromptTemplate {
    name: "p5/generate/v1",
    text: "<|im_start|>system\nYou are a movie recommender.<|im_end|>\n<|im_start|>user\nTask: next movie.\nA user watched these movies, oldest first:\n{history}\nWhich movie will the user watch next? Answer with one movie title only.<|im_end|>\n<|im_start|>assistant\n",
};

/// Which task the evaluation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum P5Task {
    /// Yes/No scoring: `score_items` = P(Yes).
    Scoring,
    /// Next-title generation, grounded.
    Generation,
}

/// Params of `p5`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct P5Params {
    /// Task evaluated (training always mixes both).
    pub task: P5Task,
    /// Most recent history items shown in the prompts.
    pub history_items: usize,
    /// Sequence cuts drawn from TRAIN (each gives one scoring and one generation example).
    pub train_examples: usize,
    /// Probability that a scoring example uses a non-interacted item labelled No.
    pub negative_share: f64,
    /// Beams of the generation task (1 = greedy).
    pub beams: usize,
    /// Maximum generated tokens (generation task).
    pub max_new_tokens: usize,
    /// Grounding of generated titles.
    pub grounding: Grounding,
    /// Grounding threshold.
    pub threshold: f32,
    /// LoRA fine-tuning budget.
    pub sft: SftParams,
}

impl Default for P5Params {
    fn default() -> Self {
        P5Params {
            task: P5Task::Scoring,
            history_items: 10,
            train_examples: 4096,
            negative_share: 0.5,
            beams: 1,
            max_new_tokens: 24,
            grounding: Grounding::Embedding,
            threshold: 0.6,
            sft: SftParams::default(),
        }
    }
}

/// The hybrid model.
pub struct P5 {
    p: P5Params,
    cat: Option<Catalogue>,
    emb: Option<Arc<ItemEmbeddings>>,
    dec: Option<Decoder>,
    newline: Vec<u32>,
    yes_no: [u32; 2],
    meter: Arc<TokenMeter>,
    caches: Caches<Grounded>,
    n_lora: u64,
}

impl P5 {
    fn parts(&self) -> Result<(&Catalogue, &Decoder), MethodError> {
        match (&self.cat, &self.dec) {
            (Some(c), Some(d)) => Ok((c, d)),
            _ => Err(MethodError::NotFitted { method: ID.into() }),
        }
    }

    fn score_prompt(
        &self,
        cat: &Catalogue,
        history: &[u32],
        item: u32,
    ) -> Result<String, MethodError> {
        SCORE_TEMPLATE
            .render(&[
                ("history", &cat.history(history, self.p.history_items)),
                ("item", &cat.lines[item as usize]),
            ])
            .map_err(|e| data_err(ID, e))
    }

    fn gen_prompt(&self, cat: &Catalogue, history: &[u32]) -> Result<String, MethodError> {
        GEN_TEMPLATE
            .render(&[("history", &cat.history(history, self.p.history_items))])
            .map_err(|e| data_err(ID, e))
    }

    /// P(Yes) of each item for one query.
    fn p_yes(&self, q: &UserQuery, items: &[u32]) -> Result<Vec<f32>, MethodError> {
        let (cat, dec) = self.parts()?;
        let mut prompts = Vec::with_capacity(items.len());
        for &i in items {
            prompts.push(
                dec.encode(&self.score_prompt(cat, q.history, i)?).map_err(|e| data_err(ID, e))?,
            );
        }
        let logits =
            dec.shared_prefix_logits(&prompts, &self.yes_no, 32).map_err(|e| data_err(ID, e))?;
        Ok(logits.iter().map(|l| 1.0 / (1.0 + (l[1] - l[0]).exp())).collect())
    }

    /// Generation task: generate and ground the queries that are not cached yet, greedy ones
    /// in batches of [`crate::common::GEN_BATCH`] (the scoring task has nothing to prefetch).
    pub fn prefetch(&self, queries: &[UserQuery]) -> Result<(), MethodError> {
        if self.p.task != P5Task::Generation {
            return Ok(());
        }
        let (cat, dec) = self.parts()?;
        let todo = self.caches.missing(queries);
        if todo.is_empty() {
            return Ok(());
        }
        let mut prompts = Vec::with_capacity(todo.len());
        for q in &todo {
            prompts
                .push(dec.encode(&self.gen_prompt(cat, q.history)?).map_err(|e| data_err(ID, e))?);
        }
        let users: Vec<u32> = todo.iter().map(|q| q.user).collect();
        let st = GenSettings {
            beams: self.p.beams,
            max_new_tokens: self.p.max_new_tokens,
            stop: &self.newline,
            grounding: self.p.grounding,
            threshold: self.p.threshold,
            emb: self.emb.as_deref(),
        };
        let gs = generate_grounded_many(ID, &users, dec, &prompts, cat, &st)
            .map_err(|e| data_err(ID, e))?;
        for (q, g) in todo.into_iter().zip(gs) {
            self.caches.insert(q, g);
        }
        Ok(())
    }

    fn generate(&self, q: &UserQuery) -> Result<Arc<Grounded>, MethodError> {
        self.prefetch(std::slice::from_ref(q))?;
        self.caches.get(q).ok_or_else(|| data_err(ID, "generation missing after prefetch"))
    }
}

impl Method for P5 {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let t0 = Instant::now();
        let cat = Catalogue::new(train);
        if self.p.task == P5Task::Generation && self.p.grounding == Grounding::Embedding {
            self.emb =
                Some(quadrec_lmrec::item_embeddings(&cat.items).map_err(|e| data_err(ID, e))?);
        }
        let dec = decoder(ID, None, self.meter.clone())?;
        self.newline = dec.encode("\n").map_err(|e| data_err(ID, e))?;
        for (k, w) in ["Yes", "No"].iter().enumerate() {
            match dec.encode(w).map_err(|e| data_err(ID, e))?.as_slice() {
                [id] => self.yes_no[k] = *id,
                other => {
                    return Err(data_err(ID, format!("label `{w}` is not one token: {other:?}")));
                }
            }
        }
        let cuts = next_item_cuts(
            train,
            self.p.train_examples,
            self.p.history_items,
            ctx.seed.child("p5/examples"),
        );
        if cuts.is_empty() {
            return Err(data_err(ID, "no train sequence has two items: nothing to tune on"));
        }
        let mut rng = ctx.seed.child("p5/negatives").rng();
        let n_items = cat.n_items();
        let mut examples = Vec::with_capacity(2 * cuts.len());
        for (hist, next, rating) in &cuts {
            // Scoring example: the real next item labelled by rating, or a non-interacted item.
            let (item, yes) = if rng.random::<f64>() < self.p.negative_share {
                let mut j = rng.random_range(0..n_items);
                for _ in 0..64 {
                    if !hist.contains(&j) && j != *next {
                        break;
                    }
                    j = rng.random_range(0..n_items);
                }
                (j, false)
            } else {
                (*next, *rating > 3.0)
            };
            let prompt =
                dec.encode(&self.score_prompt(&cat, hist, item)?).map_err(|e| data_err(ID, e))?;
            examples.push((prompt, vec![self.yes_no[usize::from(!yes)], dec.im_end]));
            // Generation example.
            let prompt = dec.encode(&self.gen_prompt(&cat, hist)?).map_err(|e| data_err(ID, e))?;
            let mut target = dec.encode(&cat.lines[*next as usize]).map_err(|e| data_err(ID, e))?;
            target.push(dec.im_end);
            examples.push((prompt, target));
        }
        self.cat = Some(cat);
        self.caches.clear();
        let sp = self.p.sft.clone();
        let meter = self.meter.clone();
        let mut probe_err = None;
        let (model, losses, best_step, best_valid) =
            sft(&examples, &sp, ctx.seed.child("p5/sft"), &meter, |_, m| {
                self.dec = Some(Decoder { model: m.clone(), ..dec.clone() });
                self.caches.clear();
                probe_prefetched(ctx, &*self, |me, qs| me.prefetch(qs)).unwrap_or_else(|e| {
                    probe_err = Some(e);
                    None
                })
            })
            .map_err(|e| data_err(ID, e))?;
        if let Some(e) = probe_err {
            return Err(e);
        }
        self.n_lora = model.n_lora_parameters() as u64;
        self.dec = Some(Decoder { model, ..dec });
        self.caches.clear();
        let fit_seconds = t0.elapsed().as_secs_f64();
        Ok(FitReport {
            epochs_run: 1,
            best_epoch: best_step,
            best_valid,
            fit_seconds,
            epochs: vec![EpochLog {
                epoch: 1,
                loss: losses.iter().sum::<f64>() / losses.len().max(1) as f64,
                valid: best_valid,
                train_seconds: fit_seconds,
                probe_seconds: 0.0,
            }],
            device: "flex".into(),
            checkpoint: None,
        })
    }

    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        let (cat, _) = self.parts()?;
        let n = cat.n_items() as usize;
        check_out(ID, queries.len() * n, out.len())?;
        check_queries(ID, queries, cat.n_users, n as u32)?;
        let all: Vec<u32> = (0..n as u32).collect();
        for (q, row) in queries.iter().zip(out.chunks_mut(n)) {
            match self.p.task {
                // One prompt per catalogue item: correct but slow (use list views).
                P5Task::Scoring => row.copy_from_slice(&self.p_yes(q, &all)?),
                P5Task::Generation => {
                    let g = self.generate(q)?;
                    for (i, s) in row.iter_mut().enumerate() {
                        *s = g.score(i as u32);
                    }
                    self.caches.set_last(q.user, g.grounded.clone());
                }
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
        let (cat, _) = self.parts()?;
        check_out(ID, items.len(), out.len())?;
        check_items(ID, items, cat.n_items())?;
        check_queries(ID, std::slice::from_ref(q), cat.n_users, cat.n_items())?;
        if items.is_empty() {
            return Ok(());
        }
        match self.p.task {
            P5Task::Scoring => out.copy_from_slice(&self.p_yes(q, items)?),
            P5Task::Generation => {
                let g = self.generate(q)?;
                for (s, &i) in out.iter_mut().zip(items) {
                    *s = g.score(i);
                }
                self.caches.set_last(q.user, g.grounded.clone());
            }
        }
        Ok(())
    }

    fn n_parameters(&self) -> u64 {
        self.n_lora
    }

    fn lm_tokens(&self) -> u64 {
        self.meter.get()
    }

    fn provenance(&self) -> Provenance {
        // Both templates shape the trained model, whichever task is evaluated.
        provenance(
            &[&SCORE_TEMPLATE, &GEN_TEMPLATE],
            self.p.task == P5Task::Generation && self.p.grounding == Grounding::Embedding,
        )
    }

    fn prepare(&self, queries: &[UserQuery], _items: &[&[u32]]) -> Result<(), MethodError> {
        // One batched generation for the whole pass (see `prefetch`).
        self.prefetch(queries)
    }

    fn generated(&self, user: u32) -> Option<Vec<Option<u32>>> {
        match self.p.task {
            P5Task::Scoring => None,
            P5Task::Generation => self.caches.last(user),
        }
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: P5Params = parse_params(ID, v)?;
    Ok(Box::new(P5::new(p)))
}

impl P5 {
    fn new(p: P5Params) -> Self {
        P5 {
            p,
            cat: None,
            emb: None,
            dec: None,
            newline: Vec::new(),
            yes_no: [0, 0],
            meter: Arc::default(),
            caches: Caches::default(),
            n_lora: 0,
        }
    }
}

/// Smoke params: two tuning steps on a handful of examples.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({ "history_items": 3, "train_examples": 6, "max_new_tokens": 8,
        "sft": { "steps": 2, "batch_size": 2, "probe_every": 0 } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{query, train};
    use quadrec_core::Seed;

    #[test]
    fn one_tuned_model_scores_and_generates_deterministically() {
        let train = train();
        let p: P5Params = parse_params(
            ID,
            &quadrec_method::merge_params(
                ID,
                &serde_json::to_value(P5Params::default()).unwrap(),
                &[("smoke", &smoke())],
            )
            .unwrap(),
        )
        .unwrap();
        let fit = || {
            let mut m = P5::new(p.clone());
            m.fit(&train, &mut FitContext::new(Seed(4))).unwrap();
            m
        };
        let (mut a, b) = (fit(), fit());
        assert!(a.n_parameters() > 0, "LoRA adapters are the fitted parameters");
        let q = query(&train, 3);
        let items = [6u32, 0, 9, 4];
        let (mut x, mut y) = ([f32::NAN; 4], [f32::NAN; 4]);
        a.score_items(&q, &items, &mut x).unwrap();
        b.score_items(&q, &items, &mut y).unwrap();
        assert_eq!(x.map(f32::to_bits), y.map(f32::to_bits), "same seed, same P(Yes)");
        assert!(x.iter().all(|s| (0.0..=1.0).contains(s)), "P(Yes) in [0, 1]: {x:?}");
        assert!(a.generated(3).is_none(), "scoring is not generation");
        // The same fitted adapter, evaluated on the generation task.
        a.p.task = P5Task::Generation;
        a.p.grounding = Grounding::Dl;
        a.p.threshold = 0.7;
        let mut full = vec![f32::NAN; 12];
        a.score_full(&[q], &mut full).unwrap();
        assert!(full.iter().all(|s| s.is_finite() && (0.0..=1.0).contains(s)), "{full:?}");
        assert_eq!(a.generated(3).unwrap().len(), 1);
    }
}
