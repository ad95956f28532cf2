//! DeepFM: FM and a deep MLP sharing the field embeddings.
//!
//! Paper: Guo et al., "DeepFM: A Factorization-Machine based Neural Network for CTR
//! Prediction", IJCAI 2017. Survey: scoring/ranking stage, item scoring (pointwise CTR) task,
//! conventional. Recipe: RecBole 1.2.1 `DeepFM` defaults (embedding 10, MLP [64, 64, 64],
//! dropout 0.2, Adam lr 1e-3, batch 2048, BCE) with the shared CTR examples of `ctr.rs`.
//! Difference from RecBole: the history is a pooled field.

use super::ctr::{CtrData, CtrMethod, CtrNet, CtrTensors, Mlp};
use super::fm::{FieldEmbeddings, fm_interaction};
use super::lr::LrNet;
use crate::train::TrainConfig;
use burn::module::Module;
use burn::tensor::Tensor;
use quadrec_method::{Method, ParamsError, parse_params};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

const ID: &str = "deepfm";

/// DeepFM params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeepFmParams {
    /// Field embedding size.
    pub embedding_size: usize,
    /// Hidden layer sizes of the deep part.
    pub mlp_hidden_size: Vec<usize>,
    /// Dropout in the deep part.
    pub dropout: f64,
    /// Example construction.
    pub data: CtrData,
    /// Optimisation.
    pub train: TrainConfig,
}

impl Default for DeepFmParams {
    fn default() -> Self {
        DeepFmParams {
            embedding_size: 10,
            mlp_hidden_size: vec![64, 64, 64],
            dropout: 0.2,
            data: CtrData::default(),
            train: TrainConfig::default(),
        }
    }
}

/// DeepFM.
#[derive(Module, Debug)]
pub struct DeepFmNet {
    lin: LrNet,
    emb: FieldEmbeddings,
    deep: Mlp,
}

impl CtrNet for DeepFmNet {
    fn logits(&self, x: &CtrTensors, rng: Option<&mut ChaCha8Rng>) -> Tensor<2> {
        let f = self.emb.fields(x);
        let fm = fm_interaction(&f);
        let deep = self.deep.forward(Tensor::cat(f.to_vec(), 1), rng);
        self.lin.linear(x) + fm + deep
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: DeepFmParams = parse_params(ID, v)?;
    let (d, hidden, drop) = (p.embedding_size, p.mlp_hidden_size.clone(), p.dropout);
    Ok(Box::new(CtrMethod::new(ID, p.data, p.train, move |rng, nu, ni, dev| DeepFmNet {
        lin: LrNet::new(rng, nu, ni, dev),
        emb: FieldEmbeddings::new(rng, nu, ni, d, dev),
        deep: Mlp::new(rng, 3 * d, &hidden, 1, drop, dev),
    })))
}

/// Smoke params.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"embedding_size": 8, "mlp_hidden_size": [16], "data": {"history_len": 5},
        "train": {"epochs": 30, "batch_size": 256, "learning_rate": 0.02, "patience": 5}})
}
