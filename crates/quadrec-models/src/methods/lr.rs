//! LR: logistic regression over one-hot user, one-hot target item and the (mean-pooled)
//! multi-hot history.
//!
//! Paper: Richardson et al., "Predicting Clicks: Estimating the Click-Through Rate for New Ads",
//! WWW 2007 (LR for CTR). Survey: scoring/ranking stage, item scoring (pointwise CTR) task,
//! conventional. Recipe: RecBole 1.2.1 context-aware defaults (Adam lr 1e-3, batch 2048, BCE),
//! with our shared CTR example construction (`ctr.rs`: history of 20, one negative per
//! positive). Difference: RecBole's LR sees only the fields of the atomic files; here the history
//! is a field (as in DIN's setting), so all CTR models see the same inputs.

use super::ctr::{CtrData, CtrMethod, CtrNet, CtrTensors, mean_history};
use crate::common::{const_param, normal_param};
use crate::train::TrainConfig;
use burn::module::{Module, Param};
use burn::tensor::Tensor;
use quadrec_method::{Method, ParamsError, parse_params};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

const ID: &str = "lr";

/// LR params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LrParams {
    /// Add the (history item x target item) conjunction features (see the file header).
    pub cross: bool,
    /// Example construction.
    pub data: CtrData,
    /// Optimisation.
    pub train: TrainConfig,
}

impl Default for LrParams {
    fn default() -> Self {
        LrParams { cross: true, data: CtrData::default(), train: TrainConfig::default() }
    }
}

/// LR weights.
#[derive(Module, Debug)]
pub struct LrNet {
    w_user: Param<Tensor<2>>,
    w_item: Param<Tensor<2>>,
    w_hist: Param<Tensor<2>>,
    bias: Param<Tensor<1>>,
}

impl LrNet {
    /// Small-normal init.
    pub fn new(rng: &mut ChaCha8Rng, nu: u32, ni: u32, device: &burn::tensor::Device) -> Self {
        LrNet {
            w_user: normal_param(rng, [nu as usize, 1], 0.01, device),
            w_item: normal_param(rng, [ni as usize + 1, 1], 0.01, device),
            w_hist: normal_param(rng, [ni as usize + 1, 1], 0.01, device),
            bias: const_param(0.0, [1], device),
        }
    }

    /// Linear term `[B, 1]` (shared with FM/DeepFM).
    pub fn linear(&self, x: &CtrTensors) -> Tensor<2> {
        self.w_user.val().select(0, x.user.clone())
            + self.w_item.val().select(0, x.item.clone())
            + mean_history(self.w_hist.val(), x)
            + self.bias.val().unsqueeze_dim::<2>(0)
    }
}

impl CtrNet for LrNet {
    fn logits(&self, x: &CtrTensors, _rng: Option<&mut ChaCha8Rng>) -> Tensor<2> {
        self.linear(x)
    }
}

/// LR with (history item x target item) conjunction weights.
#[derive(Module, Debug)]
pub struct LrCrossNet {
    base: LrNet,
    /// `[(n_items + 1) * n_items, 1]`: row `h * n_items + i` = weight of (history h, target i);
    /// rows of the padding history item `n_items` are masked out.
    w_cross: Param<Tensor<2>>,
    n_items: usize,
}

impl LrCrossNet {
    /// First-order weights as [`LrNet::new`], conjunction weights zero.
    pub fn new(rng: &mut ChaCha8Rng, nu: u32, ni: u32, device: &burn::tensor::Device) -> Self {
        let n = ni as usize;
        LrCrossNet {
            base: LrNet::new(rng, nu, ni, device),
            w_cross: const_param(0.0, [(n + 1) * n, 1], device),
            n_items: n,
        }
    }
}

impl CtrNet for LrCrossNet {
    fn logits(&self, x: &CtrTensors, _rng: Option<&mut ChaCha8Rng>) -> Tensor<2> {
        let [b, h] = x.hist.dims();
        // Flat conjunction index hist[b, j] * n_items + item[b]: [B, H].
        let idx = x.hist.clone().mul_scalar(self.n_items as i64)
            + x.item.clone().reshape([b, 1]).expand([b, h]);
        let w = self.w_cross.val().select(0, idx.reshape([b * h])).reshape([b, h, 1])
            * x.hist_mask.clone();
        self.base.linear(x) + w.sum_dim(1).reshape([b, 1]) / x.hist_count.clone()
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: LrParams = parse_params(ID, v)?;
    Ok(if p.cross {
        Box::new(CtrMethod::new(ID, p.data, p.train, LrCrossNet::new))
    } else {
        Box::new(CtrMethod::new(ID, p.data, p.train, LrNet::new))
    })
}

/// Smoke params.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"data": {"history_len": 5}, "train": {"epochs": 30, "batch_size": 256, "learning_rate": 0.05, "patience": 5}})
}
