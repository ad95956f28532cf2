//! One-tower (cross-encoder) scoring: the MiniLM encoder reads the user text and the item text
//! TOGETHER (`<history> [SEP] <item>`), and an MLP head on the pooled vector predicts whether
//! the user likes the item (rating > 3). `onetower-frozen`: frozen encoder, trained head (the
//! LM only encodes features for a trained scorer: Q2-like). `onetower-lora`: LoRA on the
//! encoder's attention projections tuned jointly with the head (Q4).
//!
//! Papers: the LM-as-encoder CTR line (e.g. Muhamed et al., "CTR-BERT", NeurIPS 2021 workshop;
//! the one-tower "PTab"/"UniSRec"-style text CTR models surveyed by Lin et al.); ID-free
//! cross-encoders as in Li et al., "CTRL" (text side).
//! Survey: stage scoring/ranking, task item scoring; frozen variant Q2 (frozen LM + a trained
//! conventional head at inference), LoRA variant Q4.
//!
//! Differences: all-MiniLM-L6-v2 instead of BERT-base/RoBERTa; the pair is one text joined by
//! `[SEP]` (the tokenizer's special token) under MiniLM's truncation; training rows are a seeded
//! sample of TRAIN interactions (`rows`, same rule as the k-shot methods) with TALLRec's label;
//! binary cross-entropy; best epoch on the validation probe.

use crate::common::{check_items, check_len, data_err, to_vec};
use crate::kshot::{KShot, liked};
use crate::twotower::user_text;
use burn::module::Module;
use burn::nn::Linear;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::{log_sigmoid, relu, sigmoid};
use burn::tensor::{Device, Tensor, TensorData};
use quadrec_data::ItemTable;
use quadrec_lm::{Bert, LoraConfig, LoraTarget, Pooling, SentenceEncoder};
use quadrec_method::{
    EpochLog, FitContext, FitEvent, FitReport, Method, MethodError, ParamsError, Provenance,
    UserQuery, parse_params,
};
use quadrec_split::TrainView;
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// Registry id of the frozen-encoder variant.
pub const ID_FROZEN: &str = "onetower-frozen";
/// Registry id of the LoRA variant.
pub const ID_LORA: &str = "onetower-lora";

/// Params of both one-tower variants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OneTowerParams {
    /// History items in the user text (most recent).
    pub history_len: usize,
    /// Training rows (seeded sample of train interactions, label rating > 3).
    pub rows: KShot,
    /// Hidden width of the MLP head.
    pub hidden: usize,
    /// Passes over the rows; the epoch kept is the best on the validation probe.
    pub epochs: usize,
    /// Rows per step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// LoRA rank (LoRA variant only).
    pub lora_rank: usize,
}

impl Default for OneTowerParams {
    fn default() -> Self {
        OneTowerParams {
            history_len: 10,
            rows: KShot { k: 4096, fraction: 0.0, subset_seed: 0 },
            hidden: 128,
            epochs: 5,
            batch_size: 64,
            learning_rate: 1e-3,
            lora_rank: 8,
        }
    }
}

/// The MLP head `[384] -> hidden -> 1`.
#[derive(Module, Debug)]
pub struct Head {
    l1: Linear,
    l2: Linear,
}

impl Head {
    fn new(d: usize, hidden: usize, seed: quadrec_core::Seed, device: &Device) -> Self {
        let mut rng = seed.rng();
        Head {
            l1: quadrec_models::common::linear_xavier(&mut rng, d, hidden, device),
            l2: quadrec_models::common::linear_xavier(&mut rng, hidden, 1, device),
        }
    }

    /// # Shapes `[b, d]` -> logits `[b]`.
    fn forward(&self, x: Tensor<2>) -> Tensor<1> {
        let [b, _] = x.dims();
        self.l2.forward(relu(self.l1.forward(x))).reshape([b])
    }
}

fn pair_text(items: &ItemTable, history: &[u32], item: u32, l: usize) -> String {
    format!("{} [SEP] {}", user_text(items, history, l), items.text(item))
}

/// Pooled unit vectors of `texts`. # Shapes `[texts.len(), d]`.
fn encode(bert: &Bert, tok: &SentenceEncoder, texts: &[String]) -> Result<Tensor<2>, String> {
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

struct Fitted {
    enc: Arc<SentenceEncoder>,
    /// Tuned encoder (LoRA variant), on the inference device.
    tuned: Option<Bert>,
    head: Head,
    items: Arc<ItemTable>,
    n_params: u64,
}

/// One-tower cross-encoder scorer.
pub struct OneTower {
    id: &'static str,
    lora: bool,
    p: OneTowerParams,
    fitted: Option<Fitted>,
}

impl OneTower {
    fn fitted(&self) -> Result<&Fitted, MethodError> {
        self.fitted.as_ref().ok_or(MethodError::NotFitted { method: self.id.into() })
    }
}

impl Method for OneTower {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let t0 = Instant::now();
        let id = self.id;
        self.p.rows.validate().map_err(|e| data_err(id, e))?;
        let enc = quadrec_lmrec::minilm().map_err(|e| data_err(id, e))?;
        let items = train.items_arc();
        let rows = self.p.rows.rows(train);
        if rows.is_empty() {
            return Err(data_err(id, "no train rows"));
        }
        // Text and label of every training row; history = the user's train items before it.
        let mut texts = Vec::with_capacity(rows.len());
        let mut labels = Vec::with_capacity(rows.len());
        for r in &rows {
            let its = train.user_items(r.user);
            let ts = train.user_timestamps(r.user);
            let pos = its
                .iter()
                .zip(ts)
                .position(|(&i, &t)| i == r.item && t == r.timestamp)
                .unwrap_or(its.len());
            texts.push(pair_text(&items, &its[..pos], r.item, self.p.history_len));
            labels.push(if liked(r.rating) { 1f32 } else { 0f32 });
        }
        let kind = quadrec_models::device::backend_from_env().map_err(|e| data_err(id, e))?;
        let tdev = quadrec_models::device::train_device(kind);
        let d = enc.model.config.hidden_size;
        let mut head = Head::new(d, self.p.hidden, ctx.seed.child("onetower/head"), &tdev);
        let mut bert = if self.lora {
            let mut b = quadrec_lm::load_minilm(&tdev).map_err(|e| data_err(id, e))?.model;
            let cfg = LoraConfig {
                rank: self.p.lora_rank,
                alpha: 2.0 * self.p.lora_rank as f64,
                dropout: 0.0,
                targets: vec![LoraTarget::Q, LoraTarget::K, LoraTarget::V, LoraTarget::O],
            };
            b.attach_lora(&cfg, ctx.seed.child("onetower/lora"));
            Some(b)
        } else {
            None
        };
        // Frozen variant: the features are computed once, on the inference device.
        let feats: Option<Vec<f32>> = if self.lora {
            None
        } else {
            let mut v = Vec::with_capacity(texts.len() * d);
            for c in texts.chunks(64) {
                v.extend(to_vec(&encode(&enc.model, &enc, c).map_err(|e| data_err(id, e))?));
            }
            Some(v)
        };
        let mut opt_head = AdamConfig::new().init();
        let mut opt_bert = AdamConfig::new().init();
        let mut report =
            FitReport { device: quadrec_lmrec::backend_name().into(), ..FitReport::default() };
        let mut best: Option<(f64, usize, Head, Option<Bert>)> = None;
        let mut last = None;
        for epoch in 1..=self.p.epochs.max(1) {
            let t1 = Instant::now();
            let mut order: Vec<usize> = (0..texts.len()).collect();
            let mut rng = ctx.seed.child("onetower/order").index(epoch as u64).rng();
            for i in (1..order.len()).rev() {
                let j = rng.random_range(0..=i);
                order.swap(i, j);
            }
            let (mut loss_sum, mut nb) = (0.0, 0usize);
            for batch in order.chunks(self.p.batch_size.max(1)) {
                let b = batch.len();
                let x = match (&feats, &bert) {
                    (Some(f), _) => {
                        let v: Vec<f32> = batch
                            .iter()
                            .flat_map(|&i| f[i * d..(i + 1) * d].iter().copied())
                            .collect();
                        Tensor::<2>::from_data(TensorData::new(v, [b, d]), &tdev)
                    }
                    (None, Some(bm)) => {
                        let t: Vec<String> = batch.iter().map(|&i| texts[i].clone()).collect();
                        encode(bm, &enc, &t).map_err(|e| data_err(id, e))?
                    }
                    (None, None) => unreachable!("one of features / encoder is set"),
                };
                let y: Vec<f32> = batch.iter().map(|&i| labels[i]).collect();
                let y = Tensor::<1>::from_data(TensorData::new(y, [b]), &tdev);
                let z = head.forward(x);
                // Binary cross-entropy on logits.
                let loss = (y.clone() * log_sigmoid(z.clone())
                    + (y.neg() + 1.0) * log_sigmoid(z.neg()))
                .mean()
                .neg();
                let lv = to_vec(&loss)[0] as f64;
                if !lv.is_finite() {
                    return Err(MethodError::Numerical {
                        method: id.into(),
                        message: format!("loss {lv} at epoch {epoch}"),
                    });
                }
                loss_sum += lv;
                nb += 1;
                let mut grads = loss.backward();
                if let Some(bm) = bert.take() {
                    let g = GradientsParams::from_module(&mut grads, &bm);
                    bert = Some(opt_bert.step(self.p.learning_rate, bm, g));
                }
                let g = GradientsParams::from_module(&mut grads, &head);
                head = opt_head.step(self.p.learning_rate, head, g);
            }
            let train_seconds = t1.elapsed().as_secs_f64();
            let t2 = Instant::now();
            let (h_inf, b_inf) = (head.valid(), bert.as_ref().map(|b| b.valid()));
            let n_params = (d * self.p.hidden + self.p.hidden * 2 + 1) as u64
                + b_inf.as_ref().map_or(0, crate::twotower::bert_lora_params);
            self.fitted = Some(Fitted {
                enc: enc.clone(),
                tuned: b_inf.clone(),
                head: h_inf.clone(),
                items: items.clone(),
                n_params,
            });
            let valid = ctx.probe(&*self);
            let log = EpochLog {
                epoch,
                loss: loss_sum / nb.max(1) as f64,
                valid,
                train_seconds,
                probe_seconds: t2.elapsed().as_secs_f64(),
            };
            ctx.emit(FitEvent::Epoch(log.clone()));
            report.epochs.push(log);
            report.epochs_run = epoch;
            match valid {
                Some(v) if best.as_ref().is_none_or(|x| v > x.0) => {
                    best = Some((v, epoch, h_inf, b_inf))
                }
                Some(_) => {}
                None => last = Some((h_inf, b_inf)),
            }
        }
        let f = self.fitted.as_mut().expect("fitted after an epoch");
        if let Some((v, e, h, b)) = best {
            report.best_epoch = e;
            report.best_valid = Some(v);
            ctx.emit(FitEvent::EarlyStop { best_epoch: e, best_valid: v });
            f.head = h;
            f.tuned = b;
        } else if let Some((h, b)) = last {
            report.best_epoch = report.epochs_run;
            f.head = h;
            f.tuned = b;
        }
        report.fit_seconds = t0.elapsed().as_secs_f64();
        Ok(report)
    }

    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        let f = self.fitted()?;
        let n = f.items.len();
        check_len(self.id, queries.len() * n, out.len())?;
        let all: Vec<u32> = (0..n as u32).collect();
        for (q, row) in queries.iter().zip(out.chunks_mut(n.max(1))) {
            self.score_items(q, &all, row)?;
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
        let bert = f.tuned.as_ref().unwrap_or(&f.enc.model);
        for (oc, ic) in out.chunks_mut(64).zip(items.chunks(64)) {
            let texts: Vec<String> = ic
                .iter()
                .map(|&i| pair_text(&f.items, query.history, i, self.p.history_len))
                .collect();
            let x = encode(bert, &f.enc, &texts).map_err(|e| data_err(self.id, e))?;
            let p = to_vec(&sigmoid(f.head.forward(x)));
            oc.copy_from_slice(&p);
        }
        Ok(())
    }

    fn n_parameters(&self) -> u64 {
        self.fitted.as_ref().map_or(0, |f| f.n_params)
    }

    fn provenance(&self) -> Provenance {
        let mut p = Provenance::default();
        p.weight_hashes
            .insert("all-MiniLM-L6-v2".into(), quadrec_lm::assets::minilm_model_hash().into());
        p
    }
}

/// Build `onetower-frozen`.
pub fn build_frozen(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: OneTowerParams = parse_params(ID_FROZEN, v)?;
    Ok(Box::new(OneTower { id: ID_FROZEN, lora: false, p, fitted: None }))
}

/// Build `onetower-lora`.
pub fn build_lora(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: OneTowerParams = parse_params(ID_LORA, v)?;
    Ok(Box::new(OneTower { id: ID_LORA, lora: true, p, fitted: None }))
}

/// Smoke params: 16 rows, 2 epochs.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"history_len": 3, "rows": {"k": 16}, "epochs": 2, "batch_size": 8, "hidden": 16, "lora_rank": 2})
}
