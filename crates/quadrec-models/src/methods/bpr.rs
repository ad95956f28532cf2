//! BPR-MF: matrix factorisation trained with Bayesian personalised ranking.
//!
//! Paper: Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit Feedback", UAI 2009.
//! Survey: scoring/ranking stage, top-N ranking task, conventional. Recipe: RecBole 1.2.1 `BPR`
//! defaults: embedding 64, Xavier-normal init, Adam lr 1e-3, batch 2048, one uniformly sampled
//! unseen negative per train interaction per epoch, loss `-log sigmoid(s_pos - s_neg)` (mean),
//! no L2 term. `score(u, i) = <p_u, q_i>`. Difference from RecBole: none intended; the history
//! of a query is not used (MF has no input history), as in RecBole.

use crate::common::{int_tensor, normal_param, sample_negative, seen_sets};
use crate::train::{Objective, TrainConfig, fit};
use burn::module::{Module, Param};
use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Device, Tensor};
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, TrainView, UserQuery, parse_params,
};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

const ID: &str = "bpr";

/// BPR-MF params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BprParams {
    /// Latent dimension.
    pub embedding_size: usize,
    /// Optimisation.
    pub train: TrainConfig,
}

impl Default for BprParams {
    fn default() -> Self {
        BprParams { embedding_size: 64, train: TrainConfig::default() }
    }
}

/// The MF model.
#[derive(Module, Debug)]
pub struct MfModel {
    /// `[n_users, d]`
    pub user: Param<Tensor<2>>,
    /// `[n_items, d]`
    pub item: Param<Tensor<2>>,
}

/// Frozen MF scorer.
#[derive(Debug)]
pub struct MfScorer {
    user: Tensor<2>,
    item_t: Tensor<2>,
    n_users: u32,
    n_items: u32,
    n_params: u64,
}

impl MfScorer {
    fn from_model(m: &MfModel, device: &Device) -> Self {
        let m = m.valid().to_device(device);
        let [nu, d] = m.user.val().dims();
        let n_items = m.item.val().dims()[0];
        MfScorer {
            user: m.user.val(),
            item_t: m.item.val().transpose(),
            n_users: nu as u32,
            n_items: n_items as u32,
            n_params: ((nu + n_items) * d) as u64,
        }
    }
}

impl crate::common::DotTower for MfScorer {
    const CHUNK: usize = 4096;
    fn user_repr(&self, queries: &[UserQuery]) -> Tensor<2> {
        let idx = int_tensor(
            queries.iter().map(|q| q.user as i64).collect(),
            [queries.len()],
            &self.user.device(),
        );
        self.user.clone().select(0, idx)
    }
    fn item_t(&self) -> &Tensor<2> {
        &self.item_t
    }
    fn shape(&self) -> (u32, u32) {
        (self.n_users, self.n_items)
    }
}
crate::common::frozen_dot_method!(MfScorer, ID);

struct BprObjective {
    pairs: Vec<(u32, u32)>,
    seen: Vec<Vec<u32>>,
    n_items: u32,
    batch: usize,
    device: Device,
    infer: Device,
}

/// `(users, positives, negatives)` index vectors.
type BprBatch = (Vec<i64>, Vec<i64>, Vec<i64>);

impl Objective for BprObjective {
    type Model = MfModel;
    type Batch = BprBatch;
    type Frozen = MfScorer;
    fn id(&self) -> &'static str {
        ID
    }
    fn epoch_batches(&mut self, _epoch: usize, rng: &mut ChaCha8Rng) -> Vec<BprBatch> {
        self.pairs.shuffle(rng);
        self.pairs
            .chunks(self.batch)
            .map(|c| {
                let u = c.iter().map(|p| p.0 as i64).collect();
                let i = c.iter().map(|p| p.1 as i64).collect();
                let j = c
                    .iter()
                    .map(|p| sample_negative(rng, self.n_items, &self.seen[p.0 as usize]) as i64)
                    .collect();
                (u, i, j)
            })
            .collect()
    }
    fn loss(&self, m: &MfModel, (u, i, j): &BprBatch, _rng: &mut ChaCha8Rng) -> Tensor<1> {
        let b = u.len();
        let u = m.user.val().select(0, int_tensor(u.clone(), [b], &self.device)); // [B, d]
        let pi = m.item.val().select(0, int_tensor(i.clone(), [b], &self.device));
        let pj = m.item.val().select(0, int_tensor(j.clone(), [b], &self.device));
        let diff = (u.clone() * pi).sum_dim(1) - (u * pj).sum_dim(1); // [B, 1]
        log_sigmoid(diff).mean().neg()
    }
    fn freeze(&self, m: &MfModel) -> Result<MfScorer, MethodError> {
        Ok(MfScorer::from_model(m, &self.infer))
    }
}

/// BPR-MF.
#[derive(Debug)]
pub struct Bpr {
    p: BprParams,
    fitted: Option<MfScorer>,
}

impl Method for Bpr {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let (kind, device, infer) = crate::devices(ID)?;
        let (nu, ni, d) =
            (train.n_users() as usize, train.n_items() as usize, self.p.embedding_size);
        let mut rng = ctx.seed.child("bpr/init").rng();
        // Xavier normal on [n, d] embeddings (torch: fan_in = d, fan_out = n).
        let model = MfModel {
            user: normal_param(&mut rng, [nu, d], (2.0 / (nu + d) as f32).sqrt(), &device),
            item: normal_param(&mut rng, [ni, d], (2.0 / (ni + d) as f32).sqrt(), &device),
        };
        let mut obj = BprObjective {
            pairs: train.interactions().iter().map(|r| (r.user, r.item)).collect(),
            seen: seen_sets(train),
            n_items: ni as u32,
            batch: self.p.train.batch_size,
            device,
            infer,
        };
        let (frozen, report) = fit(&mut obj, model, &self.p.train, ctx, kind.name())?;
        self.fitted = Some(frozen);
        Ok(report)
    }
    crate::common::delegate_scoring!(ID);
}

impl Bpr {
    /// Fit BPR-MF with `p` on `train` (the same loop, seeds and probe as [`Method::fit`]) and
    /// return the fitted factors with the fit report: user `[n_users, d]` and item
    /// `[n_items, d]`, row-major host copies. The entry point of methods that consume MF
    /// embeddings (CoLLM's collaborative soft tokens).
    pub fn fit_factors(
        p: BprParams,
        train: &TrainView,
        ctx: &mut FitContext,
    ) -> Result<(Vec<f32>, Vec<f32>, usize, FitReport), MethodError> {
        let mut m = Bpr { p, fitted: None };
        let report = m.fit(train, ctx)?;
        let f = m.fitted.as_ref().ok_or(MethodError::NotFitted { method: ID.into() })?;
        let host = |t: Tensor<2>| {
            t.to_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| MethodError::Data {
                method: ID.into(),
                message: format!("factors to host: {e:?}"),
            })
        };
        let d = f.user.dims()[1];
        Ok((host(f.user.clone())?, host(f.item_t.clone().transpose())?, d, report))
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: BprParams = parse_params(ID, v)?;
    Ok(Box::new(Bpr { p, fitted: None }))
}

/// Smoke params: a few cheap epochs.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"embedding_size": 16, "train": {"epochs": 20, "batch_size": 256, "learning_rate": 0.01, "patience": 5}})
}
