//! Shared machinery of the pointwise CTR models (LR, FM, DeepFM, DCNv2, DIN): the
//! (user, history, item) -> label examples, their tensors, and one generic [`CtrMethod`] that
//! implements training (through the shared loop) and scoring for any [`CtrNet`].
//!
//! Examples: every train interaction `(u, s[t])` is a positive with history = the user's last
//! `history_len` items before it (time order); each positive gets `neg_ratio` negatives with the
//! same user and history and a uniformly sampled item the user has not interacted with in
//! train, redrawn every epoch from the seed tree. Loss: binary cross-entropy on logits.
//! Scoring a query uses its input history (train + valid at test time). Item ids double as the
//! history vocabulary; row `n_items` is the history padding.

use crate::common::{
    check_items, check_out, check_queries, int_tensor, right_aligned, sample_negative, seen_sets,
    tensor, to_vec,
};
use crate::train::{Objective, TrainConfig, fit};
use burn::module::Module;
use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Device, Int, Tensor};
use quadrec_method::{FitContext, FitReport, Method, MethodError, TrainView, UserQuery};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Params shared by every CTR model (nested as `data` in each model's params).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CtrData {
    /// History items fed to the model (most recent last).
    pub history_len: usize,
    /// Sampled negatives per positive.
    pub neg_ratio: usize,
}

impl Default for CtrData {
    fn default() -> Self {
        CtrData { history_len: 20, neg_ratio: 1 }
    }
}

/// One batch of CTR inputs on a device.
pub struct CtrTensors {
    /// `[B]`
    pub user: Tensor<1, Int>,
    /// `[B]`
    pub item: Tensor<1, Int>,
    /// `[B, H]` (padding = `n_items`)
    pub hist: Tensor<2, Int>,
    /// `[B, H, 1]`: 1 for real history slots, 0 for padding.
    pub hist_mask: Tensor<3>,
    /// `[B, 1]`: number of real history slots (at least 1, to divide by).
    pub hist_count: Tensor<2>,
}

impl CtrTensors {
    fn new(
        user: Vec<i64>,
        item: Vec<i64>,
        hist: Vec<i64>,
        h: usize,
        pad: i64,
        device: &Device,
    ) -> Self {
        let b = user.len();
        let mask: Vec<f32> = hist.iter().map(|&x| if x == pad { 0.0 } else { 1.0 }).collect();
        let count: Vec<f32> =
            mask.chunks(h.max(1)).map(|c| c.iter().sum::<f32>().max(1.0)).collect();
        CtrTensors {
            user: int_tensor(user, [b], device),
            item: int_tensor(item, [b], device),
            hist: int_tensor(hist, [b, h], device),
            hist_mask: tensor(mask, [b, h, 1], device),
            hist_count: tensor(count, [b, 1], device),
        }
    }
}

/// A CTR network: logits `[B, 1]` for a batch. `rng = None` means inference (no dropout).
pub trait CtrNet: Module + Sized {
    /// Logits.
    fn logits(&self, x: &CtrTensors, rng: Option<&mut ChaCha8Rng>) -> Tensor<2>;

    /// Inference logits of ONE query (`user`, right-aligned `hist` of `h` slots, padding `pad`)
    /// for many `items`, on `device`. The default is [`pair_logits`] (the training forward on
    /// chunks of pairs); a model overrides it with an equivalent computation that shares the
    /// query-side work across items (equal up to float rounding, tested per model).
    fn query_logits(
        &self,
        user: u32,
        hist: &[i64],
        items: &[u32],
        pad: i64,
        device: &Device,
    ) -> Vec<f32> {
        pair_logits(self, user, hist, items, pad, device)
    }

    /// Inference logits of many queries (`(user, right-aligned history)`) for the same
    /// `items`, query-major `[queries.len() * items.len()]`. Default: [`CtrNet::query_logits`]
    /// per query; a model overrides it when work can be shared across queries.
    fn batch_logits(
        &self,
        queries: &[(u32, Vec<i64>)],
        items: &[u32],
        pad: i64,
        device: &Device,
    ) -> Vec<f32> {
        queries.iter().flat_map(|(u, h)| self.query_logits(*u, h, items, pad, device)).collect()
    }
}

/// Reference inference path: [`CtrNet::logits`] on (user, history, item) pairs, 2048 per
/// forward (DIN's attention tensors are `[B, H, .]`).
pub fn pair_logits<N: CtrNet>(
    net: &N,
    user: u32,
    hist: &[i64],
    items: &[u32],
    pad: i64,
    device: &Device,
) -> Vec<f32> {
    let h = hist.len();
    let mut out = Vec::with_capacity(items.len());
    for c in items.chunks(2048) {
        let b = c.len();
        let x = CtrTensors::new(
            vec![user as i64; b],
            c.iter().map(|&i| i as i64).collect(),
            hist.iter().copied().cycle().take(b * h).collect(),
            h,
            pad,
            device,
        );
        out.extend(to_vec(net.logits(&x, None)));
    }
    out
}

/// Masked mean of history embeddings: `emb` `[V, d]`, returns `[B, d]`.
pub fn mean_history(emb: Tensor<2>, x: &CtrTensors) -> Tensor<2> {
    let [b, h] = x.hist.dims();
    let d = emb.dims()[1];
    let e = emb.select(0, x.hist.clone().reshape([b * h])).reshape([b, h, d]) * x.hist_mask.clone();
    e.sum_dim(1).reshape([b, d]) / x.hist_count.clone()
}

/// Frozen scorer of a CTR net.
#[derive(Debug)]
pub struct CtrScorer<N: CtrNet> {
    id: &'static str,
    net: N,
    h: usize,
    n_users: u32,
    n_items: u32,
    n_params: u64,
    device: Device,
}

impl<N: CtrNet> CtrScorer<N> {
    fn score_pairs(&self, q: &UserQuery, items: &[u32]) -> Vec<f32> {
        let pad = self.n_items as i64;
        let hist = right_aligned(q.history, self.h, pad);
        self.net.query_logits(q.user, &hist, items, pad, &self.device)
    }
}

impl<N: CtrNet + Send> Method for CtrScorer<N> {
    fn fit(&mut self, _t: &TrainView, _c: &mut FitContext) -> Result<FitReport, MethodError> {
        Err(MethodError::Data {
            method: self.id.into(),
            message: "a frozen scorer cannot be refitted".into(),
        })
    }
    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        let n = self.n_items as usize;
        check_out(self.id, queries.len() * n, out.len())?;
        check_queries(self.id, queries, self.n_users, self.n_items)?;
        let all: Vec<u32> = (0..self.n_items).collect();
        let pad = self.n_items as i64;
        // Large blocks of queries: a call shares work across its queries (DIN's attention
        // table over their history items).
        for (qs, o) in queries.chunks(4096).zip(out.chunks_mut(4096 * n)) {
            let batch: Vec<(u32, Vec<i64>)> =
                qs.iter().map(|q| (q.user, right_aligned(q.history, self.h, pad))).collect();
            o.copy_from_slice(&self.net.batch_logits(&batch, &all, pad, &self.device));
        }
        Ok(())
    }
    fn score_items(
        &self,
        q: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        check_out(self.id, items.len(), out.len())?;
        check_items(self.id, items, self.n_items)?;
        check_queries(self.id, std::slice::from_ref(q), self.n_users, self.n_items)?;
        out.copy_from_slice(&self.score_pairs(q, items));
        Ok(())
    }
    fn n_parameters(&self) -> u64 {
        self.n_params
    }
}

struct CtrObjective<N> {
    id: &'static str,
    data: CtrData,
    batch: usize,
    /// (user, item, train position of the item in the user's sequence)
    pos: Vec<(u32, u32, usize)>,
    seqs: Vec<Vec<u32>>,
    seen: Vec<Vec<u32>>,
    n_users: u32,
    n_items: u32,
    device: Device,
    infer: Device,
    _net: std::marker::PhantomData<N>,
}

struct CtrBatch {
    user: Vec<i64>,
    item: Vec<i64>,
    hist: Vec<i64>,
    label: Vec<f32>,
}

impl<N: CtrNet + Send> Objective for CtrObjective<N> {
    type Model = N;
    type Batch = CtrBatch;
    type Frozen = CtrScorer<N>;
    fn id(&self) -> &'static str {
        self.id
    }
    fn epoch_batches(&mut self, _epoch: usize, rng: &mut ChaCha8Rng) -> Vec<CtrBatch> {
        self.pos.shuffle(rng);
        let (h, pad) = (self.data.history_len, self.n_items as i64);
        let per = 1 + self.data.neg_ratio;
        self.pos
            .chunks((self.batch / per).max(1))
            .map(|c| {
                let mut b = CtrBatch {
                    user: Vec::new(),
                    item: Vec::new(),
                    hist: Vec::new(),
                    label: Vec::new(),
                };
                for &(u, i, t) in c {
                    let hist = right_aligned(&self.seqs[u as usize][..t], h, pad);
                    for k in 0..per {
                        let item = if k == 0 {
                            i
                        } else {
                            sample_negative(rng, self.n_items, &self.seen[u as usize])
                        };
                        b.user.push(u as i64);
                        b.item.push(item as i64);
                        b.hist.extend_from_slice(&hist);
                        b.label.push(if k == 0 { 1.0 } else { 0.0 });
                    }
                }
                b
            })
            .collect()
    }
    fn loss(&self, m: &N, b: &CtrBatch, rng: &mut ChaCha8Rng) -> Tensor<1> {
        let n = b.user.len();
        let x = CtrTensors::new(
            b.user.clone(),
            b.item.clone(),
            b.hist.clone(),
            self.data.history_len,
            self.n_items as i64,
            &self.device,
        );
        let z = m.logits(&x, Some(rng)); // [B, 1]
        let y = tensor(b.label.clone(), [n, 1], &self.device);
        // BCE with logits: -(y log s(z) + (1-y) log s(-z))
        (y.clone() * log_sigmoid(z.clone()) + (y.neg() + 1.0) * log_sigmoid(z.neg())).mean().neg()
    }
    fn freeze(&self, m: &N) -> Result<CtrScorer<N>, MethodError> {
        let net = m.valid().to_device(&self.infer);
        Ok(CtrScorer {
            id: self.id,
            n_params: net.num_params() as u64,
            net,
            h: self.data.history_len,
            n_users: self.n_users,
            n_items: self.n_items,
            device: self.infer.clone(),
        })
    }
}

/// Builds the initial net: `(rng, n_users, n_items, device)`.
pub type NetInit<N> = Box<dyn Fn(&mut ChaCha8Rng, u32, u32, &Device) -> N + Send>;

/// A CTR method: params + a constructor of the initial net.
pub struct CtrMethod<N: CtrNet> {
    id: &'static str,
    data: CtrData,
    train: TrainConfig,
    init: NetInit<N>,
    fitted: Option<CtrScorer<N>>,
}

impl<N: CtrNet> CtrMethod<N> {
    /// A method `id` whose net is built by `init(rng, n_users, n_items, device)`.
    pub fn new(
        id: &'static str,
        data: CtrData,
        train: TrainConfig,
        init: impl Fn(&mut ChaCha8Rng, u32, u32, &Device) -> N + Send + 'static,
    ) -> Self {
        CtrMethod { id, data, train, init: Box::new(init), fitted: None }
    }
}

impl<N: CtrNet + Send> Method for CtrMethod<N> {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let (kind, device, infer) = crate::devices(self.id)?;
        let mut rng = ctx.seed.child(&format!("{}/init", self.id)).rng();
        let net = (self.init)(&mut rng, train.n_users(), train.n_items(), &device);
        let seqs: Vec<Vec<u32>> =
            (0..train.n_users()).map(|u| train.user_items(u).to_vec()).collect();
        let pos = seqs
            .iter()
            .enumerate()
            .flat_map(|(u, s)| s.iter().enumerate().map(move |(t, &i)| (u as u32, i, t)))
            .collect();
        let mut obj = CtrObjective::<N> {
            id: self.id,
            data: self.data.clone(),
            batch: self.train.batch_size,
            pos,
            seqs,
            seen: seen_sets(train),
            n_users: train.n_users(),
            n_items: train.n_items(),
            device,
            infer,
            _net: std::marker::PhantomData,
        };
        let (frozen, report) = fit(&mut obj, net, &self.train, ctx, kind.name())?;
        self.fitted = Some(frozen);
        Ok(report)
    }
    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        self.fitted
            .as_ref()
            .ok_or(MethodError::NotFitted { method: self.id.into() })?
            .score_full(queries, out)
    }
    fn score_items(
        &self,
        q: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        self.fitted
            .as_ref()
            .ok_or(MethodError::NotFitted { method: self.id.into() })?
            .score_items(q, items, out)
    }
    fn n_parameters(&self) -> u64 {
        self.fitted.as_ref().map_or(0, |f| f.n_params)
    }
}

/// ReLU MLP with dropout after each hidden layer and a final linear layer to `out` units.
#[derive(Module, Debug)]
pub struct Mlp {
    hidden: Vec<burn::nn::Linear>,
    last: burn::nn::Linear,
    dropout: f64,
}

impl Mlp {
    /// `d_in -> hidden[0] -> ... -> out`, Xavier-uniform weights.
    pub fn new(
        rng: &mut ChaCha8Rng,
        d_in: usize,
        hidden: &[usize],
        out: usize,
        dropout: f64,
        device: &Device,
    ) -> Self {
        let mut layers = Vec::new();
        let mut d = d_in;
        for &h in hidden {
            layers.push(crate::common::linear_xavier(rng, d, h, device));
            d = h;
        }
        Mlp { hidden: layers, last: crate::common::linear_xavier(rng, d, out, device), dropout }
    }

    /// The first layer (the first hidden layer, or the output layer when there is none).
    pub fn first(&self) -> &burn::nn::Linear {
        self.hidden.first().unwrap_or(&self.last)
    }

    /// The rest of an inference forward pass (no dropout) from the first layer's output
    /// `z = first().forward(x)`: equal to `forward(x, None)`.
    pub fn forward_after_first<const D: usize>(&self, z: Tensor<D>) -> Tensor<D> {
        if self.hidden.is_empty() {
            return z;
        }
        let mut x = burn::tensor::activation::relu(z);
        for l in &self.hidden[1..] {
            x = burn::tensor::activation::relu(l.forward(x));
        }
        self.last.forward(x)
    }

    /// `[.., d_in] -> [.., out]`.
    pub fn forward<const D: usize>(
        &self,
        mut x: Tensor<D>,
        mut rng: Option<&mut ChaCha8Rng>,
    ) -> Tensor<D> {
        for l in &self.hidden {
            x = burn::tensor::activation::relu(l.forward(x));
            if let Some(r) = rng.as_deref_mut() {
                x = crate::common::dropout(x, self.dropout, r);
            }
        }
        self.last.forward(x)
    }
}
