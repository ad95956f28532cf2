//! DIN: deep interest network, target-aware attention over the user's history.
//!
//! Paper: Zhou et al., "Deep Interest Network for Click-Through Rate Prediction", KDD 2018.
//! Survey: scoring/ranking stage, item scoring (pointwise CTR) task, conventional. Recipe:
//! RecBole 1.2.1 `DIN` defaults (embedding 10, attention MLP [64, 32] on
//! `[h, t, h - t, h * t]` with sigmoid activations, unnormalised (no softmax) masked weights,
//! prediction MLP [256, 256, 256] over `[user, target, pooled history]`, dropout 0, Adam
//! lr 1e-3, batch 2048, BCE) with the shared CTR examples of `ctr.rs`. Differences: ReLU instead
//! of Dice/PReLU in the prediction MLP; the user id is a field (RecBole DIN uses user features).

use super::ctr::{CtrData, CtrMethod, CtrNet, CtrTensors, Mlp};
use crate::common::{linear_xavier, normal_param};
use crate::train::TrainConfig;
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;
use quadrec_method::{Method, ParamsError, parse_params};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

const ID: &str = "din";

/// DIN params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DinParams {
    /// Embedding size (items shared between target and history).
    pub embedding_size: usize,
    /// Attention MLP hidden sizes.
    pub attention_mlp: Vec<usize>,
    /// Prediction MLP hidden sizes.
    pub mlp_hidden_size: Vec<usize>,
    /// Dropout in the prediction MLP.
    pub dropout: f64,
    /// Example construction.
    pub data: CtrData,
    /// Optimisation.
    pub train: TrainConfig,
}

impl Default for DinParams {
    fn default() -> Self {
        DinParams {
            embedding_size: 10,
            attention_mlp: vec![64, 32],
            mlp_hidden_size: vec![256, 256, 256],
            dropout: 0.0,
            data: CtrData::default(),
            train: TrainConfig::default(),
        }
    }
}

/// DIN.
#[derive(Module, Debug)]
pub struct DinNet {
    user: Param<Tensor<2>>,
    /// `[n_items + 1, d]`, shared by target and history (row n_items = padding).
    item: Param<Tensor<2>>,
    att: Vec<Linear>,
    att_out: Linear,
    mlp: Mlp,
}

impl CtrNet for DinNet {
    fn logits(&self, x: &CtrTensors, rng: Option<&mut ChaCha8Rng>) -> Tensor<2> {
        let [b, h] = x.hist.dims();
        let d = self.item.val().dims()[1];
        let t = self.item.val().select(0, x.item.clone()); // [B, d]
        let hist = self.item.val().select(0, x.hist.clone().reshape([b * h])).reshape([b, h, d]);
        let tt = t.clone().unsqueeze_dim::<3>(1).repeat_dim(1, h); // [B, H, d]
        let mut a = Tensor::cat(
            vec![hist.clone(), tt.clone(), hist.clone() - tt.clone(), hist.clone() * tt],
            2,
        ); // [B, H, 4d]
        for l in &self.att {
            a = sigmoid(l.forward(a));
        }
        let w = self.att_out.forward(a) * x.hist_mask.clone(); // [B, H, 1], padding weight 0
        let pooled = (hist * w).sum_dim(1).reshape([b, d]);
        let u = self.user.val().select(0, x.user.clone());
        self.mlp.forward(Tensor::cat(vec![u, t, pooled], 1), rng)
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: DinParams = parse_params(ID, v)?;
    let (d, att, hidden, drop) =
        (p.embedding_size, p.attention_mlp.clone(), p.mlp_hidden_size.clone(), p.dropout);
    Ok(Box::new(CtrMethod::new(ID, p.data, p.train, move |rng, nu, ni, dev| {
        let mut layers = Vec::new();
        let mut din = 4 * d;
        for &a in &att {
            layers.push(linear_xavier(rng, din, a, dev));
            din = a;
        }
        DinNet {
            user: normal_param(rng, [nu as usize, d], 0.01, dev),
            item: normal_param(rng, [ni as usize + 1, d], 0.01, dev),
            att: layers,
            att_out: linear_xavier(rng, din, 1, dev),
            mlp: Mlp::new(rng, 3 * d, &hidden, 1, drop, dev),
        }
    })))
}

/// Smoke params.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"embedding_size": 8, "attention_mlp": [8], "mlp_hidden_size": [16], "data": {"history_len": 5},
        "train": {"epochs": 30, "batch_size": 256, "learning_rate": 0.02, "patience": 5}})
}
