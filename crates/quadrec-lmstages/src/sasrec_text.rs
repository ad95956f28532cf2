//! SASRec-Text: SASRec whose item representations come from frozen MiniLM item-text
//! embeddings through a learned MoE adapter (UniSRec style), with or without ID embeddings.
//!
//! Paper: Hou et al., "Towards Universal Sequence Representation Learning for Recommender
//! Systems" (UniSRec), KDD 2022; backbone Kang & McAuley, SASRec, ICDM 2018. Survey: feature
//! encoder stage (the LM encodes item text into representations a CRM consumes),
//! representation-encoding task, quadrant Q2 (frozen LM, CRM at inference). Item `i` is
//! `e_i = adapter(minilm(text_i)) [+ id_i when with_ids]`, used both as the sequence input and
//! as the (tied) output layer, exactly where SASRec uses its ID embedding; everything else (the
//! Transformer, windows, CE/BCE objective, optimiser, early stopping on validation) is
//! `quadrec_models`' SASRec recipe, so the lift over `sasrec` isolates the text features.
//!
//! Differences from UniSRec: no pre-training on other domains (the adapter is trained on the
//! target data only, as UniSRec's "inductive" / fine-tuned setting), no gating noise, dot-product
//! logits as in the parent SASRec (UniSRec: cosine with temperature). With `with_ids = false`
//! the model is inductive: an item with no train interaction still gets a representation from
//! its text, the source of the cold-start lift.
//!
//! The Transformer forward pass is re-written here (20 lines) because `SasRecModel::hidden` is
//! private to quadrec-models; the layer itself (`blocks::TransformerLayer`), the windows and the
//! training loop are the shared ones.

use crate::textfeat::{MoeAdapter, catalogue_text, constant, minilm_weights, padded_rows};
use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig};
use burn::tensor::activation::{log_sigmoid, log_softmax};
use burn::tensor::{Device, Tensor};
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, Provenance, TrainView, UserQuery,
    parse_params,
};
use quadrec_models::blocks::{
    TransformerLayer, Window, attention_bias, next_item_windows, pack_windows,
};
use quadrec_models::common::{
    check_items, check_out, check_queries, dot_full, dot_items, dropout, int_tensor, normal_param,
    right_aligned, sample_negative, seen_sets,
};
use quadrec_models::methods::sasrec::{Recipe, SasRecParams};
use quadrec_models::train::{Objective, fit};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Registry id.
pub const ID: &str = "sasrec-text";

/// SASRec-Text params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SasRecTextParams {
    /// Add a learned ID embedding to the adapted text embedding (UniSRec fine-tuning with IDs);
    /// `false` = text only (inductive).
    pub with_ids: bool,
    /// Experts of the MoE adapter (UniSRec: 8).
    pub n_experts: usize,
    /// The backbone and optimisation, identical to the parent `sasrec` (same keys, same
    /// defaults).
    pub sasrec: SasRecParams,
}

impl Default for SasRecTextParams {
    fn default() -> Self {
        SasRecTextParams { with_ids: true, n_experts: 8, sasrec: SasRecParams::default() }
    }
}

/// The network.
#[derive(Module, Debug)]
pub struct SasRecTextModel {
    /// Constant MiniLM table `[n_items + 1, 384]`, last row (padding) zero.
    text: Tensor<2>,
    adapter: MoeAdapter,
    /// `[n_items + 1, d]` when `with_ids`.
    id: Option<Param<Tensor<2>>>,
    pos: Param<Tensor<2>>,
    ln: LayerNorm,
    layers: Vec<TransformerLayer>,
}

impl SasRecTextModel {
    /// All item representations `[n_items + 1, d]` (last row = padding slot).
    fn item_table(&self) -> Tensor<2> {
        let e = self.adapter.forward(self.text.clone());
        match &self.id {
            Some(id) => e + id.val(),
            None => e,
        }
    }

    /// Hidden states `[B, L, d]` of right-aligned windows `ids` `[B, L]`, given the item table.
    fn hidden(
        &self,
        table: Tensor<2>,
        ids: &[i64],
        b: usize,
        p: &SasRecParams,
        train: bool,
        rng: &mut Option<&mut ChaCha8Rng>,
    ) -> Tensor<3> {
        let device = table.device();
        let [rows, d] = table.dims();
        let l = p.max_seq_length;
        let idx = int_tensor(ids.to_vec(), [b * l], &device);
        let e = table.select(0, idx).reshape([b, l, d]);
        let mut x = self.ln.forward(e + self.pos.val().unsqueeze_dim::<3>(0));
        let (hd, ad) = if train { (p.hidden_dropout, p.attn_dropout) } else { (0.0, 0.0) };
        if let Some(r) = rng.as_deref_mut() {
            x = dropout(x, hd, r);
        }
        let bias = attention_bias(ids, b, l, rows as i64 - 1, true, &device);
        for layer in &self.layers {
            x = layer.forward(x, bias.clone(), ad, hd, rng);
        }
        x
    }
}

/// Frozen scorer: the network plus the precomputed item table.
#[derive(Debug)]
pub struct SasRecTextScorer {
    model: SasRecTextModel,
    /// `[n_items + 1, d]`
    table: Tensor<2>,
    /// `[d, n_items]`
    item_t: Tensor<2>,
    p: SasRecParams,
    n_users: u32,
    n_items: u32,
    n_params: u64,
}

impl SasRecTextScorer {
    fn user_repr(&self, queries: &[UserQuery]) -> Tensor<2> {
        let l = self.p.max_seq_length;
        let pad = self.n_items as i64;
        let ids: Vec<i64> = queries.iter().flat_map(|q| right_aligned(q.history, l, pad)).collect();
        let h =
            self.model.hidden(self.table.clone(), &ids, queries.len(), &self.p, false, &mut None);
        let [q, _, d] = h.dims();
        h.slice([0..q, l - 1..l, 0..d]).reshape([q, d])
    }
}

impl Method for SasRecTextScorer {
    fn fit(&mut self, _t: &TrainView, _c: &mut FitContext) -> Result<FitReport, MethodError> {
        Err(MethodError::Data {
            method: ID.into(),
            message: "a frozen scorer cannot be refitted".into(),
        })
    }
    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        let n = self.n_items as usize;
        check_out(ID, queries.len() * n, out.len())?;
        check_queries(ID, queries, self.n_users, self.n_items)?;
        for (qs, o) in queries.chunks(256).zip(out.chunks_mut(256 * n)) {
            dot_full(self.user_repr(qs), &self.item_t, o);
        }
        Ok(())
    }
    fn score_items(
        &self,
        q: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        check_out(ID, items.len(), out.len())?;
        check_items(ID, items, self.n_items)?;
        check_queries(ID, std::slice::from_ref(q), self.n_users, self.n_items)?;
        dot_items(self.user_repr(std::slice::from_ref(q)), &self.item_t, items, out);
        Ok(())
    }
    fn n_parameters(&self) -> u64 {
        self.n_params
    }
}

struct Obj {
    p: SasRecParams,
    windows: Vec<Window>,
    seen: Vec<Vec<u32>>,
    n_users: u32,
    n_items: usize,
    device: Device,
    infer: Device,
}

struct Batch {
    ids: Vec<i64>,
    b: usize,
    positions: Vec<i64>,
    targets: Vec<i64>,
    negatives: Vec<i64>,
}

impl Objective for Obj {
    type Model = SasRecTextModel;
    type Batch = Batch;
    type Frozen = SasRecTextScorer;
    fn id(&self) -> &'static str {
        ID
    }
    fn epoch_batches(&mut self, _epoch: usize, rng: &mut ChaCha8Rng) -> Vec<Batch> {
        let mut order: Vec<usize> = (0..self.windows.len()).collect();
        order.shuffle(rng);
        let l = self.p.max_seq_length;
        pack_windows(&self.windows, &order, self.p.train.batch_size)
            .into_iter()
            .map(|ws| {
                let mut b = Batch {
                    ids: Vec::new(),
                    b: ws.len(),
                    positions: Vec::new(),
                    targets: Vec::new(),
                    negatives: Vec::new(),
                };
                for (r, &w) in ws.iter().enumerate() {
                    let win = &self.windows[w];
                    b.ids.extend_from_slice(&win.inputs);
                    for (t, &y) in win.targets.iter().enumerate() {
                        if y >= 0 {
                            b.positions.push((r * l + t) as i64);
                            b.targets.push(y);
                            if self.p.recipe == Recipe::Bce {
                                b.negatives.push(sample_negative(
                                    rng,
                                    self.n_items as u32,
                                    &self.seen[win.user as usize],
                                ) as i64);
                            }
                        }
                    }
                }
                b
            })
            .collect()
    }
    fn loss(&self, m: &SasRecTextModel, b: &Batch, rng: &mut ChaCha8Rng) -> Tensor<1> {
        let l = self.p.max_seq_length;
        let table = m.item_table(); // [n_items + 1, d], recomputed per step: the adapter trains
        let h = m.hidden(table.clone(), &b.ids, b.b, &self.p, true, &mut Some(rng));
        let d = h.dims()[2];
        let n = b.positions.len();
        let h =
            h.reshape([b.b * l, d]).select(0, int_tensor(b.positions.clone(), [n], &self.device));
        let tgt = int_tensor(b.targets.clone(), [n], &self.device);
        match self.p.recipe {
            Recipe::Ce => {
                let items = table.slice([0..self.n_items, 0..d]);
                let logits = h.matmul(items.transpose()); // [N, n_items]
                log_softmax(logits, 1).gather(1, tgt.reshape([n, 1])).mean().neg()
            }
            Recipe::Bce => {
                let e_pos = table.clone().select(0, tgt);
                let e_neg = table.select(0, int_tensor(b.negatives.clone(), [n], &self.device));
                let pos = (h.clone() * e_pos).sum_dim(1);
                let neg = (h * e_neg).sum_dim(1);
                (log_sigmoid(pos) + log_sigmoid(neg.neg())).mean().neg()
            }
        }
    }
    fn freeze(&self, m: &SasRecTextModel) -> Result<SasRecTextScorer, MethodError> {
        let model = m.valid().to_device(&self.infer);
        let table = model.item_table();
        let d = table.dims()[1];
        let item_t = table.clone().slice([0..self.n_items, 0..d]).transpose();
        Ok(SasRecTextScorer {
            n_params: model.num_params() as u64,
            model,
            table,
            item_t,
            p: self.p.clone(),
            n_users: self.n_users,
            n_items: self.n_items as u32,
        })
    }
}

/// SASRec-Text.
#[derive(Debug)]
pub struct SasRecText {
    p: SasRecTextParams,
    fitted: Option<SasRecTextScorer>,
}

impl Method for SasRecText {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let kind = quadrec_models::device::backend_from_env()
            .map_err(|e| MethodError::Data { method: ID.into(), message: e.to_string() })?;
        let (device, infer) =
            (quadrec_models::device::train_device(kind), quadrec_models::device::device(kind));
        let sp = &self.p.sasrec;
        let ni = train.n_items() as usize;
        let text = catalogue_text(ID, train.items())?;
        let mut rng = ctx.seed.child("sasrec-text/init").rng();
        let d = sp.hidden_size;
        let model = SasRecTextModel {
            text: constant(padded_rows(&text, 1), ni + 1, text.dim, &device),
            adapter: MoeAdapter::new(&mut rng, self.p.n_experts, text.dim, d, &device),
            id: self.p.with_ids.then(|| normal_param(&mut rng, [ni + 1, d], 0.02, &device)),
            pos: normal_param(&mut rng, [sp.max_seq_length, d], 0.02, &device),
            ln: LayerNormConfig::new(d).with_epsilon(1e-12).init(&device),
            layers: (0..sp.n_layers)
                .map(|_| {
                    TransformerLayer::new(&mut rng, d, sp.n_heads, sp.inner_size, 1e-12, &device)
                })
                .collect(),
        };
        let seqs: Vec<Vec<u32>> =
            (0..train.n_users()).map(|u| train.user_items(u).to_vec()).collect();
        let mut obj = Obj {
            windows: next_item_windows(&seqs, sp.max_seq_length, sp.window_stride, ni as i64),
            seen: seen_sets(train),
            n_users: train.n_users(),
            n_items: ni,
            p: sp.clone(),
            device,
            infer,
        };
        let (frozen, report) = fit(&mut obj, model, &sp.train, ctx, kind.name())?;
        self.fitted = Some(frozen);
        Ok(report)
    }
    quadrec_models::delegate_scoring!(ID);
    fn provenance(&self) -> Provenance {
        let mut p = Provenance::default();
        let (k, v) = minilm_weights();
        p.weight_hashes.insert(k, v);
        p
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: SasRecTextParams = parse_params(ID, v)?;
    let s = &p.sasrec;
    if s.n_heads == 0
        || !s.hidden_size.is_multiple_of(s.n_heads)
        || s.max_seq_length == 0
        || p.n_experts == 0
    {
        return Err(ParamsError::Invalid {
            method: ID.into(),
            message: "sasrec.hidden_size must be a multiple of sasrec.n_heads >= 1; max_seq_length >= 1; n_experts >= 1".into(),
        });
    }
    Ok(Box::new(SasRecText { p, fitted: None }))
}

/// Smoke params.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"n_experts": 2, "sasrec": quadrec_models::methods::sasrec::smoke()})
}
