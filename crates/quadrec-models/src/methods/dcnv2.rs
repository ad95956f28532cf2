//! DCNv2: deep & cross network v2 (full-rank cross layers), stacked structure.
//!
//! Paper: Wang et al., "DCN V2: Improved Deep & Cross Network and Practical Lessons for
//! Web-scale Learning to Rank Systems", WWW 2021. Survey: scoring/ranking stage, item scoring
//! (pointwise CTR) task, conventional. Recipe: RecBole 1.2.1 `DCNV2` defaults (embedding 16,
//! stacked, 2 cross layers, not mixed, MLP [256, 256], dropout 0.2, Adam lr 1e-3, batch 2048,
//! BCE) with the shared CTR examples of `ctr.rs`. Cross layer: `x_{l+1} = x0 * (W x_l + b) + x_l`.
//! Differences from RecBole: the history is a pooled field; no extra L2 term on cross weights
//! (RecBole `reg_weight`).

use super::ctr::{CtrData, CtrMethod, CtrNet, CtrTensors, Mlp};
use super::fm::FieldEmbeddings;
use crate::common::linear_xavier;
use crate::train::TrainConfig;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::Tensor;
use quadrec_method::{Method, ParamsError, parse_params};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

const ID: &str = "dcnv2";

/// DCNv2 params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DcnV2Params {
    /// Field embedding size.
    pub embedding_size: usize,
    /// Cross layers.
    pub cross_layer_num: usize,
    /// Hidden sizes of the deep part (stacked after the cross network).
    pub mlp_hidden_size: Vec<usize>,
    /// Dropout in the deep part.
    pub dropout: f64,
    /// Example construction.
    pub data: CtrData,
    /// Optimisation.
    pub train: TrainConfig,
}

impl Default for DcnV2Params {
    fn default() -> Self {
        DcnV2Params {
            embedding_size: 16,
            cross_layer_num: 2,
            mlp_hidden_size: vec![256, 256],
            dropout: 0.2,
            data: CtrData::default(),
            train: TrainConfig::default(),
        }
    }
}

/// DCNv2.
#[derive(Module, Debug)]
pub struct DcnV2Net {
    emb: FieldEmbeddings,
    cross: Vec<Linear>,
    deep: Mlp,
}

impl CtrNet for DcnV2Net {
    fn logits(&self, x: &CtrTensors, rng: Option<&mut ChaCha8Rng>) -> Tensor<2> {
        let x0 = Tensor::cat(self.emb.fields(x).to_vec(), 1); // [B, 3d]
        let mut xl = x0.clone();
        for c in &self.cross {
            xl = x0.clone() * c.forward(xl.clone()) + xl;
        }
        self.deep.forward(xl, rng)
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: DcnV2Params = parse_params(ID, v)?;
    let (d, hidden, drop, n_cross) =
        (p.embedding_size, p.mlp_hidden_size.clone(), p.dropout, p.cross_layer_num);
    Ok(Box::new(CtrMethod::new(ID, p.data, p.train, move |rng, nu, ni, dev| DcnV2Net {
        emb: FieldEmbeddings::new(rng, nu, ni, d, dev),
        cross: (0..n_cross).map(|_| linear_xavier(rng, 3 * d, 3 * d, dev)).collect(),
        deep: Mlp::new(rng, 3 * d, &hidden, 1, drop, dev),
    })))
}

/// Smoke params.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"embedding_size": 8, "mlp_hidden_size": [16], "data": {"history_len": 5},
        "train": {"epochs": 30, "batch_size": 256, "learning_rate": 0.02, "patience": 5}})
}
