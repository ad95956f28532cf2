//! SASRec: self-attentive sequential recommendation.
//!
//! Paper: Kang & McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018. Survey:
//! scoring/ranking stage, top-N ranking task, conventional (sequential). Recipe: RecBole 1.2.1
//! `SASRec` defaults: 2 layers, 2 heads, hidden 64, inner 256, GELU, hidden/attention dropout
//! 0.5, LayerNorm eps 1e-12, N(0, 0.02) init, max length 50, Adam lr 1e-3, batch 2048 predicted
//! positions, output layer tied to the item embedding. Param `recipe`:
//! - `"ce"` (default, RecBole `loss_type = CE`): softmax cross-entropy over all items;
//! - `"bce"` (the paper's objective): binary cross-entropy with one uniformly sampled unseen
//!   negative per position.
//!
//! Differences from RecBole: instead of one forward pass per prefix, each user sequence is cut
//! into right-aligned windows whose every position predicts the next item (causal attention makes
//! this the same set of (prefix, next item) terms, computed with far fewer, larger ops); a target
//! sees at least `max_seq_length - window_stride` items of context (RecBole: up to
//! `max_seq_length`). Padding is on the left (as in the paper's code), positions are absolute
//! window slots.

use crate::blocks::{TransformerLayer, Window, attention_bias, next_item_windows, pack_windows};
use crate::common::{dropout, int_tensor, normal_param, right_aligned, sample_negative, seen_sets};
use crate::train::{Objective, TrainConfig, fit};
use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig};
use burn::tensor::activation::{log_sigmoid, log_softmax};
use burn::tensor::{Device, Tensor};
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, TrainView, UserQuery, parse_params,
};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

const ID: &str = "sasrec";

/// Training objective of SASRec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Recipe {
    /// Softmax cross-entropy over all items.
    Ce,
    /// Binary cross-entropy with one sampled negative per position (the paper).
    Bce,
}

/// SASRec params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SasRecParams {
    /// `"ce"` or `"bce"`.
    pub recipe: Recipe,
    /// Hidden size (item and position embeddings).
    pub hidden_size: usize,
    /// Transformer layers.
    pub n_layers: usize,
    /// Attention heads.
    pub n_heads: usize,
    /// Feed-forward inner size.
    pub inner_size: usize,
    /// Dropout on embeddings, attention output and FFN output.
    pub hidden_dropout: f64,
    /// Dropout on attention probabilities.
    pub attn_dropout: f64,
    /// Longest input history.
    pub max_seq_length: usize,
    /// Targets per training window (<= max_seq_length; smaller = more context per target).
    pub window_stride: usize,
    /// Optimisation.
    pub train: TrainConfig,
}

impl Default for SasRecParams {
    fn default() -> Self {
        SasRecParams {
            recipe: Recipe::Ce,
            hidden_size: 64,
            n_layers: 2,
            n_heads: 2,
            inner_size: 256,
            hidden_dropout: 0.5,
            attn_dropout: 0.5,
            max_seq_length: 50,
            window_stride: 25,
            train: TrainConfig::default(),
        }
    }
}

/// The SASRec network.
#[derive(Module, Debug)]
pub struct SasRecModel {
    /// `[n_items + 1, d]`, last row = padding.
    pub item: Param<Tensor<2>>,
    /// `[L, d]`
    pub pos: Param<Tensor<2>>,
    ln: LayerNorm,
    layers: Vec<TransformerLayer>,
}

struct Shape {
    n_items: usize,
    l: usize,
    hidden_dropout: f64,
    attn_dropout: f64,
}

impl SasRecModel {
    /// Hidden states `[B, L, d]` of right-aligned windows `ids` `[B, L]`.
    fn hidden(
        &self,
        ids: &[i64],
        b: usize,
        s: &Shape,
        rng: &mut Option<&mut ChaCha8Rng>,
    ) -> Tensor<3> {
        let device = self.item.val().device();
        let l = s.l;
        let idx = int_tensor(ids.to_vec(), [b * l], &device);
        let d = self.item.val().dims()[1];
        let e = self.item.val().select(0, idx).reshape([b, l, d]);
        let x = e + self.pos.val().unsqueeze_dim::<3>(0);
        let mut x = self.ln.forward(x);
        if let Some(r) = rng.as_deref_mut() {
            x = dropout(x, s.hidden_dropout, r);
        }
        let bias = attention_bias(ids, b, l, s.n_items as i64, true, &device);
        for layer in &self.layers {
            x = layer.forward(x, bias.clone(), s.attn_dropout, s.hidden_dropout, rng);
        }
        x
    }

    /// Item matrix without the padding row, `[n_items, d]`.
    fn items(&self, n_items: usize) -> Tensor<2> {
        let d = self.item.val().dims()[1];
        self.item.val().slice([0..n_items, 0..d])
    }
}

/// Frozen SASRec scorer.
#[derive(Debug)]
pub struct SasRecScorer {
    model: SasRecModel,
    item_t: Tensor<2>,
    shape_l: usize,
    n_users: u32,
    n_items: u32,
    n_params: u64,
}

impl crate::common::DotTower for SasRecScorer {
    /// Chunks bound the `[chunk, H, L, L]` attention tensors.
    const CHUNK: usize = 256;
    /// Last-position hidden states `[Q, d]` for the queries' histories.
    fn user_repr(&self, queries: &[UserQuery]) -> Tensor<2> {
        let l = self.shape_l;
        let pad = self.n_items as i64;
        let ids: Vec<i64> = queries.iter().flat_map(|q| right_aligned(q.history, l, pad)).collect();
        let s = Shape { n_items: self.n_items as usize, l, hidden_dropout: 0.0, attn_dropout: 0.0 };
        let h = self.model.hidden(&ids, queries.len(), &s, &mut None); // [Q, L, d]
        let [q, _, d] = h.dims();
        h.slice([0..q, l - 1..l, 0..d]).reshape([q, d])
    }
    fn item_t(&self) -> &Tensor<2> {
        &self.item_t
    }
    fn shape(&self) -> (u32, u32) {
        (self.n_users, self.n_items)
    }
}

crate::common::frozen_dot_method!(SasRecScorer, ID);

struct SasRecObjective {
    p: SasRecParams,
    windows: Vec<Window>,
    seen: Vec<Vec<u32>>,
    n_users: u32,
    n_items: usize,
    device: Device,
    infer: Device,
}

struct SasBatch {
    ids: Vec<i64>,
    b: usize,
    /// flat positions `b * L + t` with a target
    positions: Vec<i64>,
    targets: Vec<i64>,
    negatives: Vec<i64>,
}

impl Objective for SasRecObjective {
    type Model = SasRecModel;
    type Batch = SasBatch;
    type Frozen = SasRecScorer;
    fn id(&self) -> &'static str {
        ID
    }
    fn epoch_batches(&mut self, _epoch: usize, rng: &mut ChaCha8Rng) -> Vec<SasBatch> {
        let mut order: Vec<usize> = (0..self.windows.len()).collect();
        order.shuffle(rng);
        let l = self.p.max_seq_length;
        pack_windows(&self.windows, &order, self.p.train.batch_size)
            .into_iter()
            .map(|ws| {
                let mut b = SasBatch {
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
    fn loss(&self, m: &SasRecModel, b: &SasBatch, rng: &mut ChaCha8Rng) -> Tensor<1> {
        let l = self.p.max_seq_length;
        let s = Shape {
            n_items: self.n_items,
            l,
            hidden_dropout: self.p.hidden_dropout,
            attn_dropout: self.p.attn_dropout,
        };
        let h = m.hidden(&b.ids, b.b, &s, &mut Some(rng)); // [B, L, d]
        let d = h.dims()[2];
        let n = b.positions.len();
        let h =
            h.reshape([b.b * l, d]).select(0, int_tensor(b.positions.clone(), [n], &self.device)); // [N, d]
        let tgt = int_tensor(b.targets.clone(), [n], &self.device);
        match self.p.recipe {
            Recipe::Ce => {
                let logits = h.matmul(m.items(self.n_items).transpose()); // [N, n_items]
                let lp = log_softmax(logits, 1).gather(1, tgt.reshape([n, 1])); // [N, 1]
                lp.mean().neg()
            }
            Recipe::Bce => {
                let e_pos = m.item.val().select(0, tgt);
                let e_neg =
                    m.item.val().select(0, int_tensor(b.negatives.clone(), [n], &self.device));
                let pos = (h.clone() * e_pos).sum_dim(1);
                let neg = (h * e_neg).sum_dim(1);
                (log_sigmoid(pos) + log_sigmoid(neg.neg())).mean().neg()
            }
        }
    }
    fn freeze(&self, m: &SasRecModel) -> Result<SasRecScorer, MethodError> {
        let model = m.valid().to_device(&self.infer);
        let item_t = model.items(self.n_items).transpose();
        Ok(SasRecScorer {
            n_params: model.num_params() as u64,
            model,
            item_t,
            shape_l: self.p.max_seq_length,
            n_users: self.n_users,
            n_items: self.n_items as u32,
        })
    }
}

/// SASRec.
#[derive(Debug)]
pub struct SasRec {
    p: SasRecParams,
    fitted: Option<SasRecScorer>,
}

impl Method for SasRec {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let (kind, device, infer) = crate::devices(ID)?;
        let p = &self.p;
        let ni = train.n_items() as usize;
        let mut rng = ctx.seed.child("sasrec/init").rng();
        let model = SasRecModel {
            item: normal_param(&mut rng, [ni + 1, p.hidden_size], 0.02, &device),
            pos: normal_param(&mut rng, [p.max_seq_length, p.hidden_size], 0.02, &device),
            ln: LayerNormConfig::new(p.hidden_size).with_epsilon(1e-12).init(&device),
            layers: (0..p.n_layers)
                .map(|_| {
                    TransformerLayer::new(
                        &mut rng,
                        p.hidden_size,
                        p.n_heads,
                        p.inner_size,
                        1e-12,
                        &device,
                    )
                })
                .collect(),
        };
        let seqs: Vec<Vec<u32>> =
            (0..train.n_users()).map(|u| train.user_items(u).to_vec()).collect();
        let mut obj = SasRecObjective {
            windows: next_item_windows(&seqs, p.max_seq_length, p.window_stride, ni as i64),
            seen: seen_sets(train),
            n_users: train.n_users(),
            n_items: ni,
            p: p.clone(),
            device,
            infer,
        };
        let (frozen, report) = fit(&mut obj, model, &self.p.train, ctx, kind.name())?;
        self.fitted = Some(frozen);
        Ok(report)
    }
    crate::common::delegate_scoring!(ID);
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: SasRecParams = parse_params(ID, v)?;
    if !p.hidden_size.is_multiple_of(p.n_heads.max(1)) || p.n_heads == 0 || p.max_seq_length == 0 {
        return Err(ParamsError::Invalid {
            method: ID.into(),
            message: "hidden_size must be a multiple of n_heads >= 1; max_seq_length >= 1".into(),
        });
    }
    Ok(Box::new(SasRec { p, fitted: None }))
}

/// Smoke params.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"hidden_size": 16, "inner_size": 32, "n_layers": 1, "max_seq_length": 10, "window_stride": 5,
        "hidden_dropout": 0.1, "attn_dropout": 0.1, "train": {"epochs": 30, "batch_size": 256, "learning_rate": 0.01, "patience": 5}})
}
