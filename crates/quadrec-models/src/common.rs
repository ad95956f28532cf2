//! Small helpers shared by the models: host <-> tensor conversion, seeded parameter init,
//! seeded dropout, negative sampling, output-buffer checks, dot-product scoring.
//!
//! Parameters are initialised from our own seed tree (ChaCha8) and uploaded, rather than with
//! Burn's initialisers, because Burn's RNG is process-global: tests running in parallel would
//! interleave its draws and break same-seed-same-scores. Dropout masks come from the seed tree
//! for the same reason.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Int, Tensor, TensorData};
use quadrec_method::{MethodError, UserQuery};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// Upload a row-major f32 buffer as a tensor of `shape`.
pub fn tensor<const D: usize>(v: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// Upload indices as an int tensor of `shape`.
pub fn int_tensor<const D: usize>(
    v: Vec<i64>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D, Int> {
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// Download a float tensor (any rank) as a flat row-major vector.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().expect("float tensors of the models are f32")
}

/// Standard normal via Box-Muller (no extra dependency).
pub fn normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}

/// A parameter initialised N(0, std^2).
pub fn normal_param<const D: usize>(
    rng: &mut ChaCha8Rng,
    shape: [usize; D],
    std: f32,
    device: &Device,
) -> Param<Tensor<D>> {
    let n: usize = shape.iter().product();
    let v = (0..n).map(|_| normal(rng) * std).collect();
    Param::from_tensor(tensor(v, shape, device))
}

/// A parameter initialised U(-a, a) with Xavier/Glorot `a = sqrt(6 / (fan_in + fan_out))`.
pub fn xavier_param(
    rng: &mut ChaCha8Rng,
    rows: usize,
    cols: usize,
    device: &Device,
) -> Param<Tensor<2>> {
    Param::from_tensor(tensor(xavier_values(rng, rows, cols), [rows, cols], device))
}

/// Row-major values of a Xavier-uniform `[rows, cols]` matrix: `U(-a, a)`,
/// `a = sqrt(6 / (rows + cols))`.
pub fn xavier_values(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> Vec<f32> {
    let a = (6.0 / (rows + cols) as f64).sqrt() as f32;
    (0..rows * cols).map(|_| (rng.random::<f32>() * 2.0 - 1.0) * a).collect()
}

/// A constant parameter.
pub fn const_param<const D: usize>(
    value: f32,
    shape: [usize; D],
    device: &Device,
) -> Param<Tensor<D>> {
    let n: usize = shape.iter().product();
    Param::from_tensor(tensor(vec![value; n], shape, device))
}

/// A Linear layer `[d_in] -> [d_out]` with N(0, std^2) weights (the BERT/RecBole init,
/// `std = 0.02`) and zero bias.
pub fn linear(
    rng: &mut ChaCha8Rng,
    d_in: usize,
    d_out: usize,
    std: f32,
    device: &Device,
) -> Linear {
    Linear {
        weight: normal_param(rng, [d_in, d_out], std, device),
        bias: Some(const_param(0.0, [d_out], device)),
    }
}

/// A Linear layer with Xavier-uniform weights and zero bias (CTR models, GRU).
pub fn linear_xavier(rng: &mut ChaCha8Rng, d_in: usize, d_out: usize, device: &Device) -> Linear {
    Linear {
        weight: xavier_param(rng, d_in, d_out, device),
        bias: Some(const_param(0.0, [d_out], device)),
    }
}

/// Inverted dropout with a mask drawn from `rng` (identity when `p == 0`).
pub fn dropout<const D: usize>(x: Tensor<D>, p: f64, rng: &mut ChaCha8Rng) -> Tensor<D> {
    if p <= 0.0 {
        return x;
    }
    let dims = x.dims();
    let n: usize = dims.iter().product();
    let keep = 1.0 - p;
    let scale = (1.0 / keep) as f32;
    let mask: Vec<f32> =
        (0..n).map(|_| if rng.random::<f64>() < keep { scale } else { 0.0 }).collect();
    let m = tensor(mask, dims, &x.device());
    x * m
}

/// Check an output buffer length.
pub fn check_out(method: &str, expected: usize, got: usize) -> Result<(), MethodError> {
    if expected != got {
        return Err(MethodError::Shape { method: method.to_string(), expected, got });
    }
    Ok(())
}

/// Check that every item id is inside the catalogue.
pub fn check_items(method: &str, items: &[u32], n_items: u32) -> Result<(), MethodError> {
    if let Some(&bad) = items.iter().find(|&&i| i >= n_items) {
        return Err(MethodError::OutOfCatalogue {
            method: method.to_string(),
            what: "item",
            id: bad,
            n: n_items,
        });
    }
    Ok(())
}

/// Check query users and history items.
pub fn check_queries(
    method: &str,
    queries: &[UserQuery],
    n_users: u32,
    n_items: u32,
) -> Result<(), MethodError> {
    for q in queries {
        if q.user >= n_users {
            return Err(MethodError::OutOfCatalogue {
                method: method.to_string(),
                what: "user",
                id: q.user,
                n: n_users,
            });
        }
        check_items(method, q.history, n_items)?;
    }
    Ok(())
}

/// Uniform negative item not in `seen` (sorted), by rejection; falls back to any item when the
/// user has seen (almost) everything.
pub fn sample_negative(rng: &mut ChaCha8Rng, n_items: u32, seen_sorted: &[u32]) -> u32 {
    for _ in 0..64 {
        let j = rng.random_range(0..n_items);
        if seen_sorted.binary_search(&j).is_err() {
            return j;
        }
    }
    rng.random_range(0..n_items)
}

/// Per-user sorted, deduplicated train items (for negative sampling).
pub fn seen_sets(train: &quadrec_split::TrainView) -> Vec<Vec<u32>> {
    (0..train.n_users())
        .map(|u| {
            let mut v = train.user_items(u).to_vec();
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect()
}

/// `out[q, i] = <users[q], items_t[:, i]>`: users `[Q, d]`, items_t `[d, n]`.
pub fn dot_full(users: Tensor<2>, items_t: &Tensor<2>, out: &mut [f32]) {
    let s = to_vec(users.matmul(items_t.clone()));
    out.copy_from_slice(&s);
}

/// Scores of `items` for one user vector `[1, d]` against items_t `[d, n]`.
pub fn dot_items(user: Tensor<2>, items_t: &Tensor<2>, items: &[u32], out: &mut [f32]) {
    let device = user.device();
    let idx = int_tensor(items.iter().map(|&i| i as i64).collect(), [items.len()], &device);
    let cols = items_t.clone().select(1, idx); // [d, k]
    let s = to_vec(user.matmul(cols));
    out.copy_from_slice(&s);
}

/// Right-aligned window of the last `max_len` items of `history`, left-padded with `pad`.
pub fn right_aligned(history: &[u32], max_len: usize, pad: i64) -> Vec<i64> {
    let h = &history[history.len().saturating_sub(max_len)..];
    let mut v = vec![pad; max_len - h.len()];
    v.extend(h.iter().map(|&i| i as i64));
    v
}

/// The model-specific half of a frozen scorer of the form
/// `score(q, i) = <user_repr(q), item_i> (+ bias_i)` (MF, LightGCN, GRU4Rec, SASRec, BERT4Rec).
/// [`frozen_dot_method!`] writes the `Method` half (input checks, chunking, refusing a refit)
/// once for all of them, through [`dot_score_full`] and [`dot_score_items`].
pub trait DotTower {
    /// Queries per forward pass (bounds activation memory, e.g. `[chunk, H, L, L]` attention).
    const CHUNK: usize = 512;
    /// `[Q, d]` user representations of a chunk of at most [`Self::CHUNK`] queries.
    fn user_repr(&self, queries: &[UserQuery]) -> Tensor<2>;
    /// `[d, n_items]` item matrix.
    fn item_t(&self) -> &Tensor<2>;
    /// Per-item additive bias `[n_items]` (BERT4Rec's output bias), if any.
    fn item_bias(&self) -> Option<&[f32]> {
        None
    }
    /// `(n_users, n_items)` the scorer was fitted on.
    fn shape(&self) -> (u32, u32);
}

/// `Method::score_full` of a [`DotTower`] scorer.
pub fn dot_score_full<T: DotTower>(
    id: &str,
    t: &T,
    queries: &[UserQuery],
    out: &mut [f32],
) -> Result<(), MethodError> {
    let (n_users, n_items) = t.shape();
    let n = n_items as usize;
    check_out(id, queries.len() * n, out.len())?;
    check_queries(id, queries, n_users, n_items)?;
    for (qs, o) in queries.chunks(T::CHUNK).zip(out.chunks_mut(T::CHUNK * n)) {
        dot_full(t.user_repr(qs), t.item_t(), o);
        if let Some(b) = t.item_bias() {
            for row in o.chunks_mut(n) {
                row.iter_mut().zip(b).for_each(|(s, x)| *s += x);
            }
        }
    }
    Ok(())
}

/// `Method::score_items` of a [`DotTower`] scorer.
pub fn dot_score_items<T: DotTower>(
    id: &str,
    t: &T,
    q: &UserQuery,
    items: &[u32],
    out: &mut [f32],
) -> Result<(), MethodError> {
    let (n_users, n_items) = t.shape();
    check_out(id, items.len(), out.len())?;
    check_items(id, items, n_items)?;
    check_queries(id, std::slice::from_ref(q), n_users, n_items)?;
    dot_items(t.user_repr(std::slice::from_ref(q)), t.item_t(), items, out);
    if let Some(b) = t.item_bias() {
        out.iter_mut().zip(items).for_each(|(s, &i)| *s += b[i as usize]);
    }
    Ok(())
}

/// The error of refitting a frozen scorer.
pub fn frozen_refit_error(method: &str) -> MethodError {
    MethodError::Data {
        method: method.into(),
        message: "a frozen scorer cannot be refitted".into(),
    }
}

/// `impl Method` for a [`DotTower`] scorer type with an `n_params: u64` field.
macro_rules! frozen_dot_method {
    ($ty:ty, $id:expr) => {
        impl quadrec_method::Method for $ty {
            fn fit(
                &mut self,
                _t: &quadrec_method::TrainView,
                _c: &mut quadrec_method::FitContext,
            ) -> Result<quadrec_method::FitReport, quadrec_method::MethodError> {
                Err($crate::common::frozen_refit_error($id))
            }
            fn score_full(
                &self,
                queries: &[quadrec_method::UserQuery],
                out: &mut [f32],
            ) -> Result<(), quadrec_method::MethodError> {
                $crate::common::dot_score_full($id, self, queries, out)
            }
            fn score_items(
                &self,
                q: &quadrec_method::UserQuery,
                items: &[u32],
                out: &mut [f32],
            ) -> Result<(), quadrec_method::MethodError> {
                $crate::common::dot_score_items($id, self, q, items, out)
            }
            fn n_parameters(&self) -> u64 {
                self.n_params
            }
        }
    };
}
pub(crate) use frozen_dot_method;

/// The scoring half of `Method` for a trained method that keeps its fitted, frozen scorer in
/// `self.fitted: Option<Scorer>` (the scorer has `score_full`, `score_items` and `n_params`):
/// written once here instead of in every method file. Exported: the LM-method crates whose
/// methods keep a frozen scorer use it too (`quadrec_models::delegate_scoring!(ID)`).
#[macro_export]
macro_rules! delegate_scoring {
    // The fitted value keeps its count in an `n_params` field (the crate's own models).
    ($id:expr) => {
        $crate::delegate_scoring!($id, |f| f.n_params);
    };
    // `count` maps the fitted value to its trainable-parameter count (e.g. `|f| f.n_parameters()`
    // for a wrapped Method).
    ($id:expr, |$f:ident| $count:expr) => {
        fn score_full(
            &self,
            queries: &[::quadrec_method::UserQuery],
            out: &mut [f32],
        ) -> Result<(), ::quadrec_method::MethodError> {
            self.fitted
                .as_ref()
                .ok_or(::quadrec_method::MethodError::NotFitted { method: $id.into() })?
                .score_full(queries, out)
        }
        fn score_items(
            &self,
            q: &::quadrec_method::UserQuery,
            items: &[u32],
            out: &mut [f32],
        ) -> Result<(), ::quadrec_method::MethodError> {
            self.fitted
                .as_ref()
                .ok_or(::quadrec_method::MethodError::NotFitted { method: $id.into() })?
                .score_items(q, items, out)
        }
        fn n_parameters(&self) -> u64 {
            self.fitted.as_ref().map_or(0, |$f| $count)
        }
    };
}
pub(crate) use crate::delegate_scoring;
