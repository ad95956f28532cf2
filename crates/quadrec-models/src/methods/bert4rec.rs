//! BERT4Rec: bidirectional Transformer trained with the cloze (masked item) objective.
//!
//! Paper: Sun et al., "BERT4Rec: Sequential Recommendation with Bidirectional Encoder
//! Representations from Transformer", CIKM 2019. Survey: scoring/ranking stage, top-N ranking
//! task, conventional (sequential). Recipe: RecBole 1.2.1 `BERT4Rec` defaults: 2 layers, 2
//! heads, hidden 64, inner 256, GELU, hidden/attention dropout 0.2, mask ratio 0.2, LayerNorm
//! eps 1e-12, N(0, 0.02) init, max length 50, output head `LN(GELU(W h))` scored against the
//! item embeddings plus a per-item bias, softmax cross-entropy over all items at masked slots,
//! Adam lr 1e-3. Prediction: the history's last `L-1` items followed by the mask token.
//!
//! Differences from RecBole: training examples are right-aligned windows of `L` items cut from
//! the user's train sequence every `window_stride` items (default 50 = `L`: non-overlapping
//! windows; RecBole: one example per prefix, i.e. stride 1), each with a fresh random mask per
//! epoch (at least one slot masked per window); `train.batch_size` counts windows (default 64).
//! Why batch 64: what BERT4Rec needs to leave its popularity phase is Adam STEPS. With the
//! first defaults (batch 256 windows, ~10 steps per ML-100K epoch) valid NDCG@10 stayed at
//! Pop's level for 13 epochs and early stopping ended it (test 0.034-0.041, below Pop 0.044);
//! stride 10 at batch 256 (~42 steps per epoch, RecBole's 48) costs 5x more per epoch and was
//! still at Pop's level after 3 epochs; batch 64 with stride 50 (~40 steps per epoch, each
//! ~640 masked slots) leaves it after ~7 epochs at the old per-epoch cost
//! (benchmarks/crm/README.md). RecBole's step holds far more masked slots (2048 prefixes).

use crate::blocks::{TransformerLayer, attention_bias};
use crate::common::{const_param, dropout, int_tensor, linear, normal_param, right_aligned};
use crate::train::{Objective, TrainConfig, fit};
use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::activation::{gelu, log_softmax};
use burn::tensor::{Device, Tensor};
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, TrainView, UserQuery, parse_params,
};
use rand::RngExt;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

const ID: &str = "bert4rec";

/// BERT4Rec params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bert4RecParams {
    /// Hidden size.
    pub hidden_size: usize,
    /// Transformer layers.
    pub n_layers: usize,
    /// Attention heads.
    pub n_heads: usize,
    /// Feed-forward inner size.
    pub inner_size: usize,
    /// Dropout on embeddings / sublayer outputs.
    pub hidden_dropout: f64,
    /// Dropout on attention probabilities.
    pub attn_dropout: f64,
    /// Fraction of items masked in training windows.
    pub mask_ratio: f64,
    /// Window length (including the mask slot at prediction time).
    pub max_seq_length: usize,
    /// Training windows end every this many items (1 = one window per prefix, as RecBole;
    /// `max_seq_length` = non-overlapping windows; larger values act as `max_seq_length`).
    pub window_stride: usize,
    /// Optimisation (`batch_size` counts windows).
    pub train: TrainConfig,
}

impl Default for Bert4RecParams {
    fn default() -> Self {
        Bert4RecParams {
            hidden_size: 64,
            n_layers: 2,
            n_heads: 2,
            inner_size: 256,
            hidden_dropout: 0.2,
            attn_dropout: 0.2,
            mask_ratio: 0.2,
            max_seq_length: 50,
            window_stride: 50,
            train: TrainConfig { batch_size: 64, ..TrainConfig::default() },
        }
    }
}

/// The BERT4Rec network.
#[derive(Module, Debug)]
pub struct Bert4RecModel {
    /// `[n_items + 2, d]`: row `n_items` = padding, `n_items + 1` = mask.
    pub item: Param<Tensor<2>>,
    /// `[L, d]`
    pub pos: Param<Tensor<2>>,
    ln: LayerNorm,
    layers: Vec<TransformerLayer>,
    head: Linear,
    head_ln: LayerNorm,
    /// `[n_items]`
    out_bias: Param<Tensor<1>>,
}

impl Bert4RecModel {
    /// Output states `[B, L, d]` (after the head) of windows `ids` `[B, L]`.
    fn forward(
        &self,
        ids: &[i64],
        b: usize,
        l: usize,
        n_items: usize,
        drop: (f64, f64),
        rng: &mut Option<&mut ChaCha8Rng>,
    ) -> Tensor<3> {
        let device = self.item.val().device();
        let d = self.item.val().dims()[1];
        let e = self
            .item
            .val()
            .select(0, int_tensor(ids.to_vec(), [b * l], &device))
            .reshape([b, l, d]);
        let mut x = self.ln.forward(e + self.pos.val().unsqueeze_dim::<3>(0));
        if let Some(r) = rng.as_deref_mut() {
            x = dropout(x, drop.0, r);
        }
        let bias = attention_bias(ids, b, l, n_items as i64, false, &device);
        for layer in &self.layers {
            x = layer.forward(x, bias.clone(), drop.1, drop.0, rng);
        }
        self.head_ln.forward(gelu(self.head.forward(x)))
    }

    fn logits(&self, h: Tensor<2>, n_items: usize) -> Tensor<2> {
        let d = self.item.val().dims()[1];
        h.matmul(self.item.val().slice([0..n_items, 0..d]).transpose())
            + self.out_bias.val().unsqueeze_dim::<2>(0)
    }
}

/// Frozen BERT4Rec scorer.
#[derive(Debug)]
pub struct Bert4RecScorer {
    model: Bert4RecModel,
    /// `[d, n_items]` output item matrix (the input item embeddings, tied).
    item_t: Tensor<2>,
    /// `[n_items]` output bias.
    bias: Vec<f32>,
    l: usize,
    n_users: u32,
    n_items: u32,
    n_params: u64,
}

impl crate::common::DotTower for Bert4RecScorer {
    /// Chunks bound the `[chunk, H, L, L]` attention tensors.
    const CHUNK: usize = 256;
    /// Head output `[Q, d]` at the mask slot appended after the history's last `L-1` items.
    fn user_repr(&self, queries: &[UserQuery]) -> Tensor<2> {
        let n = self.n_items as usize;
        let (l, pad, mask) = (self.l, n as i64, n as i64 + 1);
        let ids: Vec<i64> = queries
            .iter()
            .flat_map(|q| {
                let mut w = right_aligned(q.history, l - 1, pad);
                w.push(mask);
                w
            })
            .collect();
        let h = self.model.forward(&ids, queries.len(), l, n, (0.0, 0.0), &mut None);
        let [q, _, d] = h.dims();
        h.slice([0..q, l - 1..l, 0..d]).reshape([q, d])
    }
    fn item_t(&self) -> &Tensor<2> {
        &self.item_t
    }
    fn item_bias(&self) -> Option<&[f32]> {
        Some(&self.bias)
    }
    fn shape(&self) -> (u32, u32) {
        (self.n_users, self.n_items)
    }
}
crate::common::frozen_dot_method!(Bert4RecScorer, ID);

struct BertObjective {
    p: Bert4RecParams,
    windows: Vec<Vec<i64>>,
    n_users: u32,
    n_items: usize,
    device: Device,
    infer: Device,
}

struct BertBatch {
    ids: Vec<i64>,
    b: usize,
    positions: Vec<i64>,
    targets: Vec<i64>,
}

impl Objective for BertObjective {
    type Model = Bert4RecModel;
    type Batch = BertBatch;
    type Frozen = Bert4RecScorer;
    fn id(&self) -> &'static str {
        ID
    }
    fn epoch_batches(&mut self, _epoch: usize, rng: &mut ChaCha8Rng) -> Vec<BertBatch> {
        let mut order: Vec<usize> = (0..self.windows.len()).collect();
        order.shuffle(rng);
        let (l, pad, mask) = (self.p.max_seq_length, self.n_items as i64, self.n_items as i64 + 1);
        order
            .chunks(self.p.train.batch_size.max(1))
            .map(|ws| {
                let mut b = BertBatch {
                    ids: Vec::new(),
                    b: ws.len(),
                    positions: Vec::new(),
                    targets: Vec::new(),
                };
                for (r, &w) in ws.iter().enumerate() {
                    let mut win = self.windows[w].clone();
                    let mut masked = 0;
                    for t in 0..l {
                        if win[t] != pad && rng.random::<f64>() < self.p.mask_ratio {
                            b.positions.push((r * l + t) as i64);
                            b.targets.push(win[t]);
                            win[t] = mask;
                            masked += 1;
                        }
                    }
                    if masked == 0 {
                        // Always train on something: mask the last item (the prediction slot).
                        b.positions.push((r * l + l - 1) as i64);
                        b.targets.push(win[l - 1]);
                        win[l - 1] = mask;
                    }
                    b.ids.extend(win);
                }
                b
            })
            .collect()
    }
    fn loss(&self, m: &Bert4RecModel, b: &BertBatch, rng: &mut ChaCha8Rng) -> Tensor<1> {
        let l = self.p.max_seq_length;
        let h = m.forward(
            &b.ids,
            b.b,
            l,
            self.n_items,
            (self.p.hidden_dropout, self.p.attn_dropout),
            &mut Some(rng),
        );
        let d = h.dims()[2];
        let n = b.positions.len();
        let h =
            h.reshape([b.b * l, d]).select(0, int_tensor(b.positions.clone(), [n], &self.device));
        let tgt = int_tensor(b.targets.clone(), [n, 1], &self.device);
        log_softmax(m.logits(h, self.n_items), 1).gather(1, tgt).mean().neg()
    }
    fn freeze(&self, m: &Bert4RecModel) -> Result<Bert4RecScorer, MethodError> {
        let model = m.valid().to_device(&self.infer);
        let d = model.item.val().dims()[1];
        Ok(Bert4RecScorer {
            n_params: model.num_params() as u64,
            item_t: model.item.val().slice([0..self.n_items, 0..d]).transpose(),
            bias: crate::common::to_vec(model.out_bias.val()),
            model,
            l: self.p.max_seq_length,
            n_users: self.n_users,
            n_items: self.n_items as u32,
        })
    }
}

/// BERT4Rec.
#[derive(Debug)]
pub struct Bert4Rec {
    p: Bert4RecParams,
    fitted: Option<Bert4RecScorer>,
}

impl Method for Bert4Rec {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let (kind, device, infer) = crate::devices(ID)?;
        let p = &self.p;
        let (ni, d, l) = (train.n_items() as usize, p.hidden_size, p.max_seq_length);
        let mut rng = ctx.seed.child("bert4rec/init").rng();
        let model = Bert4RecModel {
            item: normal_param(&mut rng, [ni + 2, d], 0.02, &device),
            pos: normal_param(&mut rng, [l, d], 0.02, &device),
            ln: LayerNormConfig::new(d).with_epsilon(1e-12).init(&device),
            layers: (0..p.n_layers)
                .map(|_| {
                    TransformerLayer::new(&mut rng, d, p.n_heads, p.inner_size, 1e-12, &device)
                })
                .collect(),
            head: linear(&mut rng, d, d, 0.02, &device),
            head_ln: LayerNormConfig::new(d).with_epsilon(1e-12).init(&device),
            out_bias: const_param(0.0, [ni], &device),
        };
        // Windows end at the last train item and then every `window_stride` items earlier.
        let mut windows = Vec::new();
        for u in 0..train.n_users() {
            let s = train.user_items(u);
            let mut hi = s.len();
            while hi > 0 {
                let lo = hi.saturating_sub(l);
                windows.push(right_aligned(&s[lo..hi], l, ni as i64));
                hi = hi.saturating_sub(p.window_stride.min(l));
            }
        }
        let mut obj = BertObjective {
            p: p.clone(),
            windows,
            n_users: train.n_users(),
            n_items: ni,
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
    let p: Bert4RecParams = parse_params(ID, v)?;
    if p.n_heads == 0
        || !p.hidden_size.is_multiple_of(p.n_heads)
        || p.max_seq_length < 2
        || p.window_stride == 0
        || !(0.0..1.0).contains(&p.mask_ratio)
    {
        return Err(ParamsError::Invalid {
            method: ID.into(),
            message: "hidden_size must be a multiple of n_heads >= 1, max_seq_length >= 2, window_stride >= 1, 0 <= mask_ratio < 1".into(),
        });
    }
    Ok(Box::new(Bert4Rec { p, fitted: None }))
}

/// Smoke params.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"hidden_size": 16, "inner_size": 32, "n_layers": 1, "max_seq_length": 10, "window_stride": 10, "mask_ratio": 0.3,
        "hidden_dropout": 0.1, "attn_dropout": 0.1, "train": {"epochs": 40, "batch_size": 64, "learning_rate": 0.01, "patience": 8}})
}
