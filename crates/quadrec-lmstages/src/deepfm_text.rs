//! DeepFM-Text: DeepFM with frozen MiniLM item-text embedding fields.
//!
//! Paper: the feature-encoder use of a frozen text encoder inside a CTR model, as in the
//! survey's "LM as feature encoder" line (e.g. U-BERT, UNBERT; the text field of CTR-BERT);
//! backbone Guo et al., DeepFM, IJCAI 2017. Survey: feature encoder stage,
//! representation-encoding task, quadrant Q2 (frozen LM, CRM at inference). The parent is
//! `deepfm` (RecBole recipe, same examples, negatives, loss, optimiser and early stopping); this
//! model adds two fields: the target item's MiniLM text embedding and the mean text embedding
//! of the history, each through a learned MoE adapter (see `dense_deepfm.rs`).

use crate::dense_deepfm::{DenseDeepFmNet, DenseDeepFmParams, DenseTables, fit_dense};
use crate::textfeat::{catalogue_text, minilm_weights, padded_rows};
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, Provenance, TrainView, parse_params,
};
use quadrec_models::methods::ctr::CtrMethod;

/// Registry id.
pub const ID: &str = "deepfm-text";

/// DeepFM-Text.
pub struct DeepFmText {
    p: DenseDeepFmParams,
    fitted: Option<CtrMethod<DenseDeepFmNet>>,
}

impl Method for DeepFmText {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let text = catalogue_text(ID, train.items())?;
        let tables = DenseTables { item: vec![padded_rows(&text, 1)], user: vec![], dim: text.dim };
        let (m, report) = fit_dense(ID, &self.p, tables, train, ctx)?;
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
    let p: DenseDeepFmParams = parse_params(ID, v)?;
    if p.n_experts == 0 || p.embedding_size == 0 {
        return Err(ParamsError::Invalid {
            method: ID.into(),
            message: "n_experts and embedding_size must be >= 1".into(),
        });
    }
    Ok(Box::new(DeepFmText { p, fitted: None }))
}

/// Smoke params.
pub fn smoke() -> serde_json::Value {
    crate::dense_deepfm::smoke()
}
