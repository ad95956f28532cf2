//! Distill-MF: BPR-MF whose item embeddings are contrastively aligned with frozen MiniLM
//! item-text embeddings during training (CTRL / FLIP style), then served alone.
//!
//! Papers: Li et al., "CTRL: Connect Collaborative and Language Model for CTR Prediction",
//! 2023; Wang et al., "FLIP: Fine-grained Alignment between ID-based Models and Pretrained
//! Language Models for CTR Prediction", RecSys 2024. Survey: the efficiency answer to LM
//! inference latency (knowledge distillation into the CRM). Registry: feature encoder stage,
//! representation-encoding task, quadrant Q2: the LM is frozen (not tuned) and the CRM is what
//! runs at inference; the LM is used ONLY at training time (its outputs are an alignment
//! target), so serving cost is exactly the parent BPR-MF's (`n_parameters` counts the served
//! user and item tables only; the projection heads are training-only and dropped).
//!
//! Loss per batch: the parent's BPR term (RecBole recipe: one sampled unseen negative per train
//! interaction, Adam, batch 2048) plus `align_weight` x a symmetric InfoNCE over the batch's
//! distinct positive items: `z_i = norm(q_i W_c)`, `t_i = norm(minilm_i W_t)`,
//! `logits = z t^T / temperature`, matched pairs on the diagonal (in-batch negatives, as CTRL).
//! Differences from CTRL: MF instead of a CTR backbone, the text encoder is frozen (CTRL
//! fine-tunes it in the alignment stage), and alignment and the recommendation loss are
//! optimised jointly instead of in two stages.

use crate::textfeat::{catalogue_text, constant, minilm_weights};
use burn::module::{Module, Param};
use burn::tensor::activation::{log_sigmoid, log_softmax};
use burn::tensor::{Device, Tensor};
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, Provenance, TrainView, UserQuery,
    parse_params,
};
use quadrec_models::common::{
    check_items, check_out, check_queries, dot_full, dot_items, int_tensor, normal_param,
    sample_negative, seen_sets,
};
use quadrec_models::train::{Objective, TrainConfig, fit};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Registry id.
pub const ID: &str = "distill";

/// Params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DistillParams {
    /// Latent dimension (as the parent `bpr`).
    pub embedding_size: usize,
    /// Weight of the InfoNCE alignment term (0 = the parent BPR-MF).
    pub align_weight: f64,
    /// InfoNCE temperature.
    pub temperature: f64,
    /// Width of the shared projection space of the alignment heads.
    pub projection_size: usize,
    /// Optimisation (as the parent `bpr`).
    pub train: TrainConfig,
}

impl Default for DistillParams {
    fn default() -> Self {
        DistillParams {
            embedding_size: 64,
            align_weight: 0.1,
            temperature: 0.1,
            projection_size: 64,
            train: TrainConfig::default(),
        }
    }
}

/// MF plus training-only alignment heads.
#[derive(Module, Debug)]
pub struct DistillModel {
    user: Param<Tensor<2>>,
    item: Param<Tensor<2>>,
    /// `[d, p]`
    head_cf: Param<Tensor<2>>,
    /// `[384, p]`
    head_text: Param<Tensor<2>>,
    /// Constant MiniLM table `[n_items, 384]`.
    text: Tensor<2>,
}

/// Frozen scorer: user and item tables only (no LM, no heads).
#[derive(Debug)]
pub struct DistillScorer {
    user: Tensor<2>,
    item_t: Tensor<2>,
    n_users: u32,
    n_items: u32,
    n_params: u64,
}

impl Method for DistillScorer {
    fn fit(&mut self, _t: &TrainView, _c: &mut FitContext) -> Result<FitReport, MethodError> {
        Err(MethodError::Data {
            method: ID.into(),
            message: "a frozen scorer cannot be refitted".into(),
        })
    }
    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        check_out(ID, queries.len() * self.n_items as usize, out.len())?;
        check_queries(ID, queries, self.n_users, self.n_items)?;
        let device = self.user.device();
        let idx =
            int_tensor(queries.iter().map(|q| q.user as i64).collect(), [queries.len()], &device);
        dot_full(self.user.clone().select(0, idx), &self.item_t, out);
        Ok(())
    }
    fn score_items(
        &self,
        q: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        check_out(ID, items.len(), out.len())?;
        check_items(ID, items, self.n_items)?;
        check_queries(ID, std::slice::from_ref(q), self.n_users, self.n_items)?;
        let device = self.user.device();
        let u = self.user.clone().select(0, int_tensor(vec![q.user as i64], [1], &device));
        dot_items(u, &self.item_t, items, out);
        Ok(())
    }
    fn n_parameters(&self) -> u64 {
        self.n_params
    }
}

struct Obj {
    p: DistillParams,
    pos: Vec<(u32, u32)>,
    seen: Vec<Vec<u32>>,
    n_users: u32,
    n_items: u32,
    device: Device,
    infer: Device,
}

struct Batch {
    user: Vec<i64>,
    pos: Vec<i64>,
    neg: Vec<i64>,
    /// Distinct positive items of the batch (alignment pairs).
    distinct: Vec<i64>,
}

fn normalize(x: Tensor<2>) -> Tensor<2> {
    let n = x.clone().powf_scalar(2.0).sum_dim(1).sqrt().clamp_min(1e-8);
    x / n
}

impl Objective for Obj {
    type Model = DistillModel;
    type Batch = Batch;
    type Frozen = DistillScorer;
    fn id(&self) -> &'static str {
        ID
    }
    fn epoch_batches(&mut self, _epoch: usize, rng: &mut ChaCha8Rng) -> Vec<Batch> {
        self.pos.shuffle(rng);
        let n_items = self.n_items;
        let seen = &self.seen;
        self.pos
            .chunks(self.p.train.batch_size.max(1))
            .map(|c| {
                let mut d: Vec<i64> = c.iter().map(|&(_, i)| i as i64).collect();
                d.sort_unstable();
                d.dedup();
                Batch {
                    user: c.iter().map(|&(u, _)| u as i64).collect(),
                    pos: c.iter().map(|&(_, i)| i as i64).collect(),
                    neg: c
                        .iter()
                        .map(|&(u, _)| sample_negative(rng, n_items, &seen[u as usize]) as i64)
                        .collect(),
                    distinct: d,
                }
            })
            .collect()
    }
    fn loss(&self, m: &DistillModel, b: &Batch, _rng: &mut ChaCha8Rng) -> Tensor<1> {
        let n = b.user.len();
        let dev = &self.device;
        let u = m.user.val().select(0, int_tensor(b.user.clone(), [n], dev));
        let ip = m.item.val().select(0, int_tensor(b.pos.clone(), [n], dev));
        let ineg = m.item.val().select(0, int_tensor(b.neg.clone(), [n], dev));
        let diff = (u.clone() * ip).sum_dim(1) - (u * ineg).sum_dim(1);
        let bpr = log_sigmoid(diff).mean().neg();
        if self.p.align_weight == 0.0 {
            return bpr;
        }
        let k = b.distinct.len();
        let idx = int_tensor(b.distinct.clone(), [k], dev);
        let z = normalize(m.item.val().select(0, idx.clone()).matmul(m.head_cf.val())); // [k, p]
        let t = normalize(m.text.clone().select(0, idx).matmul(m.head_text.val())); // [k, p]
        let logits = z.matmul(t.transpose()).div_scalar(self.p.temperature); // [k, k]
        let diag = int_tensor((0..k as i64).collect(), [k, 1], dev);
        let a = log_softmax(logits.clone(), 1).gather(1, diag.clone()).mean();
        let bb = log_softmax(logits.transpose(), 1).gather(1, diag).mean();
        let nce = (a + bb).div_scalar(2.0).neg();
        bpr + nce.mul_scalar(self.p.align_weight)
    }
    fn freeze(&self, m: &DistillModel) -> Result<DistillScorer, MethodError> {
        let m = m.valid().to_device(&self.infer);
        let d = m.user.val().dims()[1];
        Ok(DistillScorer {
            user: m.user.val(),
            item_t: m.item.val().transpose(),
            n_users: self.n_users,
            n_items: self.n_items,
            n_params: ((self.n_users + self.n_items) as usize * d) as u64,
        })
    }
}

/// Distill-MF.
#[derive(Debug)]
pub struct Distill {
    p: DistillParams,
    fitted: Option<DistillScorer>,
}

impl Method for Distill {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let kind = quadrec_models::device::backend_from_env()
            .map_err(|e| MethodError::Data { method: ID.into(), message: e.to_string() })?;
        let (device, infer) =
            (quadrec_models::device::train_device(kind), quadrec_models::device::device(kind));
        let text = catalogue_text(ID, train.items())?;
        let (nu, ni) = (train.n_users() as usize, train.n_items() as usize);
        let (d, p) = (self.p.embedding_size, self.p.projection_size);
        let mut rng = ctx.seed.child("distill/init").rng();
        // Xavier-normal std for the MF tables, as the parent (RecBole BPR init).
        let model = DistillModel {
            user: normal_param(&mut rng, [nu, d], (2.0 / (nu + d) as f32).sqrt(), &device),
            item: normal_param(&mut rng, [ni, d], (2.0 / (ni + d) as f32).sqrt(), &device),
            head_cf: normal_param(&mut rng, [d, p], (1.0 / d as f64).sqrt() as f32, &device),
            head_text: normal_param(
                &mut rng,
                [text.dim, p],
                (1.0 / text.dim as f64).sqrt() as f32,
                &device,
            ),
            text: constant(text.data.clone(), ni, text.dim, &device),
        };
        let pos = (0..train.n_users())
            .flat_map(|u| train.user_items(u).iter().map(move |&i| (u, i)))
            .collect();
        let mut obj = Obj {
            p: self.p.clone(),
            pos,
            seen: seen_sets(train),
            n_users: train.n_users(),
            n_items: train.n_items(),
            device,
            infer,
        };
        let (frozen, report) = fit(&mut obj, model, &self.p.train, ctx, kind.name())?;
        self.fitted = Some(frozen);
        Ok(report)
    }
    quadrec_models::delegate_scoring!(ID);
    fn provenance(&self) -> Provenance {
        let mut p = Provenance::default();
        let (k, v) = minilm_weights();
        p.weight_hashes.insert(k, v);
        p
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: DistillParams = parse_params(ID, v)?;
    if p.temperature <= 0.0
        || p.align_weight < 0.0
        || p.embedding_size == 0
        || p.projection_size == 0
    {
        return Err(ParamsError::Invalid {
            method: ID.into(),
            message: "temperature > 0, align_weight >= 0, embedding_size and projection_size >= 1"
                .into(),
        });
    }
    Ok(Box::new(Distill { p, fitted: None }))
}

/// Smoke params.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"embedding_size": 16, "projection_size": 16, "train": {"epochs": 30, "batch_size": 256, "learning_rate": 0.01, "patience": 5}})
}
