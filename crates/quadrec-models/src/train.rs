//! The one training loop shared by every trained method.
//!
//! A method describes its objective with [`Objective`] (how an epoch's mini-batches are drawn,
//! with seeded negative sampling; the loss of one batch; how to freeze a model into a scorer)
//! and calls [`fit`]. The loop owns everything else: Adam, epochs, the validation probe
//! (validation targets only, through [`FitContext`]), early stopping with patience, keeping the
//! best state (in memory, plus a safetensors file when the context names a checkpoint folder),
//! non-finite-loss detection and per-epoch timing.

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::Tensor;
use quadrec_method::{EpochLog, FitContext, FitEvent, FitReport, Method, MethodError};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Optimisation params shared by all trained methods (nested as `train` in each method's params).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Maximum epochs.
    pub epochs: usize,
    /// Mini-batch size (training examples per Adam step; for sequence models: predicted
    /// positions per step, matching RecBole's one-prefix-per-example batches).
    pub batch_size: usize,
    /// Adam learning rate (Adam itself: betas 0.9/0.999, eps 1e-8, torch's defaults as in
    /// RecBole).
    pub learning_rate: f64,
    /// Adam L2 weight decay (0 = none).
    pub weight_decay: f64,
    /// Early stopping: probes without improvement of the validation metric before stopping
    /// (RecBole `stopping_step`; see `stopping` for how it is counted).
    pub patience: usize,
    /// Probe validation every this many epochs.
    pub eval_every: usize,
    /// What counts as an improvement and when to stop.
    pub stopping: Stopping,
}

/// Early-stopping rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stopping {
    /// RecBole 1.2.1 (`utils.early_stopping` on `calculate_valid_score`): the probe value is
    /// rounded to 4 decimals (RecBole's `metric_decimal_place`), a value `>=` the best counts as
    /// an improvement (the later state is kept), and training stops after MORE than `patience`
    /// probes without one. Ties let a model cross a flat stretch of its validation curve: on
    /// ML-100K LightGCN's curve is flat for ~10-15 epochs before it climbs
    /// (benchmarks/crm/README.md, session 5).
    Recbole,
    /// Only a strictly larger (unrounded) value improves; ties keep the earlier state; stop
    /// after `patience` probes without improvement.
    Strict,
}

/// Early-stopping state over successive probe values (larger is better).
#[derive(Clone, Debug)]
pub struct EarlyStop {
    rule: Stopping,
    patience: usize,
    best: Option<f64>,
    since_best: usize,
}

impl EarlyStop {
    /// Fresh state.
    pub fn new(rule: Stopping, patience: usize) -> Self {
        EarlyStop { rule, patience: patience.max(1), best: None, since_best: 0 }
    }

    /// Feed one probe value; returns `(improved, stop)`: whether this state becomes the kept
    /// one, and whether training stops now.
    pub fn observe(&mut self, v: f64) -> (bool, bool) {
        let v = match self.rule {
            Stopping::Recbole => (v * 1e4).round() / 1e4,
            Stopping::Strict => v,
        };
        let improved = match (self.best, self.rule) {
            (None, _) => true,
            (Some(b), Stopping::Recbole) => v >= b,
            (Some(b), Stopping::Strict) => v > b,
        };
        if improved {
            self.best = Some(v);
            self.since_best = 0;
            return (true, false);
        }
        self.since_best += 1;
        let stop = match self.rule {
            Stopping::Recbole => self.since_best > self.patience,
            Stopping::Strict => self.since_best >= self.patience,
        };
        (false, stop)
    }
}

impl Default for TrainConfig {
    /// RecBole 1.2.1 defaults: 300 epochs, batch 2048, Adam lr 1e-3, no weight decay,
    /// stopping_step 10, eval_step 1.
    fn default() -> Self {
        TrainConfig {
            epochs: 300,
            batch_size: 2048,
            learning_rate: 1e-3,
            weight_decay: 0.0,
            patience: 10,
            eval_every: 1,
            stopping: Stopping::Recbole,
        }
    }
}

/// What a trained method tells the loop.
pub trait Objective {
    /// The model (on the autodiff training device).
    type Model: Module;
    /// One mini-batch, prepared on the host.
    type Batch;
    /// The frozen scorer produced from a model state.
    type Frozen: Method;

    /// Registry id (for errors and checkpoint names).
    fn id(&self) -> &'static str;
    /// The epoch's mini-batches; all randomness (shuffling, negatives) from `rng`.
    fn epoch_batches(&mut self, epoch: usize, rng: &mut ChaCha8Rng) -> Vec<Self::Batch>;
    /// Scalar loss `[1]` of one batch; `rng` drives dropout.
    fn loss(&self, model: &Self::Model, batch: &Self::Batch, rng: &mut ChaCha8Rng) -> Tensor<1>;
    /// Freeze a state into a scorer (inference copy: `model.valid()`).
    fn freeze(&self, model: &Self::Model) -> Result<Self::Frozen, MethodError>;
}

/// Train `model` with `obj` under `cfg`; returns the frozen best state and the report.
///
/// With a probe, the kept state is the one with the best validation value under
/// `cfg.stopping` (see [`Stopping`]); without a probe, all `cfg.epochs` run and the last state
/// is kept.
pub fn fit<O: Objective>(
    obj: &mut O,
    mut model: O::Model,
    cfg: &TrainConfig,
    ctx: &mut FitContext,
    device_name: &str,
) -> Result<(O::Frozen, FitReport), MethodError> {
    let start = Instant::now();
    let id = obj.id();
    // torch's Adam defaults (betas 0.9/0.999, eps 1e-8), i.e. RecBole's optimiser. Burn's
    // default eps is 1e-5: with the small per-row gradients of embedding tables (a mean loss
    // over 2048 examples) sqrt(v) is often ~1e-5..1e-4, so eps 1e-5 shrank those steps by up
    // to ~2x; BPR-MF was 6% below RecBole on 17 seeds with it (benchmarks/crm/README.md).
    let mut adam = AdamConfig::new().with_epsilon(1e-8);
    if cfg.weight_decay > 0.0 {
        adam = adam.with_weight_decay(Some(WeightDecayConfig::new(cfg.weight_decay as f32)));
    }
    let mut optim = adam.init();
    let mut batch_rng = ctx.seed.child("train/batches").rng();
    let mut drop_rng = ctx.seed.child("train/dropout").rng();
    let has_probe = ctx.probe.is_some();
    let mut best: Option<(usize, f64, O::Model)> = None;
    let mut early = EarlyStop::new(cfg.stopping, cfg.patience);
    let mut report = FitReport { device: device_name.to_string(), ..FitReport::default() };
    ctx.emit(FitEvent::Note(format!("{id}: training on {device_name}")));
    for epoch in 1..=cfg.epochs.max(1) {
        let t0 = Instant::now();
        let batches = obj.epoch_batches(epoch, &mut batch_rng);
        if batches.is_empty() {
            return Err(MethodError::Data {
                method: id.into(),
                message: "no training examples".into(),
            });
        }
        let mut loss_sum = 0f64;
        for (step, b) in batches.iter().enumerate() {
            let loss = obj.loss(&model, b, &mut drop_rng);
            let v = loss.clone().into_scalar::<f32>() as f64;
            if !v.is_finite() {
                return Err(MethodError::Numerical {
                    method: id.into(),
                    message: format!("loss {v} at epoch {epoch}, step {step}"),
                });
            }
            loss_sum += v;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(cfg.learning_rate, model, grads);
        }
        let train_seconds = t0.elapsed().as_secs_f64();
        let mut log = EpochLog {
            epoch,
            loss: loss_sum / batches.len() as f64,
            valid: None,
            train_seconds,
            probe_seconds: 0.0,
        };
        let mut stop = false;
        if has_probe && (epoch % cfg.eval_every.max(1) == 0 || epoch == cfg.epochs) {
            let t1 = Instant::now();
            let frozen = obj.freeze(&model)?;
            let v = ctx.probe(&frozen).expect("probe present");
            log.probe_seconds = t1.elapsed().as_secs_f64();
            log.valid = Some(v);
            let (improved, stop_now) = early.observe(v);
            if improved {
                best = Some((epoch, v, model.clone()));
            }
            stop = stop_now;
        }
        ctx.emit(FitEvent::Epoch(log.clone()));
        report.epochs.push(log);
        report.epochs_run = epoch;
        if stop {
            let (be, bv, _) = best.as_ref().expect("stop implies a best state");
            ctx.emit(FitEvent::EarlyStop { best_epoch: *be, best_valid: *bv });
            break;
        }
    }
    let (best_epoch, best_valid, kept) = match best {
        Some((e, v, m)) => (e, Some(v), m),
        None => (report.epochs_run, None, model),
    };
    report.best_epoch = best_epoch;
    report.best_valid = best_valid;
    if let Some(dir) = ctx.checkpoint_dir.clone() {
        report.checkpoint = Some(save_checkpoint(id, &kept, &dir)?);
    }
    let frozen = obj.freeze(&kept)?;
    report.fit_seconds = start.elapsed().as_secs_f64();
    Ok((frozen, report))
}

/// Write the kept state as `<dir>/<id>.safetensors` (atomically: temp file + rename).
fn save_checkpoint<M: Module>(
    id: &str,
    model: &M,
    dir: &std::path::Path,
) -> Result<std::path::PathBuf, MethodError> {
    use burn::store::{ModuleSnapshot, SafetensorsStore};
    let path = dir.join(format!("{id}.safetensors"));
    let err =
        |m: String| MethodError::Checkpoint { method: id.into(), path: path.clone(), message: m };
    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    let tmp = dir.join(format!(".{id}.safetensors.tmp"));
    let mut store = SafetensorsStore::from_file(tmp.clone());
    model.save_into(&mut store).map_err(|e| err(format!("{e:?}")))?;
    std::fs::rename(&tmp, &path).map_err(|e| err(e.to_string()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::{EarlyStop, Stopping, TrainConfig};

    /// Feed `values`; return (kept epoch, epochs seen before stopping) with 1-based epochs.
    fn run(rule: Stopping, patience: usize, values: &[f64]) -> (usize, usize) {
        let mut es = EarlyStop::new(rule, patience);
        let mut kept = 0;
        for (e, &v) in values.iter().enumerate() {
            let (improved, stop) = es.observe(v);
            if improved {
                kept = e + 1;
            }
            if stop {
                return (kept, e + 1);
            }
        }
        (kept, values.len())
    }

    #[test]
    fn recbole_rule_rounds_counts_ties_and_stops_after_more_than_patience() {
        // 0.04399 rounds to 0.0440 = the best so far: a tie, so RecBole keeps the later state
        // and resets the count; under the strict rule it is below the best and the run stops.
        let v = [0.0440, 0.0431, 0.04399, 0.0432, 0.0433, 0.0430];
        assert_eq!(run(Stopping::Recbole, 2, &v), (3, 6));
        assert_eq!(run(Stopping::Strict, 2, &v), (1, 3));
        // Without ties: RecBole stops one probe later than the strict rule (`>` vs `>=`).
        let w = [0.05, 0.04, 0.03, 0.02, 0.01];
        assert_eq!(run(Stopping::Recbole, 2, &w), (1, 4));
        assert_eq!(run(Stopping::Strict, 2, &w), (1, 3));
        // Sub-1e-4 gains do not count under RecBole's rounding; they do under the strict rule.
        let x = [0.10001, 0.10002, 0.10003, 0.09, 0.09];
        assert_eq!(run(Stopping::Recbole, 1, &x), (3, 5));
        assert_eq!(run(Stopping::Strict, 1, &x), (3, 4));
        assert_eq!(run(Stopping::Recbole, 1, &[0.1, 0.10004, 0.0]), (2, 3));
        assert_eq!(run(Stopping::Recbole, 1, &[0.1, 0.10006]), (2, 2));
    }

    #[test]
    fn the_default_rule_is_recboles_and_parses_by_name() {
        assert_eq!(TrainConfig::default().stopping, Stopping::Recbole);
        let c: TrainConfig =
            serde_json::from_value(serde_json::json!({"stopping": "strict"})).unwrap();
        assert_eq!(c.stopping, Stopping::Strict);
        assert_eq!(c.patience, 10);
        assert!(
            serde_json::from_value::<TrainConfig>(serde_json::json!({"stopping": "loose"}))
                .is_err()
        );
    }
}
