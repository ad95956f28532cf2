//! Two-tower text retrieval: a MiniLM user tower over the text of the user's recent history and
//! a MiniLM item tower over the item's text; score = cosine. Zero-shot (`twotower-zs`, frozen
//! encoder) and contrastively tuned (`twotower-ft`, LoRA on the shared encoder, in-batch
//! negatives, RecFormer style).
//!
//! Papers: Li et al., "Text Is All You Need: Learning Language Representations for Sequential
//! Recommendation" (RecFormer, KDD 2023); the zero-shot variant is the text-only dense-retrieval
//! baseline of that line of work (e.g. Hou et al., UniSRec, KDD 2022, text-only setting).
//! Survey: stage scoring/ranking, task item scoring; `twotower-zs` Q3 (frozen LM alone),
//! `twotower-ft` Q4 (tuned LM alone).
//!
//! Differences from the papers: all-MiniLM-L6-v2 (22M, mean pooling) instead of Longformer;
//! the user text is the last `history_len` item lines (title and year) joined by "; " rather
//! than RecFormer's key-value item sentences with token-type/position embeddings; tuning is
//! LoRA (not full fine-tuning) with one InfoNCE stage over (history before an interaction ->
//! that item) pairs of the TRAIN rows, in-batch negatives, temperature 0.05, best epoch by the
//! validation probe; the catalogue is re-encoded with the tuned encoder after each epoch.

use crate::common::{check_items, check_len, data_err, to_vec};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Tensor, TensorData};
use quadrec_data::ItemTable;
use quadrec_lm::{Bert, LoraConfig, LoraTarget, Pooling, SentenceEncoder};
use quadrec_lmrec::{HistoryStyle, item_embeddings, item_line};
use quadrec_method::{
    EpochLog, FitContext, FitEvent, FitReport, Method, MethodError, ParamsError, Provenance,
    UserQuery, parse_params,
};
use quadrec_split::TrainView;
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// Registry id of the zero-shot variant.
pub const ID_ZS: &str = "twotower-zs";
/// Registry id of the tuned variant.
pub const ID_FT: &str = "twotower-ft";

/// Params of `twotower-zs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwoTowerZsParams {
    /// History items in the user text (most recent).
    pub history_len: usize,
}

impl Default for TwoTowerZsParams {
    fn default() -> Self {
        TwoTowerZsParams { history_len: 20 }
    }
}

/// Params of `twotower-ft`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwoTowerFtParams {
    /// History items in the user text (most recent).
    pub history_len: usize,
    /// Training pairs drawn (seeded) from the train rows; 0 = every row with a history.
    pub max_pairs: usize,
    /// Passes over the pairs; the epoch kept is the best on the validation probe.
    pub epochs: usize,
    /// Pairs per step (the in-batch negatives).
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// InfoNCE temperature.
    pub temperature: f64,
    /// LoRA rank.
    pub lora_rank: usize,
    /// LoRA alpha.
    pub lora_alpha: f64,
}

impl Default for TwoTowerFtParams {
    fn default() -> Self {
        TwoTowerFtParams {
            history_len: 20,
            max_pairs: 20_000,
            epochs: 3,
            batch_size: 64,
            learning_rate: 5e-4,
            temperature: 0.05,
            lora_rank: 8,
            lora_alpha: 16.0,
        }
    }
}

/// The user tower's text.
pub fn user_text(items: &ItemTable, history: &[u32], history_len: usize) -> String {
    let h = &history[history.len().saturating_sub(history_len)..];
    if h.is_empty() {
        return "no history".into();
    }
    h.iter().map(|&i| item_line(items, i, HistoryStyle::Title)).collect::<Vec<_>>().join("; ")
}

/// Unit-length embeddings of `texts` with `bert`, tokenised by `tok` (any device; on an
/// autodiff device the result is differentiable). # Shapes returns `[texts.len(), 384]`.
fn embed(bert: &Bert, tok: &SentenceEncoder, texts: &[String]) -> Result<Tensor<2>, String> {
    let toks: Vec<Vec<u32>> = texts
        .iter()
        .map(|t| tok.tokenize(t))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let t = toks.iter().map(Vec::len).max().unwrap_or(1);
    let lens: Vec<usize> = toks.iter().map(Vec::len).collect();
    let mut ids = Vec::with_capacity(toks.len() * t);
    for r in &toks {
        ids.extend_from_slice(r);
        ids.extend(std::iter::repeat_n(0u32, t - r.len()));
    }
    Ok(bert.pool(bert.forward(&ids, &lens), &lens, Pooling::MeanNorm))
}

/// Catalogue embeddings `[n_items * d]` with a (tuned) encoder, length-sorted batches of 64.
fn embed_catalogue(
    bert: &Bert,
    tok: &SentenceEncoder,
    items: &ItemTable,
) -> Result<Vec<f32>, String> {
    let texts: Vec<String> = (0..items.len() as u32).map(|i| items.text(i)).collect();
    let lens: Vec<usize> =
        texts.iter().map(|t| tok.tokenize(t).map(|v| v.len()).unwrap_or(0)).collect();
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lens[i]));
    let d = bert.config.hidden_size;
    let mut out = vec![0f32; texts.len() * d];
    for g in order.chunks(64) {
        let batch: Vec<String> = g.iter().map(|&i| texts[i].clone()).collect();
        let v = to_vec(&embed(bert, tok, &batch)?);
        for (k, &i) in g.iter().enumerate() {
            out[i * d..(i + 1) * d].copy_from_slice(&v[k * d..(k + 1) * d]);
        }
    }
    Ok(out)
}

struct Fitted {
    enc: Arc<SentenceEncoder>,
    /// Tuned encoder (inference device), `None` = the shared frozen one.
    tuned: Option<Bert>,
    items: Arc<ItemTable>,
    /// `[n_items * d]` unit rows.
    item_emb: Arc<Vec<f32>>,
    d: usize,
    n_lora: u64,
}

/// Two-tower text scorer.
pub struct TwoTower {
    id: &'static str,
    history_len: usize,
    tuning: Option<TwoTowerFtParams>,
    fitted: Option<Fitted>,
}

impl TwoTower {
    fn fitted(&self) -> Result<&Fitted, MethodError> {
        self.fitted.as_ref().ok_or(MethodError::NotFitted { method: self.id.into() })
    }

    fn user_vec(&self, f: &Fitted, q: &UserQuery) -> Result<Vec<f32>, MethodError> {
        let text = user_text(&f.items, q.history, self.history_len);
        match &f.tuned {
            Some(b) => Ok(to_vec(&embed(b, &f.enc, &[text]).map_err(|e| data_err(self.id, e))?)),
            None => f
                .enc
                .encode(&[text.as_str()], 1)
                .map(|mut v| v.swap_remove(0))
                .map_err(|e| data_err(self.id, e)),
        }
    }

    fn tune(
        &mut self,
        train: &TrainView,
        ctx: &mut FitContext,
        tp: &TwoTowerFtParams,
        report: &mut FitReport,
    ) -> Result<(), MethodError> {
        let id = self.id;
        // (user text, item) pairs: every train row with at least one earlier train item.
        let mut pairs: Vec<(u32, u32, usize)> = Vec::new(); // (user, item, position)
        for u in 0..train.n_users() {
            for (j, &i) in train.user_items(u).iter().enumerate().skip(1) {
                pairs.push((u, i, j));
            }
        }
        if pairs.is_empty() {
            return Err(data_err(id, "no train row with an earlier item to pair with"));
        }
        if tp.max_pairs > 0 && pairs.len() > tp.max_pairs {
            let mut rng = ctx.seed.child("twotower/pairs").rng();
            for i in 0..tp.max_pairs {
                let j = rng.random_range(i..pairs.len());
                pairs.swap(i, j);
            }
            pairs.truncate(tp.max_pairs);
            pairs.sort_unstable();
        }
        let f = self.fitted()?;
        let (enc, items) = (f.enc.clone(), f.items.clone());
        let kind = quadrec_models::device::backend_from_env().map_err(|e| data_err(id, e))?;
        let tdev = quadrec_models::device::train_device(kind);
        let mut bert = quadrec_lm::load_minilm(&tdev).map_err(|e| data_err(id, e))?.model;
        let lcfg = LoraConfig {
            rank: tp.lora_rank,
            alpha: tp.lora_alpha,
            dropout: 0.0,
            targets: vec![LoraTarget::Q, LoraTarget::K, LoraTarget::V, LoraTarget::O],
        };
        bert.attach_lora(&lcfg, ctx.seed.child("twotower/lora"));
        let n_lora = bert_lora_params(&bert);
        let mut optim = AdamConfig::new().init();
        let mut best: Option<(f64, usize, Bert, Arc<Vec<f32>>)> = None;
        let mut last: Option<(Bert, Arc<Vec<f32>>)> = None;
        for epoch in 1..=tp.epochs.max(1) {
            let t0 = Instant::now();
            let mut order: Vec<usize> = (0..pairs.len()).collect();
            let mut rng = ctx.seed.child("twotower/order").index(epoch as u64).rng();
            for i in (1..order.len()).rev() {
                let j = rng.random_range(0..=i);
                order.swap(i, j);
            }
            let (mut loss_sum, mut nb) = (0.0, 0usize);
            for batch in order.chunks(tp.batch_size.max(2)) {
                let b = batch.len();
                let users: Vec<String> = batch
                    .iter()
                    .map(|&k| {
                        let (u, _, j) = pairs[k];
                        user_text(&items, &train.user_items(u)[..j], self.history_len)
                    })
                    .collect();
                let its: Vec<String> = batch.iter().map(|&k| items.text(pairs[k].1)).collect();
                let ue = embed(&bert, &enc, &users).map_err(|e| data_err(id, e))?; // [b, d]
                let ie = embed(&bert, &enc, &its).map_err(|e| data_err(id, e))?; // [b, d]
                let logits = ue.matmul(ie.transpose()).div_scalar(tp.temperature); // [b, b]
                let eye: Vec<f32> =
                    (0..b * b).map(|x| if x / b == x % b { 1.0 } else { 0.0 }).collect();
                let eye = Tensor::<2>::from_data(TensorData::new(eye, [b, b]), &tdev);
                let loss = (log_softmax(logits, 1) * eye).sum().div_scalar(b as f32).neg();
                let lv = to_vec(&loss)[0] as f64;
                if !lv.is_finite() {
                    return Err(MethodError::Numerical {
                        method: id.into(),
                        message: format!("loss {lv} at epoch {epoch}"),
                    });
                }
                loss_sum += lv;
                nb += 1;
                let grads = GradientsParams::from_grads(loss.backward(), &bert);
                bert = optim.step(tp.learning_rate, bert, grads);
            }
            let train_seconds = t0.elapsed().as_secs_f64();
            let t1 = Instant::now();
            let inf = bert.valid();
            let emb = Arc::new(embed_catalogue(&inf, &enc, &items).map_err(|e| data_err(id, e))?);
            {
                let f = self.fitted.as_mut().expect("fitted");
                f.tuned = Some(inf.clone());
                f.item_emb = emb.clone();
                f.n_lora = n_lora;
            }
            let valid = ctx.probe(&*self);
            let log = EpochLog {
                epoch,
                loss: loss_sum / nb.max(1) as f64,
                valid,
                train_seconds,
                probe_seconds: t1.elapsed().as_secs_f64(),
            };
            ctx.emit(FitEvent::Epoch(log.clone()));
            report.epochs.push(log);
            report.epochs_run = epoch;
            match valid {
                Some(v) if best.as_ref().is_none_or(|x| v > x.0) => {
                    best = Some((v, epoch, inf, emb))
                }
                Some(_) => {}
                None => last = Some((inf, emb)),
            }
        }
        let f = self.fitted.as_mut().expect("fitted");
        if let Some((v, e, m, emb)) = best {
            report.best_epoch = e;
            report.best_valid = Some(v);
            ctx.emit(FitEvent::EarlyStop { best_epoch: e, best_valid: v });
            f.tuned = Some(m);
            f.item_emb = emb;
        } else if let Some((m, emb)) = last {
            report.best_epoch = report.epochs_run;
            f.tuned = Some(m);
            f.item_emb = emb;
        }
        Ok(())
    }
}

/// Elements in the LoRA adapters of a BERT.
pub(crate) fn bert_lora_params(b: &Bert) -> u64 {
    let mut n = 0u64;
    for blk in &b.blocks {
        for p in [&blk.q, &blk.k, &blk.v, &blk.o, &blk.up, &blk.down] {
            if let Some(l) = &p.lora {
                n += (l.a.val().shape().num_elements() + l.b.val().shape().num_elements()) as u64;
            }
        }
    }
    n
}

impl Method for TwoTower {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let t0 = Instant::now();
        let enc = quadrec_lmrec::minilm().map_err(|e| data_err(self.id, e))?;
        let e = item_embeddings(train.items()).map_err(|e| data_err(self.id, e))?;
        self.fitted = Some(Fitted {
            enc,
            tuned: None,
            items: train.items_arc(),
            item_emb: Arc::new(e.data.clone()),
            d: e.dim,
            n_lora: 0,
        });
        let mut report =
            FitReport { device: quadrec_lmrec::backend_name().into(), ..FitReport::default() };
        if let Some(tp) = self.tuning.clone() {
            self.tune(train, ctx, &tp, &mut report)?;
        }
        report.fit_seconds = t0.elapsed().as_secs_f64();
        Ok(report)
    }

    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        let f = self.fitted()?;
        let n = f.items.len();
        check_len(self.id, queries.len() * n, out.len())?;
        for (q, row) in queries.iter().zip(out.chunks_mut(n.max(1))) {
            let u = self.user_vec(f, q)?;
            for (i, o) in row.iter_mut().enumerate() {
                *o = f.item_emb[i * f.d..(i + 1) * f.d].iter().zip(&u).map(|(a, b)| a * b).sum();
            }
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
        check_len(self.id, items.len(), out.len())?;
        check_items(self.id, items, f.items.len() as u32)?;
        if items.is_empty() {
            return Ok(());
        }
        let u = self.user_vec(f, query)?;
        for (o, &i) in out.iter_mut().zip(items) {
            let i = i as usize;
            *o = f.item_emb[i * f.d..(i + 1) * f.d].iter().zip(&u).map(|(a, b)| a * b).sum();
        }
        Ok(())
    }

    fn n_parameters(&self) -> u64 {
        self.fitted.as_ref().map_or(0, |f| f.n_lora)
    }

    fn provenance(&self) -> Provenance {
        let mut p = Provenance::default();
        p.weight_hashes
            .insert("all-MiniLM-L6-v2".into(), quadrec_lm::assets::minilm_model_hash().into());
        p
    }
}

/// Build `twotower-zs`.
pub fn build_zs(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: TwoTowerZsParams = parse_params(ID_ZS, v)?;
    Ok(Box::new(TwoTower { id: ID_ZS, history_len: p.history_len, tuning: None, fitted: None }))
}

/// Build `twotower-ft`.
pub fn build_ft(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: TwoTowerFtParams = parse_params(ID_FT, v)?;
    Ok(Box::new(TwoTower { id: ID_FT, history_len: p.history_len, tuning: Some(p), fitted: None }))
}

/// Smoke params of `twotower-zs`.
pub fn smoke_zs() -> serde_json::Value {
    serde_json::json!({"history_len": 5})
}

/// Smoke params of `twotower-ft`: one epoch over a few pairs.
pub fn smoke_ft() -> serde_json::Value {
    serde_json::json!({"history_len": 5, "max_pairs": 8, "epochs": 1, "batch_size": 4, "lora_rank": 2})
}
