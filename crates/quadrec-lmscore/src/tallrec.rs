//! TALLRec: the language model's own head answers "Yes" or "No" to "will the user like this
//! item?", and the score is `P(Yes) / (P(Yes) + P(No))` at the answer position.
//!
//! Paper: Bao et al., "TALLRec: An Effective and Efficient Tuning Framework to Align Large
//! Language Model with Recommendation", RecSys 2023.
//! Survey: stage scoring/ranking, task item scoring; `tallrec-zs` is Q3 (frozen LM alone),
//! `tallrec` is Q4 (LoRA-tuned LM alone, on a k-shot sample of train interactions).
//!
//! This file also holds the Yes/No engine shared with ReLLa (`rella.rs`), which differs only in
//! which history items enter the prompt.
//!
//! Scoring many candidates for one user reuses the user prefix: the prompt is split into a
//! prefix (system turn + history) run once into the KV cache, and one short suffix per candidate
//! (target item + question + assistant header), packed and masked
//! ([`crate::common::last_logits_after_prefix`]).
//!
//! Differences from the paper:
//! - SmolLM2-135M-Instruct instead of LLaMA-7B; ChatML prompt with a short system turn.
//! - The prompt lists the last `history_len` history items with their 1-5 train ratings (items
//!   whose rating the method cannot know, e.g. the validation item at test time, are listed
//!   without one) instead of TALLRec's split into "preference" / "unpreference" lists.
//! - Training rows are `k` train interactions drawn uniformly (the paper samples k rows of its
//!   instruction data); each row's history is the user's train items before it, its label is
//!   rating > 3 (TALLRec's rule). Loss: LM cross-entropy on the answer token only (as the paper).
//! - LoRA rank 8, alpha 16, dropout 0.05 on q and v (the paper's alpaca-lora defaults), learning
//!   rate 1e-4 ... 3e-4 range: we use 3e-4 with few epochs for the CPU budget; the epoch kept is
//!   the best on the validation probe (the paper selects on validation AUC too).
//! - The probability mass outside {Yes, No} is recorded ([`YesNoMethod::outside_mass`], per test
//!   view in the cell record through `Method::diagnostics`, and a
//!   fit note) rather than renormalised silently.

use crate::common::{
    OutsideMass, RatingBook, YESNO_HEAD, YESNO_HISTORY, YESNO_TARGET, check_items, check_len,
    data_err, epoch_order, history_before, last_logits_after_prefix, to_vec, yes_no, yesno_history,
};
use crate::kshot::{KShot, liked};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use quadrec_data::ItemTable;
use quadrec_lm::{Llama, LoraConfig, LoraTarget};
use quadrec_lmrec::{
    HistoryStyle, ItemEmbeddings, Smollm2, TokenMeter, item_embeddings, item_line,
};
use quadrec_method::{
    EpochLog, FitContext, FitEvent, FitReport, Method, MethodError, ParamsError, Provenance,
    UserQuery, parse_params,
};
use quadrec_split::TrainView;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// Which history items enter the prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// The `history_len` most recent items (TALLRec).
    Recent,
    /// The `history_len` items most similar to the target by MiniLM cosine, in time order
    /// (ReLLa's semantic user behaviour retrieval).
    Semantic,
}

/// LoRA tuning params of the Yes/No methods (TALLRec recipe, CPU-sized).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TuneParams {
    /// Which train rows are used.
    pub kshot: KShot,
    /// LoRA rank.
    pub lora_rank: usize,
    /// LoRA alpha (update scaled by alpha / rank).
    pub lora_alpha: f64,
    /// LoRA dropout on the adapter input.
    pub lora_dropout: f64,
    /// Projections with adapters.
    pub lora_targets: Vec<LoraTarget>,
    /// Passes over the k rows; the epoch kept is the best on the validation probe.
    pub epochs: usize,
    /// Prompts per optimiser step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
}

impl Default for TuneParams {
    fn default() -> Self {
        TuneParams {
            kshot: KShot::default(),
            lora_rank: 8,
            lora_alpha: 16.0,
            lora_dropout: 0.05,
            lora_targets: vec![LoraTarget::Q, LoraTarget::V],
            epochs: 3,
            batch_size: 8,
            learning_rate: 3e-4,
        }
    }
}

/// Params of `tallrec-zs` (and `rella-zs` through [`crate::rella`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TallRecZsParams {
    /// History items in the prompt (most recent).
    pub history_len: usize,
    /// Candidates packed per forward pass after the shared user prefix.
    pub chunk: usize,
}

impl Default for TallRecZsParams {
    fn default() -> Self {
        TallRecZsParams { history_len: 10, chunk: 32 }
    }
}

/// Params of `tallrec`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TallRecParams {
    /// History items in the prompt (most recent).
    pub history_len: usize,
    /// Candidates packed per forward pass after the shared user prefix.
    pub chunk: usize,
    /// LoRA tuning on k-shot rows.
    pub tuning: TuneParams,
}

impl Default for TallRecParams {
    fn default() -> Self {
        TallRecParams { history_len: 10, chunk: 32, tuning: TuneParams::default() }
    }
}

/// What a Yes/No method is configured to do.
#[derive(Clone, Debug)]
pub struct YesNoConfig {
    /// Registry id (error messages, notes).
    pub id: &'static str,
    /// History items in the prompt.
    pub history_len: usize,
    /// Which history items.
    pub selection: Selection,
    /// Candidates packed per pass.
    pub chunk: usize,
    /// LoRA tuning, or `None` for zero-shot.
    pub tuning: Option<TuneParams>,
}

/// State after `fit`.
struct Fitted {
    lm: Arc<Smollm2>,
    /// LoRA-tuned copy (inference device), or `None` = the shared frozen model.
    tuned: Option<Llama>,
    ratings: RatingBook,
    items: Arc<ItemTable>,
    /// MiniLM item embeddings (semantic selection only).
    emb: Option<Arc<ItemEmbeddings>>,
    yes: u32,
    no: u32,
}

/// A Yes/No scorer (TALLRec / ReLLa, zero-shot or LoRA-tuned).
pub struct YesNoMethod {
    cfg: YesNoConfig,
    fitted: Option<Fitted>,
    meter: TokenMeter,
    outside: OutsideMass,
}

impl YesNoMethod {
    /// An unfitted method.
    pub fn new(cfg: YesNoConfig) -> Self {
        YesNoMethod {
            cfg,
            fitted: None,
            meter: TokenMeter::default(),
            outside: OutsideMass::default(),
        }
    }

    /// Mean probability mass outside {Yes, No} at the answer position over every prompt scored
    /// so far, and the number of prompts (`None` before scoring).
    pub fn outside_mass(&self) -> Option<(f64, u64)> {
        self.outside.mean()
    }

    /// The `Yes` / `No` token ids used (after `fit`).
    pub fn yes_no_ids(&self) -> Option<(u32, u32)> {
        self.fitted.as_ref().map(|f| (f.yes, f.no))
    }

    /// The tuned model, if any (tests compare its base tensors with the shared model's).
    pub fn tuned_model(&self) -> Option<&Llama> {
        self.fitted.as_ref().and_then(|f| f.tuned.as_ref())
    }

    fn fitted(&self) -> Result<&Fitted, MethodError> {
        self.fitted.as_ref().ok_or(MethodError::NotFitted { method: self.cfg.id.into() })
    }

    /// History items shown for `target` (time order).
    fn select(&self, f: &Fitted, history: &[u32], target: u32) -> Vec<u32> {
        let l = self.cfg.history_len;
        match (self.cfg.selection, &f.emb) {
            (Selection::Semantic, Some(e)) if history.len() > l => {
                let mut idx: Vec<usize> = (0..history.len()).collect();
                // Most similar first; ties by recency (later position first), deterministic.
                idx.sort_by(|&a, &b| {
                    e.cosine(history[b], target)
                        .total_cmp(&e.cosine(history[a], target))
                        .then(b.cmp(&a))
                });
                let mut keep: Vec<usize> = idx[..l].to_vec();
                keep.sort_unstable();
                keep.into_iter().map(|i| history[i]).collect()
            }
            _ => history[history.len().saturating_sub(l)..].to_vec(),
        }
    }

    fn history_text(&self, f: &Fitted, user: u32, items: &[u32]) -> String {
        yesno_history(&f.items, &f.ratings, user, items)
    }

    fn target_text(f: &Fitted, item: u32) -> String {
        let line = item_line(&f.items, item, HistoryStyle::TitleGenres);
        YESNO_TARGET.render(&[("item", &line)]).expect("template has {item}")
    }

    fn encode(&self, f: &Fitted, text: &str) -> Result<Vec<u32>, MethodError> {
        f.lm.tokenizer.encode(text).map_err(|e| data_err(self.cfg.id, e))
    }

    /// (prefix, per-candidate suffixes) token ids for `user` with `history` and `items`.
    fn prompts(
        &self,
        f: &Fitted,
        user: u32,
        history: &[u32],
        items: &[u32],
    ) -> Result<(Vec<u32>, Vec<Vec<u32>>), MethodError> {
        let head = YESNO_HEAD.render(&[]).expect("no placeholders");
        match self.cfg.selection {
            Selection::Recent => {
                let shown = self.select(f, history, 0);
                let prefix = self.encode(f, &(head + &self.history_text(f, user, &shown)))?;
                let suffixes = items
                    .iter()
                    .map(|&i| self.encode(f, &Self::target_text(f, i)))
                    .collect::<Result<_, _>>()?;
                Ok((prefix, suffixes))
            }
            Selection::Semantic => {
                let prefix = self.encode(f, &head)?;
                let suffixes = items
                    .iter()
                    .map(|&i| {
                        let shown = self.select(f, history, i);
                        let s = self.history_text(f, user, &shown) + &Self::target_text(f, i);
                        self.encode(f, &s)
                    })
                    .collect::<Result<_, _>>()?;
                Ok((prefix, suffixes))
            }
        }
    }

    fn score_with(
        &self,
        f: &Fitted,
        q: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        let (prefix, suffixes) = self.prompts(f, q.user, q.history, items)?;
        let model = f.tuned.as_ref().unwrap_or(&f.lm.model);
        let (yes, no) = (f.yes, f.no);
        let r = last_logits_after_prefix(model, &prefix, &suffixes, self.cfg.chunk, |row| {
            yes_no(row, yes, no)
        })
        .map_err(|e| data_err(self.cfg.id, e))?;
        self.meter.add(prefix.len() + suffixes.iter().map(Vec::len).sum::<usize>());
        for (o, yn) in out.iter_mut().zip(r) {
            self.outside.add(yn.outside);
            *o = yn.p_yes;
        }
        Ok(())
    }

    /// LoRA-tune a copy of the shared model on the k-shot rows (answer-token LM loss), probing
    /// after each epoch and keeping the best adapters.
    fn tune(
        &mut self,
        train: &TrainView,
        ctx: &mut FitContext,
        tp: &TuneParams,
        report: &mut FitReport,
    ) -> Result<(), MethodError> {
        let id = self.cfg.id;
        tp.kshot.validate().map_err(|e| data_err(id, e))?;
        let rows = tp.kshot.rows(train);
        if rows.is_empty() {
            return Err(data_err(id, "no train rows to tune on"));
        }
        // Each row: the user's train items before it are its history.
        let mut examples: Vec<Vec<u32>> = Vec::with_capacity(rows.len());
        let mut n_pos = 0;
        {
            let f = self.fitted()?;
            for r in &rows {
                let history = history_before(train, r);
                let (prefix, suffixes) = self.prompts(f, r.user, history, &[r.item])?;
                let label = liked(r.rating);
                n_pos += usize::from(label);
                let mut seq = prefix;
                seq.extend(&suffixes[0]);
                seq.push(if label { f.yes } else { f.no });
                examples.push(seq);
            }
        }
        ctx.emit(FitEvent::Note(format!(
            "{id}: tuning on {} k-shot rows ({} liked), subset_seed {}",
            rows.len(),
            n_pos,
            tp.kshot.subset_seed
        )));
        let kind = quadrec_models::device::backend_from_env().map_err(|e| data_err(id, e))?;
        let tdev = quadrec_models::device::train_device(kind);
        tdev.seed(ctx.seed.child("tallrec/dropout").0);
        // A fresh load on the autodiff device (forking the shared inference copy leaves its
        // parameters untracked); the shared copy is never mutated.
        let (mut model, _) = quadrec_lm::load_smollm2(&tdev).map_err(|e| data_err(id, e))?;
        let lcfg = LoraConfig {
            rank: tp.lora_rank,
            alpha: tp.lora_alpha,
            dropout: tp.lora_dropout,
            targets: tp.lora_targets.clone(),
        };
        model.attach_lora(&lcfg, ctx.seed.child("tallrec/lora"));
        let mut optim = AdamConfig::new().init();
        let mut best: Option<(f64, usize, Llama)> = None;
        let mut last: Option<Llama> = None;
        for epoch in 1..=tp.epochs.max(1) {
            let t0 = Instant::now();
            let order = epoch_order(ctx.seed, "tallrec/order", epoch, examples.len());
            let (mut loss_sum, mut n_batches) = (0.0f64, 0usize);
            for batch in order.chunks(tp.batch_size.max(1)) {
                let t = batch.iter().map(|&i| examples[i].len() - 1).max().unwrap_or(1);
                let b = batch.len();
                let (mut inp, mut tgt, mut w) =
                    (vec![0u32; b * t], vec![0u32; b * t], vec![0f32; b * t]);
                for (r, &i) in batch.iter().enumerate() {
                    let s = &examples[i];
                    let n = s.len() - 1;
                    inp[r * t..r * t + n].copy_from_slice(&s[..n]);
                    tgt[r * t..r * t + n].copy_from_slice(&s[1..]);
                    // Right padding after the answer cannot affect it under causal attention.
                    w[r * t + n - 1] = 1.0;
                }
                let loss = model.lm_loss(&inp, &tgt, &w, b);
                let lv = to_vec(&loss)[0] as f64;
                if !lv.is_finite() {
                    return Err(MethodError::Numerical {
                        method: id.into(),
                        message: format!("loss {lv} at epoch {epoch}"),
                    });
                }
                loss_sum += lv;
                n_batches += 1;
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(tp.learning_rate, model, grads);
            }
            let train_seconds = t0.elapsed().as_secs_f64();
            let t1 = Instant::now();
            self.fitted.as_mut().expect("fitted above").tuned = Some(model.valid());
            let valid = ctx.probe(&*self);
            let probe_seconds = t1.elapsed().as_secs_f64();
            let log = EpochLog {
                epoch,
                loss: loss_sum / n_batches.max(1) as f64,
                valid,
                train_seconds,
                probe_seconds,
            };
            ctx.emit(FitEvent::Epoch(log.clone()));
            report.epochs.push(log);
            report.epochs_run = epoch;
            let cur = self.fitted.as_mut().expect("fitted").tuned.take().expect("just set");
            match valid {
                Some(v) if best.as_ref().is_none_or(|b| v > b.0) => best = Some((v, epoch, cur)),
                Some(_) => {}
                None => last = Some(cur),
            }
        }
        let f = self.fitted.as_mut().expect("fitted");
        match (best, last) {
            (Some((v, e, m)), _) => {
                report.best_epoch = e;
                report.best_valid = Some(v);
                ctx.emit(FitEvent::EarlyStop { best_epoch: e, best_valid: v });
                f.tuned = Some(m);
            }
            (None, m) => {
                report.best_epoch = report.epochs_run;
                f.tuned = m;
            }
        }
        Ok(())
    }
}

/// The single token id of `word` (errors unless it is one token both alone and from the
/// vocabulary lookup).
pub fn answer_token(lm: &Smollm2, word: &str) -> Result<u32, String> {
    let id = lm.tokenizer.token_to_id(word).ok_or_else(|| format!("`{word}` is not a token"))?;
    let enc = lm.tokenizer.encode(word).map_err(|e| e.to_string())?;
    if enc != [id] {
        return Err(format!("`{word}` encodes to {enc:?}, not the single token {id}"));
    }
    Ok(id)
}

impl Method for YesNoMethod {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let t0 = Instant::now();
        let id = self.cfg.id;
        let lm = quadrec_lmrec::smollm2().map_err(|e| data_err(id, e))?;
        let yes = answer_token(&lm, "Yes").map_err(|e| data_err(id, e))?;
        let no = answer_token(&lm, "No").map_err(|e| data_err(id, e))?;
        let emb = match self.cfg.selection {
            Selection::Semantic => {
                Some(item_embeddings(train.items()).map_err(|e| data_err(id, e))?)
            }
            Selection::Recent => None,
        };
        self.fitted = Some(Fitted {
            lm: lm.clone(),
            tuned: None,
            ratings: RatingBook::from_train(train),
            items: train.items_arc(),
            emb,
            yes,
            no,
        });
        let mut report =
            FitReport { device: quadrec_lmrec::backend_name().into(), ..FitReport::default() };
        if let Some(tp) = self.cfg.tuning.clone() {
            self.tune(train, ctx, &tp, &mut report)?;
        }
        report.fit_seconds = t0.elapsed().as_secs_f64();
        Ok(report)
    }

    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        let f = self.fitted()?;
        let n = f.items.len();
        check_len(self.cfg.id, queries.len() * n, out.len())?;
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
        check_len(self.cfg.id, items.len(), out.len())?;
        check_items(self.cfg.id, items, f.items.len() as u32)?;
        if items.is_empty() {
            return Ok(());
        }
        self.score_with(f, query, items, out)
    }

    fn n_parameters(&self) -> u64 {
        self.tuned_model().map_or(0, |m| m.n_lora_parameters() as u64)
    }

    fn lm_tokens(&self) -> u64 {
        self.meter.get()
    }

    fn diagnostics(&self) -> Vec<(String, f64)> {
        self.outside.diagnostics()
    }

    fn reset_diagnostics(&self) {
        self.outside.reset();
    }

    fn provenance(&self) -> Provenance {
        let mut p = Provenance::default();
        for t in [&YESNO_HEAD, &YESNO_HISTORY, &YESNO_TARGET] {
            p.prompt_hashes.insert(t.name.to_string(), t.sha256());
        }
        p.weight_hashes.insert(
            "SmolLM2-135M-Instruct".into(),
            quadrec_lm::assets::smollm2_model_hash().into(),
        );
        if self.cfg.selection == Selection::Semantic {
            p.weight_hashes
                .insert("all-MiniLM-L6-v2".into(), quadrec_lm::assets::minilm_model_hash().into());
        }
        p
    }
}

/// Registry id of the zero-shot variant.
pub const ID_ZS: &str = "tallrec-zs";
/// Registry id of the tuned variant.
pub const ID: &str = "tallrec";

/// Build `tallrec-zs`.
pub fn build_zs(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: TallRecZsParams = parse_params(ID_ZS, v)?;
    Ok(Box::new(YesNoMethod::new(YesNoConfig {
        id: ID_ZS,
        history_len: p.history_len,
        selection: Selection::Recent,
        chunk: p.chunk,
        tuning: None,
    })))
}

/// Build `tallrec`.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: TallRecParams = parse_params(ID, v)?;
    p.tuning
        .kshot
        .validate()
        .map_err(|message| ParamsError::Invalid { method: ID.into(), message })?;
    Ok(Box::new(YesNoMethod::new(YesNoConfig {
        id: ID,
        history_len: p.history_len,
        selection: Selection::Recent,
        chunk: p.chunk,
        tuning: Some(p.tuning),
    })))
}

/// Smoke params of `tallrec-zs`: a short history.
pub fn smoke_zs() -> serde_json::Value {
    serde_json::json!({"history_len": 3})
}

/// Smoke params of `tallrec`: 4 rows, one epoch, rank 2.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"history_len": 3, "tuning": {"kshot": {"k": 4}, "epochs": 1, "batch_size": 2, "lora_rank": 2}})
}
