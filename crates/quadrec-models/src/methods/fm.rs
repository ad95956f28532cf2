//! FM: factorisation machine over three fields (user, target item, mean-pooled history).
//!
//! Paper: Rendle, "Factorization Machines", ICDM 2010. Survey: scoring/ranking stage, item
//! scoring (pointwise CTR) task, conventional. Recipe: RecBole 1.2.1 context-aware defaults
//! (embedding 10, Adam lr 1e-3, batch 2048, BCE) with the shared CTR examples of `ctr.rs`.
//! `logit = linear + 1/2 sum_d ((sum_f v_f)^2 - sum_f v_f^2)`. Difference from RecBole: the
//! history is a pooled field (same inputs for every CTR model here).

use super::ctr::{CtrData, CtrMethod, CtrNet, CtrTensors, mean_history};
use super::lr::LrNet;
use crate::common::normal_param;
use crate::train::TrainConfig;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use quadrec_method::{Method, ParamsError, parse_params};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

const ID: &str = "fm";

/// FM params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FmParams {
    /// Factor size.
    pub embedding_size: usize,
    /// Example construction.
    pub data: CtrData,
    /// Optimisation.
    pub train: TrainConfig,
}

impl Default for FmParams {
    fn default() -> Self {
        FmParams { embedding_size: 10, data: CtrData::default(), train: TrainConfig::default() }
    }
}

/// Field embeddings shared by FM, DeepFM and DCNv2.
#[derive(Module, Debug)]
pub struct FieldEmbeddings {
    /// `[n_users, d]`
    pub user: Param<Tensor<2>>,
    /// `[n_items + 1, d]` (target item)
    pub item: Param<Tensor<2>>,
    /// `[n_items + 1, d]` (history items)
    pub hist: Param<Tensor<2>>,
}

impl FieldEmbeddings {
    /// N(0, 0.01^2) init (RecBole context-aware models use xavier-normal; small normal is
    /// equivalent at this scale).
    pub fn new(rng: &mut ChaCha8Rng, nu: u32, ni: u32, d: usize, device: &Device) -> Self {
        FieldEmbeddings {
            user: normal_param(rng, [nu as usize, d], 0.01, device),
            item: normal_param(rng, [ni as usize + 1, d], 0.01, device),
            hist: normal_param(rng, [ni as usize + 1, d], 0.01, device),
        }
    }

    /// The three field vectors, each `[B, d]`.
    pub fn fields(&self, x: &CtrTensors) -> [Tensor<2>; 3] {
        [
            self.user.val().select(0, x.user.clone()),
            self.item.val().select(0, x.item.clone()),
            mean_history(self.hist.val(), x),
        ]
    }
}

/// FM second-order term `[B, 1]` of field vectors.
pub fn fm_interaction(f: &[Tensor<2>; 3]) -> Tensor<2> {
    let sum = f[0].clone() + f[1].clone() + f[2].clone();
    let sq = f[0].clone().powf_scalar(2.0)
        + f[1].clone().powf_scalar(2.0)
        + f[2].clone().powf_scalar(2.0);
    (sum.powf_scalar(2.0) - sq).sum_dim(1).mul_scalar(0.5)
}

/// FM.
#[derive(Module, Debug)]
pub struct FmNet {
    lin: LrNet,
    emb: FieldEmbeddings,
}

impl CtrNet for FmNet {
    fn logits(&self, x: &CtrTensors, _rng: Option<&mut ChaCha8Rng>) -> Tensor<2> {
        self.lin.linear(x) + fm_interaction(&self.emb.fields(x))
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: FmParams = parse_params(ID, v)?;
    let d = p.embedding_size;
    Ok(Box::new(CtrMethod::new(ID, p.data, p.train, move |rng, nu, ni, dev| FmNet {
        lin: LrNet::new(rng, nu, ni, dev),
        emb: FieldEmbeddings::new(rng, nu, ni, d, dev),
    })))
}

/// Smoke params.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"embedding_size": 8, "data": {"history_len": 5}, "train": {"epochs": 30, "batch_size": 256, "learning_rate": 0.05, "patience": 5}})
}
