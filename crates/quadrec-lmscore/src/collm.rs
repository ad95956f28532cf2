//! CoLLM: collaborative embeddings of a conventional recommender spliced into the Yes/No prompt
//! of the language model as soft tokens; a trained projection maps them into the LM's input
//! embedding space, and the projection and LoRA adapters are tuned together on k-shot rows.
//!
//! Paper: Zhang et al., "CoLLM: Integrating Collaborative Embeddings into Large Language Models
//! for Recommendation", TKDE 2025 (arXiv 2310.19488); the same idea as E4SRec (Li et al., 2023,
//! ID embeddings injected into the LLM's input).
//! Survey: stage scoring/ranking, task item scoring, quadrant Q1 (tuned LM + CRM at inference).
//!
//! Prompt: the TALLRec-style Yes/No prompt of [`crate::tallrec`] (same head and history
//! templates, same `Yes`/`No` ids, same packed scoring of candidates after one shared user
//! prefix), plus one user soft token after the history and one item soft token after the
//! target title (CoLLM's `<UserID>` / `<TargetItemID>` slots). Score = `P(Yes) / (P(Yes) +
//! P(No))` at the answer position.
//!
//! Training (inside `fit`, train rows only): BPR-MF from `quadrec-models`' `CRM_TABLE` recipe
//! (params `crm`, seed `seed.child("collm/crm")`) is fitted on the whole TrainView; its user and
//! item factors are then FROZEN (plain tensors, not parameters). The projection (CoLLM's
//! two-layer MLP, or a linear map as E4SRec) and LoRA adapters on SmolLM2's q/v projections are
//! trained with the answer-token cross-entropy on k-shot train rows (label rating > 3, as
//! TALLRec), one step per `batch_size` prompts; after every epoch the validation probe scores
//! the method and the best epoch is kept (validation only).
//!
//! Differences from the paper:
//! - SmolLM2-135M-Instruct instead of Vicuna-7B; BPR-MF (CoLLM's MF variant) with quadrec's
//!   recorded recipe; the CRM is trained on all train rows, the LM side on k-shot rows only.
//! - CoLLM tunes in two steps (LoRA on text first, then the mapping with LoRA frozen); here both
//!   are tuned together in one step (E4SRec-style), on the CPU budget of a few epochs.
//! - The prompt lists the recent history with ratings (TALLRec's block) rather than the liked
//!   items only.
//! - The CRM is fitted without the validation probe (a fixed, recorded epoch count): the probe
//!   of this method selects the LM-side epoch only.

use crate::common::{
    OutsideMass, RatingBook, YESNO_HEAD, YESNO_HISTORY, check_items, check_len, data_err,
    epoch_order, history_before, last_logits_after_prefix_with, to_vec, yes_no, yesno_history,
};
use crate::kshot::liked;
use crate::tallrec::{TuneParams, answer_token};
use burn::module::Module;
use burn::nn::Linear;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::{gelu, log_softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};
use quadrec_core::Seed;
use quadrec_data::ItemTable;
use quadrec_lm::{Llama, LoraConfig};
use quadrec_lmrec::{HistoryStyle, PromptTemplate, Smollm2, TokenMeter, item_line};
use quadrec_method::{
    EpochLog, FitContext, FitEvent, FitReport, Method, MethodError, ParamsError, Provenance,
    UserQuery, parse_params,
};
use quadrec_models::methods::bpr::{Bpr, BprParams};
use quadrec_models::train::TrainConfig;
use quadrec_split::TrainView;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// Registry id.
pub const ID: &str = "collm";

/// Marker of the user soft token inside a token-id sequence (never a vocabulary id).
pub const USER_SLOT: u32 = u32::MAX;
/// Item soft tokens are marked `ITEM_SLOT_BASE + item`.
pub const ITEM_SLOT_BASE: u32 = 0x8000_0000;

/// Where the user soft token goes: after the history block, before the target.
pub const COLLM_USER: PromptTemplate = PromptTemplate {
    name: "collm/user/v1",
    text: "The user's preferences are also encoded in the feature {user}.\n",
};

/// The target item with its soft token, and the question.
pub const COLLM_TARGET: PromptTemplate = PromptTemplate {
    name: "collm/target/v1",
    text: "Target item: {item} with the feature {item_feature}.\nWill the user like the target \
           item? Answer Yes or No.<|im_end|>\n<|im_start|>assistant\n",
};

/// The map from CRM embeddings to the LM's input space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Projection {
    /// One linear layer (E4SRec).
    Linear,
    /// Linear, GELU, linear (CoLLM's mapping layer).
    Mlp,
}

/// Params of `collm`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollmParams {
    /// History items in the prompt (most recent).
    pub history_len: usize,
    /// Candidates packed per forward pass after the shared user prefix.
    pub chunk: usize,
    /// The CRM (BPR-MF) recipe; fitted without the probe for `crm.train.epochs` epochs.
    pub crm: BprParams,
    /// Projection architecture.
    pub projection: Projection,
    /// Hidden width of the MLP projection.
    pub hidden: usize,
    /// Adam learning rate of the projection (the LoRA one is `tuning.learning_rate`).
    pub projection_lr: f64,
    /// k-shot rows, LoRA and epochs (the TALLRec tuning params).
    pub tuning: TuneParams,
}

impl Default for CollmParams {
    fn default() -> Self {
        CollmParams {
            history_len: 10,
            chunk: 32,
            crm: BprParams {
                embedding_size: 64,
                train: TrainConfig { epochs: 100, ..TrainConfig::default() },
            },
            projection: Projection::Mlp,
            hidden: 576,
            projection_lr: 1e-3,
            tuning: TuneParams { epochs: 2, ..TuneParams::default() },
        }
    }
}

/// The projection `[d_crm] -> [d_lm]`.
#[derive(Module, Debug)]
pub struct Projector {
    l1: Linear,
    l2: Option<Linear>,
}

impl Projector {
    /// Xavier-initialised projection from `seed`.
    pub fn new(
        kind: Projection,
        d_in: usize,
        hidden: usize,
        d_out: usize,
        seed: Seed,
        device: &Device,
    ) -> Self {
        let mut rng = seed.rng();
        let lin = |rng: &mut _, a, b| quadrec_models::common::linear_xavier(rng, a, b, device);
        match kind {
            Projection::Linear => Projector { l1: lin(&mut rng, d_in, d_out), l2: None },
            Projection::Mlp => Projector {
                l1: lin(&mut rng, d_in, hidden),
                l2: Some(lin(&mut rng, hidden, d_out)),
            },
        }
    }

    /// # Shapes `[n, d_crm]` -> `[n, d_lm]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let h = self.l1.forward(x);
        match &self.l2 {
            Some(l2) => l2.forward(gelu(h)),
            None => h,
        }
    }

    /// Number of scalars.
    pub fn n_parameters(&self) -> usize {
        self.num_params()
    }

    /// Host copies of every weight and bias, in layer order (tests compare states).
    pub fn weights(&self) -> Vec<Vec<f32>> {
        let mut v = Vec::new();
        for l in std::iter::once(&self.l1).chain(self.l2.as_ref()) {
            v.push(to_vec(&l.weight.val()));
            if let Some(b) = &l.bias {
                v.push(to_vec(&b.val()));
            }
        }
        v
    }
}

/// Replace rows of `x` (`[B, T, d]`) by `soft` (`[S, d]`): row `j` of `soft` goes to the flat
/// position `slots[j]` (= `b * T + t`). Differentiable in `x` and `soft` (a keep-mask and a
/// one-hot matmul), so the same code serves training and scoring.
pub fn splice(x: Tensor<3>, slots: &[usize], soft: Tensor<2>) -> Tensor<3> {
    if slots.is_empty() {
        return x;
    }
    let [b, t, d] = x.dims();
    let (n, s) = (b * t, slots.len());
    let device = x.device();
    let mut keep = vec![1f32; n];
    let mut onehot = vec![0f32; n * s];
    for (j, &p) in slots.iter().enumerate() {
        keep[p] = 0.0;
        onehot[p * s + j] = 1.0;
    }
    let keep = Tensor::<2>::from_data(TensorData::new(keep, [n, 1]), &device).expand([n, d]);
    let onehot = Tensor::<2>::from_data(TensorData::new(onehot, [n, s]), &device);
    (x.reshape([n, d]) * keep + onehot.matmul(soft)).reshape([b, t, d])
}

/// Which CRM row a slot marker stands for: users `0..n_users`, then items.
fn slot_row(id: u32, user: u32, n_users: usize) -> Option<usize> {
    if id == USER_SLOT {
        Some(user as usize)
    } else if id >= ITEM_SLOT_BASE {
        Some(n_users + (id - ITEM_SLOT_BASE) as usize)
    } else {
        None
    }
}

/// `ids` with markers replaced by token 0 (their embedding is overwritten), the flat slot
/// positions and the CRM rows they take.
fn split_slots(
    ids: &[u32],
    users: &[u32],
    t: usize,
    n_users: usize,
) -> (Vec<u32>, Vec<usize>, Vec<usize>) {
    let (mut clean, mut slots, mut rows) = (Vec::with_capacity(ids.len()), Vec::new(), Vec::new());
    for (p, &id) in ids.iter().enumerate() {
        match slot_row(id, users[p / t], n_users) {
            Some(r) => {
                clean.push(0);
                slots.push(p);
                rows.push(r);
            }
            None => clean.push(id),
        }
    }
    (clean, slots, rows)
}

/// State after `fit`.
struct Fitted {
    lm: Arc<Smollm2>,
    /// LoRA-tuned copy (inference device).
    tuned: Llama,
    /// Projected CRM embeddings of users then items, `[n_users + n_items, d_lm]` row-major.
    soft: Vec<f32>,
    ratings: RatingBook,
    items: Arc<ItemTable>,
    n_users: usize,
    yes: u32,
    no: u32,
    n_projection: usize,
}

/// What `fit` kept besides the scorer (tests inspect it).
pub struct CollmTrace {
    /// The frozen BPR-MF factors used: users `[n_users, d]`, items `[n_items, d]`, and `d`.
    pub crm_user: Vec<f32>,
    /// Item factors.
    pub crm_item: Vec<f32>,
    /// Factor width.
    pub d: usize,
    /// Projection of the kept epoch (inference device).
    pub projector: Projector,
}

/// CoLLM scorer.
pub struct Collm {
    p: CollmParams,
    fitted: Option<Fitted>,
    trace: Option<CollmTrace>,
    meter: TokenMeter,
    outside: OutsideMass,
}

impl Collm {
    /// An unfitted method.
    pub fn new(p: CollmParams) -> Self {
        Collm {
            p,
            fitted: None,
            trace: None,
            meter: TokenMeter::default(),
            outside: OutsideMass::default(),
        }
    }

    /// The tuned model (after `fit`).
    pub fn tuned_model(&self) -> Option<&Llama> {
        self.fitted.as_ref().map(|f| &f.tuned)
    }

    /// The CRM factors and kept projection (after `fit`).
    pub fn trace(&self) -> Option<&CollmTrace> {
        self.trace.as_ref()
    }

    /// Mean probability mass outside {Yes, No} and the number of prompts scored.
    pub fn outside_mass(&self) -> Option<(f64, u64)> {
        self.outside.mean()
    }

    fn fitted(&self) -> Result<&Fitted, MethodError> {
        self.fitted.as_ref().ok_or(MethodError::NotFitted { method: ID.into() })
    }

    /// Encode `text`, replacing the sentinel `slot` by `marker`.
    fn encode_with_slot(
        lm: &Smollm2,
        text: &str,
        slot: &str,
        marker: u32,
    ) -> Result<Vec<u32>, MethodError> {
        let (a, b) = text.split_once(slot).ok_or_else(|| data_err(ID, "slot missing"))?;
        let mut ids = lm.tokenizer.encode(a).map_err(|e| data_err(ID, e))?;
        ids.push(marker);
        ids.extend(lm.tokenizer.encode(b).map_err(|e| data_err(ID, e))?);
        Ok(ids)
    }

    /// Prompt prefix of `user` (head + history + user soft token), with the marker.
    fn prefix(
        lm: &Smollm2,
        items: &ItemTable,
        ratings: &RatingBook,
        l: usize,
        user: u32,
        history: &[u32],
    ) -> Result<Vec<u32>, MethodError> {
        let shown = &history[history.len().saturating_sub(l)..];
        let text = YESNO_HEAD.render(&[]).expect("no placeholders")
            + &yesno_history(items, ratings, user, shown)
            + &COLLM_USER.render(&[("user", "\u{1}")]).expect("template has {user}");
        Self::encode_with_slot(lm, &text, "\u{1}", USER_SLOT)
    }

    /// Per-candidate suffix (target + item soft token + question), with the marker.
    fn suffix(lm: &Smollm2, items: &ItemTable, item: u32) -> Result<Vec<u32>, MethodError> {
        let line = item_line(items, item, HistoryStyle::TitleGenres);
        let text = COLLM_TARGET
            .render(&[("item", &line), ("item_feature", "\u{1}")])
            .expect("template has {item} and {item_feature}");
        Self::encode_with_slot(lm, &text, "\u{1}", ITEM_SLOT_BASE + item)
    }

    fn score_with(
        &self,
        f: &Fitted,
        q: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        let prefix =
            Self::prefix(&f.lm, &f.items, &f.ratings, self.p.history_len, q.user, q.history)?;
        let suffixes: Vec<Vec<u32>> =
            items.iter().map(|&i| Self::suffix(&f.lm, &f.items, i)).collect::<Result<_, _>>()?;
        let d = f.tuned.config.hidden;
        let device = f.tuned.device();
        let embed = |ids: &[u32]| -> Result<Tensor<3>, String> {
            let (clean, slots, rows) = split_slots(ids, &[q.user], ids.len(), f.n_users);
            let x = f.tuned.embed_tokens(&clean, 1);
            let mut soft = Vec::with_capacity(rows.len() * d);
            for &r in &rows {
                soft.extend_from_slice(
                    f.soft.get(r * d..(r + 1) * d).ok_or("soft token row out of range")?,
                );
            }
            let soft = Tensor::<2>::from_data(TensorData::new(soft, [rows.len(), d]), &device);
            Ok(splice(x, &slots, soft))
        };
        let (yes, no) = (f.yes, f.no);
        let r = last_logits_after_prefix_with(
            &f.tuned,
            &prefix,
            &suffixes,
            self.p.chunk,
            embed,
            |row| yes_no(row, yes, no),
        )
        .map_err(|e| data_err(ID, e))?;
        self.meter.add(prefix.len() + suffixes.iter().map(Vec::len).sum::<usize>());
        for (o, yn) in out.iter_mut().zip(r) {
            self.outside.add(yn.outside);
            *o = yn.p_yes;
        }
        Ok(())
    }
}

/// Projected rows of `e` (`[n, d_crm]` on the inference device) as a host copy.
fn project_all(proj: &Projector, e: &Tensor<2>) -> Vec<f32> {
    to_vec(&proj.forward(e.clone()))
}

impl Method for Collm {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let t0 = Instant::now();
        let tp = self.p.tuning.clone();
        tp.kshot.validate().map_err(|e| data_err(ID, e))?;
        let lm = quadrec_lmrec::smollm2().map_err(|e| data_err(ID, e))?;
        let yes = answer_token(&lm, "Yes").map_err(|e| data_err(ID, e))?;
        let no = answer_token(&lm, "No").map_err(|e| data_err(ID, e))?;
        let (nu, ni) = (train.n_users() as usize, train.n_items() as usize);

        // 1. The CRM, on all train rows, no probe (its epochs are a recorded param).
        let t_crm = Instant::now();
        let mut crm_ctx = FitContext::new(ctx.seed.child("collm/crm"));
        let (cu, ci, dc, _) = Bpr::fit_factors(self.p.crm.clone(), train, &mut crm_ctx)?;
        ctx.emit(FitEvent::Note(format!(
            "{ID}: BPR-MF (d = {dc}, {} epochs) fitted on {} train rows in {:.1} s; factors frozen",
            self.p.crm.train.epochs,
            train.interactions().len(),
            t_crm.elapsed().as_secs_f64()
        )));
        let mut e_host = cu.clone();
        e_host.extend_from_slice(&ci);

        // 2. k-shot examples: prompt ids with slot markers + the answer token.
        let rows = tp.kshot.rows(train);
        if rows.is_empty() {
            return Err(data_err(ID, "no train rows to tune on"));
        }
        let (items, ratings) = (train.items_arc(), RatingBook::from_train(train));
        let mut examples: Vec<(u32, Vec<u32>)> = Vec::with_capacity(rows.len());
        let mut n_pos = 0;
        for r in &rows {
            let mut seq = Self::prefix(
                &lm,
                &items,
                &ratings,
                self.p.history_len,
                r.user,
                history_before(train, r),
            )?;
            seq.extend(Self::suffix(&lm, &items, r.item)?);
            let label = liked(r.rating);
            n_pos += usize::from(label);
            seq.push(if label { yes } else { no });
            examples.push((r.user, seq));
        }
        ctx.emit(FitEvent::Note(format!(
            "{ID}: tuning projection + LoRA on {} k-shot rows ({n_pos} liked), subset_seed {}",
            rows.len(),
            tp.kshot.subset_seed
        )));

        // 3. Trainables on the autodiff device: a fresh SmolLM2 with LoRA (the shared copy is
        // never mutated) and the projection. The CRM table is a constant tensor.
        let kind = quadrec_models::device::backend_from_env().map_err(|e| data_err(ID, e))?;
        let tdev = quadrec_models::device::train_device(kind);
        tdev.seed(ctx.seed.child("collm/dropout").0);
        let (mut model, _) = quadrec_lm::load_smollm2(&tdev).map_err(|e| data_err(ID, e))?;
        let lcfg = LoraConfig {
            rank: tp.lora_rank,
            alpha: tp.lora_alpha,
            dropout: tp.lora_dropout,
            targets: tp.lora_targets.clone(),
        };
        model.attach_lora(&lcfg, ctx.seed.child("collm/lora"));
        let d = model.config.hidden;
        let mut proj = Projector::new(
            self.p.projection,
            dc,
            self.p.hidden,
            d,
            ctx.seed.child("collm/projection"),
            &tdev,
        );
        let e_train = Tensor::<2>::from_data(TensorData::new(e_host.clone(), [nu + ni, dc]), &tdev);
        let e_infer =
            Tensor::<2>::from_data(TensorData::new(e_host, [nu + ni, dc]), &lm.model.device());
        let (mut opt_lm, mut opt_proj) = (AdamConfig::new().init(), AdamConfig::new().init());
        let mut report =
            FitReport { device: quadrec_lmrec::backend_name().into(), ..FitReport::default() };
        let n_projection = proj.n_parameters();
        let mut best: Option<(f64, usize, Fitted, Projector)> = None;
        let mut last: Option<(Fitted, Projector)> = None;
        for epoch in 1..=tp.epochs.max(1) {
            let t1 = Instant::now();
            let order = epoch_order(ctx.seed, "collm/order", epoch, examples.len());
            let (mut loss_sum, mut n_batches) = (0.0f64, 0usize);
            for batch in order.chunks(tp.batch_size.max(1)) {
                let b = batch.len();
                // Inputs are the sequence minus its answer; right padding cannot reach the last
                // real position under causal attention.
                let t = batch.iter().map(|&i| examples[i].1.len() - 1).max().unwrap_or(1);
                let mut ids = vec![0u32; b * t];
                let (mut users, mut lasts, mut tgt) = (Vec::new(), Vec::new(), Vec::new());
                for (r, &i) in batch.iter().enumerate() {
                    let (u, s) = &examples[i];
                    let n = s.len() - 1;
                    ids[r * t..r * t + n].copy_from_slice(&s[..n]);
                    users.push(*u);
                    lasts.push((r * t + n - 1) as i64);
                    tgt.push(s[n] as i64);
                }
                let (clean, slots, crm_rows) = split_slots(&ids, &users, t, nu);
                let idx = Tensor::<1, Int>::from_data(
                    TensorData::new(
                        crm_rows.iter().map(|&r| r as i64).collect::<Vec<_>>(),
                        [crm_rows.len()],
                    ),
                    &tdev,
                );
                let soft = proj.forward(e_train.clone().select(0, idx)); // [S, d]
                let x = splice(model.embed_tokens(&clean, b), &slots, soft); // [B, T, d]
                let pos: Vec<Vec<usize>> = (0..b).map(|_| (0..t).collect()).collect();
                let h = model.hidden_states_from_embeddings(x, &pos, None, None); // [B, T, d]
                let last_idx = Tensor::<1, Int>::from_data(TensorData::new(lasts, [b]), &tdev);
                let h_last = h.reshape([b * t, d]).select(0, last_idx); // [B, d]
                let lp = log_softmax(model.head(h_last), 1); // [B, V]
                let tgt = Tensor::<2, Int>::from_data(TensorData::new(tgt, [b, 1]), &tdev);
                let loss = lp.gather(1, tgt).mean().neg();
                let lv = to_vec(&loss)[0] as f64;
                if !lv.is_finite() {
                    return Err(MethodError::Numerical {
                        method: ID.into(),
                        message: format!("loss {lv} at epoch {epoch}"),
                    });
                }
                loss_sum += lv;
                n_batches += 1;
                let mut grads = loss.backward();
                let g = GradientsParams::from_module(&mut grads, &proj);
                proj = opt_proj.step(self.p.projection_lr, proj, g);
                let g = GradientsParams::from_module(&mut grads, &model);
                model = opt_lm.step(tp.learning_rate, model, g);
            }
            let train_seconds = t1.elapsed().as_secs_f64();
            let t2 = Instant::now();
            let proj_inf = proj.valid().to_device(&lm.model.device());
            self.fitted = Some(Fitted {
                lm: lm.clone(),
                tuned: model.valid(),
                soft: project_all(&proj_inf, &e_infer),
                ratings: ratings.clone(),
                items: items.clone(),
                n_users: nu,
                yes,
                no,
                n_projection,
            });
            let valid = ctx.probe(&*self);
            let log = EpochLog {
                epoch,
                loss: loss_sum / n_batches.max(1) as f64,
                valid,
                train_seconds,
                probe_seconds: t2.elapsed().as_secs_f64(),
            };
            ctx.emit(FitEvent::Epoch(log.clone()));
            report.epochs.push(log);
            report.epochs_run = epoch;
            let cur = self.fitted.take().expect("just set");
            match valid {
                Some(v) if best.as_ref().is_none_or(|b| v > b.0) => {
                    best = Some((v, epoch, cur, proj_inf))
                }
                Some(_) => {}
                None => last = Some((cur, proj_inf)),
            }
        }
        let kept = match (best, last) {
            (Some((v, e, f, p)), _) => {
                report.best_epoch = e;
                report.best_valid = Some(v);
                ctx.emit(FitEvent::EarlyStop { best_epoch: e, best_valid: v });
                (f, p)
            }
            (None, Some((f, p))) => {
                report.best_epoch = report.epochs_run;
                (f, p)
            }
            (None, None) => unreachable!("at least one epoch ran"),
        };
        self.fitted = Some(kept.0);
        self.trace = Some(CollmTrace { crm_user: cu, crm_item: ci, d: dc, projector: kept.1 });
        report.fit_seconds = t0.elapsed().as_secs_f64();
        Ok(report)
    }

    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        let f = self.fitted()?;
        let n = f.items.len();
        check_len(ID, queries.len() * n, out.len())?;
        let all: Vec<u32> = (0..n as u32).collect();
        for (q, row) in queries.iter().zip(out.chunks_mut(n.max(1))) {
            self.score_items(q, &all, row)?;
        }
        Ok(())
    }

    fn score_items(
        &self,
        query: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        let f = self.fitted()?;
        check_len(ID, items.len(), out.len())?;
        check_items(ID, items, f.items.len() as u32)?;
        if query.user as usize >= f.n_users {
            return Err(MethodError::OutOfCatalogue {
                method: ID.into(),
                what: "user",
                id: query.user,
                n: f.n_users as u32,
            });
        }
        if items.is_empty() {
            return Ok(());
        }
        self.score_with(f, query, items, out)
    }

    fn n_parameters(&self) -> u64 {
        self.fitted.as_ref().map_or(0, |f| (f.tuned.n_lora_parameters() + f.n_projection) as u64)
    }

    fn lm_tokens(&self) -> u64 {
        self.meter.get()
    }

    fn diagnostics(&self) -> Vec<(String, f64)> {
        self.outside.diagnostics()
    }

    fn reset_diagnostics(&self) {
        self.outside.reset();
    }

    fn provenance(&self) -> Provenance {
        let mut p = Provenance::default();
        for t in [&YESNO_HEAD, &YESNO_HISTORY, &COLLM_USER, &COLLM_TARGET] {
            p.prompt_hashes.insert(t.name.to_string(), t.sha256());
        }
        p.weight_hashes.insert(
            "SmolLM2-135M-Instruct".into(),
            quadrec_lm::assets::smollm2_model_hash().into(),
        );
        p
    }
}

/// Build `collm`.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: CollmParams = parse_params(ID, v)?;
    let invalid = |message: String| ParamsError::Invalid { method: ID.into(), message };
    p.tuning.kshot.validate().map_err(invalid)?;
    if p.crm.train.epochs == 0 {
        return Err(invalid("`crm.train.epochs` must be at least 1".into()));
    }
    Ok(Box::new(Collm::new(p)))
}

/// Smoke params: BPR d = 8 for a few epochs, 4 rows, one epoch, LoRA rank 2, linear projection.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({
        "history_len": 3,
        "projection": "linear",
        "crm": {"embedding_size": 8, "train": {"epochs": 5, "batch_size": 16, "learning_rate": 0.01}},
        "tuning": {"kshot": {"k": 4}, "epochs": 1, "batch_size": 2, "lora_rank": 2}
    })
}
