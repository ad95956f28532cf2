//! Shared pieces of the text-feature methods: frozen MiniLM tables as constant tensors, the
//! mixture-of-experts parametric-whitening adapter of UniSRec (also used as KAR's knowledge
//! adaptor), and error mapping for the shared model handles.
//!
//! The text tables are `Tensor` fields of the Burn modules, not `Param`s: Burn treats them as
//! constants (not visited by the optimiser, not counted in `num_params`), which is exactly what a
//! frozen LM's output is.

use burn::module::{Module, Param};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use quadrec_lmrec::ItemEmbeddings;
use quadrec_method::MethodError;
use quadrec_models::common::{normal_param, tensor};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// MiniLM embeddings of the catalogue of `train`, mapped to a method error.
pub fn catalogue_text(
    method: &str,
    items: &quadrec_data::ItemTable,
) -> Result<Arc<ItemEmbeddings>, MethodError> {
    quadrec_lmrec::item_embeddings(items)
        .map_err(|e| MethodError::Data { method: method.into(), message: e.to_string() })
}

/// Rows of `emb` followed by `extra_zero_rows` zero rows (padding slots), as a host buffer
/// `[(n + extra) * dim]`.
pub fn padded_rows(emb: &ItemEmbeddings, extra_zero_rows: usize) -> Vec<f32> {
    let mut v = emb.data.clone();
    v.extend(std::iter::repeat_n(0.0, extra_zero_rows * emb.dim));
    v
}

/// The MiniLM weight hash for provenance.
pub fn minilm_weights() -> (String, String) {
    ("all-MiniLM-L6-v2".into(), quadrec_lm::assets::minilm_model_hash().to_string())
}

/// UniSRec's MoE adapter: `sum_k g_k(x) * (x - b_k) W_k` with `g = softmax(x W_g)`.
///
/// Paper: Hou et al., "Towards Universal Sequence Representation Learning for Recommender
/// Systems" (UniSRec), KDD 2022, section 3.1 (parametric whitening + mixture-of-experts
/// enhanced adaptor). Difference: no gating noise during training (the seed tree would have to
/// drive it; the paper's ablation shows it is minor).
#[derive(Module, Debug)]
pub struct MoeAdapter {
    /// `[k, D]` whitening biases.
    bias: Param<Tensor<2>>,
    /// `[k, D, d]` projections.
    proj: Param<Tensor<3>>,
    /// `[D, k]` gate.
    gate: Param<Tensor<2>>,
}

impl MoeAdapter {
    /// `k` experts mapping `d_in` to `d_out`, N(0, 0.02^2) init, zero biases.
    pub fn new(rng: &mut ChaCha8Rng, k: usize, d_in: usize, d_out: usize, device: &Device) -> Self {
        MoeAdapter {
            bias: Param::from_tensor(Tensor::zeros([k, d_in], device)),
            proj: normal_param(rng, [k, d_in, d_out], 0.02, device),
            gate: normal_param(rng, [d_in, k], 0.02, device),
        }
    }

    /// # Shapes
    /// `x`: `[N, D]` -> `[N, d]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [n, dd] = x.dims();
        let [k, _, d] = self.proj.val().dims();
        let g = softmax(x.clone().matmul(self.gate.val()), 1); // [N, k]
        // [k, N, D] - [k, 1, D] -> [k, N, D] @ [k, D, d] -> [k, N, d]
        let xc = x.unsqueeze_dim::<3>(0).expand([k, n, dd]) - self.bias.val().unsqueeze_dim(1);
        let e = xc.matmul(self.proj.val()); // [k, N, d]
        let g = g.transpose().unsqueeze_dim::<3>(2); // [k, N, 1]
        (e * g).sum_dim(0).reshape([n, d])
    }
}

/// A constant table `[rows, dim]` on `device` from a host buffer.
pub fn constant(v: Vec<f32>, rows: usize, dim: usize, device: &Device) -> Tensor<2> {
    tensor(v, [rows, dim], device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quadrec_core::Seed;

    #[test]
    fn adapter_shapes_and_gate_mixture() {
        let dev = Device::flex();
        let mut rng = Seed(1).child("a").rng();
        let a = MoeAdapter::new(&mut rng, 3, 8, 4, &dev);
        let x = tensor((0..40).map(|i| i as f32 / 40.0).collect(), [5, 8], &dev);
        let y = a.forward(x.clone());
        assert_eq!(y.dims(), [5, 4]);
        // With one expert the gate is 1 and the adapter is the affine map (x - b) W.
        let mut rng = Seed(2).child("a").rng();
        let one = MoeAdapter::new(&mut rng, 1, 8, 4, &dev);
        let w = one.proj.val().reshape([8, 4]);
        let direct = x.matmul(w);
        let got = one.forward(tensor((0..40).map(|i| i as f32 / 40.0).collect(), [5, 8], &dev));
        let d: Vec<f32> = direct.into_data().try_to_vec::<f32>().unwrap();
        let g: Vec<f32> = got.into_data().try_to_vec::<f32>().unwrap();
        for (p, q) in d.iter().zip(&g) {
            assert!((p - q).abs() < 1e-6);
        }
        // Not counted as parameters: none here besides bias/proj/gate.
        assert_eq!(a.num_params(), 3 * 8 + 3 * 8 * 4 + 8 * 3);
    }
}
