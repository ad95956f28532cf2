//! DIN-Text: DIN whose item representation carries a frozen MiniLM item-text field.
//!
//! Paper: the feature-encoder use of a frozen text encoder inside a CTR model (survey's "LM as
//! feature encoder" line, e.g. UNBERT, the text field of CTR-BERT); backbone Zhou et al., "Deep
//! Interest Network for Click-Through Rate Prediction", KDD 2018. Survey: feature encoder stage,
//! representation-encoding task, quadrant Q2 (frozen LM, CRM at inference). The parent is `din`
//! (quadrec-models, RecBole 1.2.1 recipe): same examples, negatives, loss, optimiser, early
//! stopping, attention MLP, prediction MLP and defaults.
//!
//! DIN represents an item by the concatenation of its feature-field embeddings (in the paper:
//! goods id, shop id, category id); here the fields are the item ID embedding (`d`) and the
//! item's MiniLM text embedding through a learned MoE adapter (`textfeat::MoeAdapter`,
//! 384 -> `d`), so an item is `[id_emb, adapter(text)]` (`2d`) everywhere DIN uses an item: the
//! target, every history item, and therefore the target attention `a([h, t, h - t, h * t])`
//! (`8d` in) and the pooled history. The prediction MLP sees `[user (d), target (2d),
//! pooled (2d)]`. The text table is a constant (frozen LM output, not a parameter); the adapter
//! is applied to the whole table once per forward and then gathered.

use crate::textfeat::{MoeAdapter, catalogue_text, constant, minilm_weights, padded_rows};
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, Provenance, TrainView, parse_params,
};
use quadrec_models::common::{linear_xavier, normal_param};
use quadrec_models::methods::ctr::{CtrData, CtrMethod, CtrNet, CtrTensors, Mlp};
use quadrec_models::methods::din::DinParams;
use quadrec_models::train::TrainConfig;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Registry id.
pub const ID: &str = "din-text";

/// DIN-Text params: the parent `din`'s (same defaults) plus the adapter's experts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DinTextParams {
    /// Size of each item field (ID embedding and adapted text) and of the user embedding.
    pub embedding_size: usize,
    /// Attention MLP hidden sizes.
    pub attention_mlp: Vec<usize>,
    /// Prediction MLP hidden sizes.
    pub mlp_hidden_size: Vec<usize>,
    /// Dropout in the prediction MLP.
    pub dropout: f64,
    /// Experts of the text adapter.
    pub n_experts: usize,
    /// Example construction (as the parent).
    pub data: CtrData,
    /// Optimisation (as the parent).
    pub train: TrainConfig,
}

impl Default for DinTextParams {
    fn default() -> Self {
        let p = DinParams::default();
        DinTextParams {
            embedding_size: p.embedding_size,
            attention_mlp: p.attention_mlp,
            mlp_hidden_size: p.mlp_hidden_size,
            dropout: p.dropout,
            n_experts: 4,
            data: p.data,
            train: p.train,
        }
    }
}

/// The net.
#[derive(Module, Debug)]
pub struct DinTextNet {
    user: Param<Tensor<2>>,
    /// `[n_items + 1, d]` ID field (row n_items = history padding).
    item: Param<Tensor<2>>,
    /// Constant MiniLM table `[n_items + 1, 384]` (padding row zero).
    text: Tensor<2>,
    adapter: MoeAdapter,
    att: Vec<Linear>,
    att_out: Linear,
    mlp: Mlp,
}

impl DinTextNet {
    /// Item representations `[n_items + 1, 2d]` = `[id_emb, adapter(text)]`.
    fn items(&self) -> Tensor<2> {
        Tensor::cat(vec![self.item.val(), self.adapter.forward(self.text.clone())], 1)
    }
}

impl CtrNet for DinTextNet {
    fn logits(&self, x: &CtrTensors, rng: Option<&mut ChaCha8Rng>) -> Tensor<2> {
        let [b, h] = x.hist.dims();
        let e = self.items();
        let d2 = e.dims()[1];
        let t = e.clone().select(0, x.item.clone()); // [B, 2d]
        let hist = e.select(0, x.hist.clone().reshape([b * h])).reshape([b, h, d2]);
        let tt = t.clone().unsqueeze_dim::<3>(1).repeat_dim(1, h); // [B, H, 2d]
        let mut a = Tensor::cat(
            vec![hist.clone(), tt.clone(), hist.clone() - tt.clone(), hist.clone() * tt],
            2,
        ); // [B, H, 8d]
        for l in &self.att {
            a = sigmoid(l.forward(a));
        }
        // As the parent: unnormalised sigmoid-MLP weights, padding slots weighted 0.
        let w = self.att_out.forward(a) * x.hist_mask.clone(); // [B, H, 1]
        let pooled = (hist * w).sum_dim(1).reshape([b, d2]);
        let u = self.user.val().select(0, x.user.clone());
        self.mlp.forward(Tensor::cat(vec![u, t, pooled], 1), rng)
    }
}

/// DIN-Text.
pub struct DinText {
    p: DinTextParams,
    fitted: Option<CtrMethod<DinTextNet>>,
}

impl Method for DinText {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let text = catalogue_text(ID, train.items())?;
        let (rows, dim) = (padded_rows(&text, 1), text.dim);
        let p = self.p.clone();
        let mut m = CtrMethod::new(ID, p.data.clone(), p.train.clone(), move |rng, nu, ni, dev| {
            let d = p.embedding_size;
            let mut att = Vec::new();
            let mut din = 8 * d;
            for &a in &p.attention_mlp {
                att.push(linear_xavier(rng, din, a, dev));
                din = a;
            }
            DinTextNet {
                user: normal_param(rng, [nu as usize, d], 0.01, dev),
                item: normal_param(rng, [ni as usize + 1, d], 0.01, dev),
                text: constant(rows.clone(), ni as usize + 1, dim, dev),
                adapter: MoeAdapter::new(rng, p.n_experts, dim, d, dev),
                att,
                att_out: linear_xavier(rng, din, 1, dev),
                mlp: Mlp::new(rng, 5 * d, &p.mlp_hidden_size, 1, p.dropout, dev),
            }
        });
        let report = m.fit(train, ctx)?;
        self.fitted = Some(m);
        Ok(report)
    }
    quadrec_models::delegate_scoring!(ID, |f| f.n_parameters());
    fn provenance(&self) -> Provenance {
        let mut p = Provenance::default();
        let (k, v) = minilm_weights();
        p.weight_hashes.insert(k, v);
        p
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: DinTextParams = parse_params(ID, v)?;
    if p.n_experts == 0 || p.embedding_size == 0 {
        return Err(ParamsError::Invalid {
            method: ID.into(),
            message: "n_experts and embedding_size must be >= 1".into(),
        });
    }
    Ok(Box::new(DinText { p, fitted: None }))
}

/// Smoke params (the parent's smoke recipe plus two experts).
pub fn smoke() -> serde_json::Value {
    let mut v = quadrec_models::methods::din::smoke();
    v["n_experts"] = serde_json::json!(2);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::Titled;
    use quadrec_core::Seed;
    use quadrec_method::UserQuery;

    /// On the tiny titled data set with the real MiniLM: it fits and scores finitely, the
    /// parameter count is the parent's layout with `2d` items plus the adapter (the text table
    /// is not a parameter), and the text field reaches the logits (two nets that differ only in
    /// the MiniLM table score differently). Shapes, score_items/score_full agreement and
    /// determinism are the registry-wide checks in `lib.rs`.
    #[test]
    fn din_text_fits_on_titled_data_and_uses_the_text_field() {
        let d = Titled::new();
        let e = quadrec_method::find_entry(crate::STAGES_TABLE, ID).unwrap();
        let p = quadrec_method::merge_params(ID, &(e.default_params)(), &[("smoke", &smoke())])
            .unwrap();
        let mut m = (e.build)(&p).unwrap();
        m.fit(&d.train, &mut FitContext::new(Seed(3))).unwrap();
        let pp: DinTextParams = parse_params(ID, &p).unwrap();
        let (nu, ni, dd) = (d.train.n_users() as u64, d.train.n_items() as u64, 8u64);
        let k = pp.n_experts as u64;
        // user + item ID tables, adapter (bias, proj, gate), attention [64 -> 8 -> 1], MLP [40 -> 16 -> 1]
        let expected = nu * dd
            + (ni + 1) * dd
            + (k * 384 + k * 384 * dd + 384 * k)
            + (8 * dd * 8 + 8)
            + (8 + 1)
            + (5 * dd * 16 + 16)
            + (16 + 1);
        assert_eq!(m.n_parameters(), expected);
        let n = ni as usize;
        let q: Vec<UserQuery> = (0..d.train.n_users())
            .map(|u| UserQuery { user: u, history: d.train.user_items(u) })
            .collect();
        let mut s = vec![0f32; q.len() * n];
        m.score_full(&q, &mut s).unwrap();
        assert!(s.iter().all(|x| x.is_finite()));

        // The text field matters: the same init and ID tables with a different text table give
        // different logits.
        let text = catalogue_text(ID, d.train.items()).unwrap();
        let dev = burn::tensor::Device::flex();
        let mk = |rows: Vec<f32>| {
            let mut rng = Seed(9).child("x").rng();
            DinTextNet {
                user: normal_param(&mut rng, [nu as usize, 8], 0.1, &dev),
                item: normal_param(&mut rng, [n + 1, 8], 0.1, &dev),
                text: constant(rows, n + 1, 384, &dev),
                adapter: MoeAdapter::new(&mut rng, 2, 384, 8, &dev),
                att: vec![linear_xavier(&mut rng, 64, 8, &dev)],
                att_out: linear_xavier(&mut rng, 8, 1, &dev),
                mlp: Mlp::new(&mut rng, 40, &[16], 1, 0.0, &dev),
            }
        };
        let rows = padded_rows(&text, 1);
        let mut shuffled = rows.clone();
        shuffled.rotate_left(384); // item i gets item i+1's text
        let x = quadrec_models::methods::ctr::CtrTensors {
            user: quadrec_models::common::int_tensor(vec![0, 1], [2], &dev),
            item: quadrec_models::common::int_tensor(vec![2, 5], [2], &dev),
            hist: quadrec_models::common::int_tensor(vec![0, 1, n as i64, 4, 5, 6], [2, 3], &dev),
            hist_mask: quadrec_models::common::tensor(
                vec![1., 1., 0., 1., 1., 1.],
                [2, 3, 1],
                &dev,
            ),
            hist_count: quadrec_models::common::tensor(vec![2., 3.], [2, 1], &dev),
        };
        let a: Vec<f32> = mk(rows).logits(&x, None).into_data().try_to_vec().unwrap();
        let b: Vec<f32> = mk(shuffled).logits(&x, None).into_data().try_to_vec().unwrap();
        assert!(a.iter().zip(&b).any(|(p, q)| (p - q).abs() > 1e-6), "{a:?} vs {b:?}");
    }
}
