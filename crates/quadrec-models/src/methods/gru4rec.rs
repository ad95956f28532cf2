//! GRU4Rec: session-based recommendation with a GRU over the item sequence.
//!
//! Paper: Hidasi et al., "Session-based Recommendations with Recurrent Neural Networks", ICLR
//! 2016 (as adapted to user sequences by RecBole). Survey: scoring/ranking stage, top-N ranking
//! task, conventional (sequential). Recipe: RecBole 1.2.1 `GRU4Rec` defaults: embedding 64,
//! hidden 128, 1 layer, dropout 0.3 on the input embeddings, a dense layer from hidden to
//! embedding size, dot product with the item embeddings, softmax cross-entropy over all items,
//! Adam lr 1e-3, batch 2048 predicted positions, max length 50, Xavier init (GRU weights
//! Xavier-uniform, embeddings Xavier-normal).
//!
//! Differences from RecBole: windows instead of one pass per prefix (see SASRec and
//! `blocks::next_item_windows`); inputs are left-padded and padding steps leave the GRU state
//! unchanged (masked update), which equals RecBole's right padding + gather at the last item.

use crate::blocks::{Window, next_item_windows, pack_windows};
use crate::common::{dropout, int_tensor, linear_xavier, normal_param, right_aligned, tensor};
use crate::train::{Objective, TrainConfig, fit};
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::{log_softmax, sigmoid, tanh};
use burn::tensor::{Device, Tensor};
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, TrainView, UserQuery, parse_params,
};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

const ID: &str = "gru4rec";

/// GRU4Rec params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Gru4RecParams {
    /// Item embedding size.
    pub embedding_size: usize,
    /// GRU hidden size.
    pub hidden_size: usize,
    /// Dropout on input embeddings.
    pub dropout: f64,
    /// Longest input history.
    pub max_seq_length: usize,
    /// Targets per training window.
    pub window_stride: usize,
    /// Optimisation.
    pub train: TrainConfig,
}

impl Default for Gru4RecParams {
    fn default() -> Self {
        Gru4RecParams {
            embedding_size: 64,
            hidden_size: 128,
            dropout: 0.3,
            max_seq_length: 50,
            window_stride: 25,
            train: TrainConfig::default(),
        }
    }
}

/// The GRU4Rec network.
#[derive(Module, Debug)]
pub struct Gru4RecModel {
    /// `[n_items + 1, e]`, last row = padding.
    pub item: Param<Tensor<2>>,
    /// Input projection for the three gates `[e, 3h]` (r, z, n).
    wx: Linear,
    /// Recurrent projection `[h, 3h]`.
    wh: Linear,
    /// Hidden -> embedding space `[h, e]`.
    dense: Linear,
}

impl Gru4RecModel {
    /// Output representation `[B, L, e]` for right-aligned windows `ids` `[B, L]`.
    fn forward(
        &self,
        ids: &[i64],
        b: usize,
        l: usize,
        pad: i64,
        drop: f64,
        rng: Option<&mut ChaCha8Rng>,
    ) -> Tensor<3> {
        let device = self.item.val().device();
        let e = self.item.val().dims()[1];
        let h3 = self.wh.weight.val().dims()[1];
        let hs = h3 / 3;
        let mut x = self
            .item
            .val()
            .select(0, int_tensor(ids.to_vec(), [b * l], &device))
            .reshape([b, l, e]);
        if let Some(r) = rng {
            x = dropout(x, drop, r);
        }
        let gx = self.wx.forward(x); // [B, L, 3h]: all input projections in one matmul
        let mask: Vec<f32> = ids.iter().map(|&i| if i == pad { 0.0 } else { 1.0 }).collect();
        let mask = tensor(mask, [b, l, 1], &device);
        let mut h = Tensor::<2>::zeros([b, hs], &device);
        let mut outs = Vec::with_capacity(l);
        for t in 0..l {
            let gxt = gx.clone().slice([0..b, t..t + 1, 0..h3]).reshape([b, h3]);
            let gh = self.wh.forward(h.clone()); // [B, 3h]
            let r = sigmoid(gxt.clone().slice([0..b, 0..hs]) + gh.clone().slice([0..b, 0..hs]));
            let z = sigmoid(
                gxt.clone().slice([0..b, hs..2 * hs]) + gh.clone().slice([0..b, hs..2 * hs]),
            );
            let n = tanh(gxt.slice([0..b, 2 * hs..h3]) + r * gh.slice([0..b, 2 * hs..h3]));
            let h_new = h.clone() + (n - h.clone()) * (z.neg() + 1.0); // (1-z) n + z h
            let m = mask.clone().slice([0..b, t..t + 1, 0..1]).reshape([b, 1]);
            h = h.clone() + (h_new - h) * m;
            outs.push(h.clone());
        }
        let hseq: Tensor<3> = Tensor::stack(outs, 1); // [B, L, h]
        self.dense.forward(hseq)
    }

    fn items(&self, n_items: usize) -> Tensor<2> {
        let e = self.item.val().dims()[1];
        self.item.val().slice([0..n_items, 0..e])
    }
}

/// Frozen GRU4Rec scorer.
#[derive(Debug)]
pub struct Gru4RecScorer {
    model: Gru4RecModel,
    item_t: Tensor<2>,
    l: usize,
    n_users: u32,
    n_items: u32,
    n_params: u64,
}

impl crate::common::DotTower for Gru4RecScorer {
    fn user_repr(&self, queries: &[UserQuery]) -> Tensor<2> {
        let pad = self.n_items as i64;
        let ids: Vec<i64> =
            queries.iter().flat_map(|q| right_aligned(q.history, self.l, pad)).collect();
        let o = self.model.forward(&ids, queries.len(), self.l, pad, 0.0, None);
        let [q, l, e] = o.dims();
        o.slice([0..q, l - 1..l, 0..e]).reshape([q, e])
    }
    fn item_t(&self) -> &Tensor<2> {
        &self.item_t
    }
    fn shape(&self) -> (u32, u32) {
        (self.n_users, self.n_items)
    }
}

crate::common::frozen_dot_method!(Gru4RecScorer, ID);

struct GruObjective {
    p: Gru4RecParams,
    windows: Vec<Window>,
    n_users: u32,
    n_items: usize,
    device: Device,
    infer: Device,
}

struct GruBatch {
    ids: Vec<i64>,
    b: usize,
    positions: Vec<i64>,
    targets: Vec<i64>,
}

impl Objective for GruObjective {
    type Model = Gru4RecModel;
    type Batch = GruBatch;
    type Frozen = Gru4RecScorer;
    fn id(&self) -> &'static str {
        ID
    }
    fn epoch_batches(&mut self, _epoch: usize, rng: &mut ChaCha8Rng) -> Vec<GruBatch> {
        let mut order: Vec<usize> = (0..self.windows.len()).collect();
        order.shuffle(rng);
        let l = self.p.max_seq_length;
        pack_windows(&self.windows, &order, self.p.train.batch_size)
            .into_iter()
            .map(|ws| {
                let mut b = GruBatch {
                    ids: Vec::new(),
                    b: ws.len(),
                    positions: Vec::new(),
                    targets: Vec::new(),
                };
                for (r, &w) in ws.iter().enumerate() {
                    let win = &self.windows[w];
                    b.ids.extend_from_slice(&win.inputs);
                    for (t, &y) in win.targets.iter().enumerate() {
                        if y >= 0 {
                            b.positions.push((r * l + t) as i64);
                            b.targets.push(y);
                        }
                    }
                }
                b
            })
            .collect()
    }
    fn loss(&self, m: &Gru4RecModel, b: &GruBatch, rng: &mut ChaCha8Rng) -> Tensor<1> {
        let l = self.p.max_seq_length;
        let o = m.forward(&b.ids, b.b, l, self.n_items as i64, self.p.dropout, Some(rng));
        let e = o.dims()[2];
        let n = b.positions.len();
        let o =
            o.reshape([b.b * l, e]).select(0, int_tensor(b.positions.clone(), [n], &self.device));
        let logits = o.matmul(m.items(self.n_items).transpose());
        let tgt = int_tensor(b.targets.clone(), [n, 1], &self.device);
        log_softmax(logits, 1).gather(1, tgt).mean().neg()
    }
    fn freeze(&self, m: &Gru4RecModel) -> Result<Gru4RecScorer, MethodError> {
        let model = m.valid().to_device(&self.infer);
        let item_t = model.items(self.n_items).transpose();
        Ok(Gru4RecScorer {
            n_params: model.num_params() as u64,
            model,
            item_t,
            l: self.p.max_seq_length,
            n_users: self.n_users,
            n_items: self.n_items as u32,
        })
    }
}

/// GRU4Rec.
#[derive(Debug)]
pub struct Gru4Rec {
    p: Gru4RecParams,
    fitted: Option<Gru4RecScorer>,
}

impl Method for Gru4Rec {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let (kind, device, infer) = crate::devices(ID)?;
        let p = &self.p;
        let ni = train.n_items() as usize;
        let mut rng = ctx.seed.child("gru4rec/init").rng();
        let (e, h) = (p.embedding_size, p.hidden_size);
        let model = Gru4RecModel {
            item: normal_param(&mut rng, [ni + 1, e], (2.0 / (ni + 1 + e) as f32).sqrt(), &device),
            wx: linear_xavier(&mut rng, e, 3 * h, &device),
            wh: linear_xavier(&mut rng, h, 3 * h, &device),
            dense: linear_xavier(&mut rng, h, e, &device),
        };
        let seqs: Vec<Vec<u32>> =
            (0..train.n_users()).map(|u| train.user_items(u).to_vec()).collect();
        let mut obj = GruObjective {
            windows: next_item_windows(&seqs, p.max_seq_length, p.window_stride, ni as i64),
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
    let p: Gru4RecParams = parse_params(ID, v)?;
    if p.max_seq_length == 0 || p.hidden_size == 0 {
        return Err(ParamsError::Invalid {
            method: ID.into(),
            message: "max_seq_length and hidden_size must be >= 1".into(),
        });
    }
    Ok(Box::new(Gru4Rec { p, fitted: None }))
}

/// Smoke params.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"embedding_size": 16, "hidden_size": 16, "max_seq_length": 10, "window_stride": 5,
        "dropout": 0.1, "train": {"epochs": 30, "batch_size": 256, "learning_rate": 0.01, "patience": 5}})
}
