//! DeepFM with dense (language-model) fields: the backbone shared by `deepfm-text` (frozen
//! MiniLM item-text embeddings) and `kar` (MiniLM embeddings of SmolLM2-written item knowledge
//! and user preference summaries).
//!
//! Fields: the parent DeepFM's three ID fields (user, target item, mean-pooled history) plus, for
//! every dense item table, two fields (the target item's adapted vector and the masked mean of
//! the history items' adapted vectors) and, for every dense user table, one field (the user's
//! adapted vector). Each table goes through its own MoE adapter (`textfeat::MoeAdapter`, KAR's
//! "knowledge adaptor"), applied to the whole table once per step and then gathered. The logit is
//! DeepFM's `linear + FM(all fields) + MLP(concat(all fields))`. Examples, negatives, loss,
//! optimiser and early stopping are `quadrec_models`' CTR machinery (`CtrMethod`), identical to
//! the parent `deepfm`.

use crate::textfeat::MoeAdapter;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use quadrec_method::Method;
use quadrec_method::{FitContext, FitReport, MethodError, TrainView};
use quadrec_models::methods::ctr::{CtrData, CtrMethod, CtrNet, CtrTensors, Mlp, mean_history};
use quadrec_models::methods::fm::FieldEmbeddings;
use quadrec_models::methods::lr::LrNet;
use quadrec_models::train::TrainConfig;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Backbone params (the parent `deepfm`'s, same defaults), plus the adapter size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DenseDeepFmParams {
    /// Field embedding size (also the adapters' output size).
    pub embedding_size: usize,
    /// Hidden layer sizes of the deep part.
    pub mlp_hidden_size: Vec<usize>,
    /// Dropout in the deep part.
    pub dropout: f64,
    /// Experts per MoE adapter.
    pub n_experts: usize,
    /// Example construction (as the parent).
    pub data: CtrData,
    /// Optimisation (as the parent).
    pub train: TrainConfig,
}

impl Default for DenseDeepFmParams {
    fn default() -> Self {
        DenseDeepFmParams {
            embedding_size: 10,
            mlp_hidden_size: vec![64, 64, 64],
            dropout: 0.2,
            n_experts: 4,
            data: CtrData::default(),
            train: TrainConfig::default(),
        }
    }
}

/// Host-side dense tables handed to the net constructor.
#[derive(Clone, Debug, Default)]
pub struct DenseTables {
    /// Item tables, each `[(n_items + 1) * dim]` (last row = history padding, zero).
    pub item: Vec<Vec<f32>>,
    /// User tables, each `[n_users * dim]`.
    pub user: Vec<Vec<f32>>,
    /// Width of every table (384 for MiniLM).
    pub dim: usize,
}

/// The net.
#[derive(Module, Debug)]
pub struct DenseDeepFmNet {
    lin: LrNet,
    emb: FieldEmbeddings,
    deep: Mlp,
    /// Constant item tables `[n_items + 1, D]`.
    item_tables: Vec<Tensor<2>>,
    item_adapters: Vec<MoeAdapter>,
    /// Constant user tables `[n_users, D]`.
    user_tables: Vec<Tensor<2>>,
    user_adapters: Vec<MoeAdapter>,
}

impl DenseDeepFmNet {
    /// Build with seeded init.
    pub fn new(
        rng: &mut ChaCha8Rng,
        nu: u32,
        ni: u32,
        p: &DenseDeepFmParams,
        t: &DenseTables,
        device: &Device,
    ) -> Self {
        let d = p.embedding_size;
        let n_fields = 3 + 2 * t.item.len() + t.user.len();
        let lin = LrNet::new(rng, nu, ni, device);
        let emb = FieldEmbeddings::new(rng, nu, ni, d, device);
        let deep = Mlp::new(rng, n_fields * d, &p.mlp_hidden_size, 1, p.dropout, device);
        let item_adapters =
            t.item.iter().map(|_| MoeAdapter::new(rng, p.n_experts, t.dim, d, device)).collect();
        let user_adapters =
            t.user.iter().map(|_| MoeAdapter::new(rng, p.n_experts, t.dim, d, device)).collect();
        DenseDeepFmNet {
            lin,
            emb,
            deep,
            item_tables: t
                .item
                .iter()
                .map(|v| crate::textfeat::constant(v.clone(), ni as usize + 1, t.dim, device))
                .collect(),
            item_adapters,
            user_tables: t
                .user
                .iter()
                .map(|v| crate::textfeat::constant(v.clone(), nu as usize, t.dim, device))
                .collect(),
            user_adapters,
        }
    }
}

/// FM second-order term `[B, 1]` over any number of fields.
fn fm_term(f: &[Tensor<2>]) -> Tensor<2> {
    let mut sum = f[0].clone();
    let mut sq = f[0].clone().powf_scalar(2.0);
    for x in &f[1..] {
        sum = sum + x.clone();
        sq = sq + x.clone().powf_scalar(2.0);
    }
    (sum.powf_scalar(2.0) - sq).sum_dim(1).mul_scalar(0.5)
}

impl CtrNet for DenseDeepFmNet {
    fn logits(&self, x: &CtrTensors, rng: Option<&mut ChaCha8Rng>) -> Tensor<2> {
        let mut fields: Vec<Tensor<2>> = self.emb.fields(x).to_vec();
        for (t, a) in self.item_tables.iter().zip(&self.item_adapters) {
            let e = a.forward(t.clone()); // [n_items + 1, d]
            fields.push(e.clone().select(0, x.item.clone()));
            fields.push(mean_history(e, x));
        }
        for (t, a) in self.user_tables.iter().zip(&self.user_adapters) {
            fields.push(a.forward(t.clone()).select(0, x.user.clone()));
        }
        let fm = fm_term(&fields);
        let deep = self.deep.forward(Tensor::cat(fields, 1), rng);
        self.lin.linear(x) + fm + deep
    }
}

/// Fit a dense DeepFM `id` with `tables` on `train` through the shared CTR machinery; returns
/// the fitted method (scoring delegates to it).
pub fn fit_dense(
    id: &'static str,
    p: &DenseDeepFmParams,
    tables: DenseTables,
    train: &TrainView,
    ctx: &mut FitContext,
) -> Result<(CtrMethod<DenseDeepFmNet>, FitReport), MethodError> {
    let pc = p.clone();
    let mut m = CtrMethod::new(id, p.data.clone(), p.train.clone(), move |rng, nu, ni, dev| {
        DenseDeepFmNet::new(rng, nu, ni, &pc, &tables, dev)
    });
    let report = m.fit(train, ctx)?;
    Ok((m, report))
}

/// Smoke params of the backbone.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"embedding_size": 8, "mlp_hidden_size": [16], "n_experts": 2, "data": {"history_len": 5},
        "train": {"epochs": 30, "batch_size": 256, "learning_rate": 0.02, "patience": 5}})
}
