//! Pieces shared by the scoring methods of this crate: train ratings recorded at fit time, the
//! Yes/No prompt templates, packed scoring of many prompt suffixes after one shared user prefix
//! (KV cache), optionally with spliced input embeddings, the history block and the epoch
//! order of the tuned methods, and error helpers.

use burn::tensor::{Int, Tensor, TensorData};
use quadrec_core::Seed;
use quadrec_data::{Interaction, ItemTable};
use quadrec_lm::Llama;
use quadrec_lmrec::{HistoryStyle, PromptTemplate, history_block};
use quadrec_method::MethodError;
use quadrec_split::TrainView;
use rand::RngExt;

/// A [`MethodError::Data`] naming the method.
pub(crate) fn data_err(method: &str, message: impl std::fmt::Display) -> MethodError {
    MethodError::Data { method: method.to_string(), message: message.to_string() }
}

/// Check an output buffer length.
pub(crate) fn check_len(method: &str, expected: usize, got: usize) -> Result<(), MethodError> {
    if expected == got {
        Ok(())
    } else {
        Err(MethodError::Shape { method: method.to_string(), expected, got })
    }
}

/// Check that every item id is inside the catalogue.
pub(crate) fn check_items(method: &str, items: &[u32], n: u32) -> Result<(), MethodError> {
    match items.iter().find(|&&i| i >= n) {
        Some(&id) => {
            Err(MethodError::OutOfCatalogue { method: method.into(), what: "item", id, n })
        }
        None => Ok(()),
    }
}

/// Train ratings of every user (what the prompt may show next to a history item). Ratings of
/// validation/test items are never known to the method.
#[derive(Clone, Debug, Default)]
pub struct RatingBook {
    // Per user, (item, rating) sorted by item, for binary search.
    per_user: Vec<Vec<(u32, f32)>>,
}

impl RatingBook {
    /// Record the train ratings of `train`.
    pub fn from_train(train: &TrainView) -> Self {
        let per_user = (0..train.n_users())
            .map(|u| {
                let mut v: Vec<(u32, f32)> = train
                    .user_items(u)
                    .iter()
                    .copied()
                    .zip(train.user_ratings(u).iter().copied())
                    .collect();
                v.sort_by_key(|x| x.0);
                v
            })
            .collect();
        RatingBook { per_user }
    }

    /// The train rating of `item` by `user`, if any.
    pub fn get(&self, user: u32, item: u32) -> Option<f32> {
        let v = self.per_user.get(user as usize)?;
        v.binary_search_by_key(&item, |x| x.0).ok().map(|k| v[k].1)
    }
}

/// System turn and start of the user turn of every Yes/No prompt (ChatML of SmolLM2). Shorter
/// than SmolLM2's default system prompt to keep the CPU cost down.
pub const YESNO_HEAD: PromptTemplate = PromptTemplate {
    name: "yesno/head/v1",
    text: "<|im_start|>system\nYou are a recommender system. Given a user's ratings of items, \
           predict whether the user will like a target item.<|im_end|>\n<|im_start|>user\n",
};

/// The user's history block inside a Yes/No prompt.
pub const YESNO_HISTORY: PromptTemplate = PromptTemplate {
    name: "yesno/history/v1",
    text: "The user rated these items (1 = lowest, 5 = highest):\n{history}\n",
};

/// The target item and the question; the answer (`Yes` / `No`) is the next token.
pub const YESNO_TARGET: PromptTemplate = PromptTemplate {
    name: "yesno/target/v1",
    text: "Target item: {item}\nWill the user like the target item? Answer Yes or No.<|im_end|>\n\
           <|im_start|>assistant\n",
};

/// Next-token logits at the last token of each suffix, all suffixes continuing ONE shared
/// prefix: the prefix is run once into a KV cache; each group of `chunk` suffixes is packed into
/// one sequence with per-suffix RoPE positions restarting after the prefix and a block mask (a
/// suffix token sees the prefix and the earlier tokens of its own suffix only). `reduce` maps
/// each `[vocab]` logit row to what the caller keeps, so that at most `chunk` rows are alive.
///
/// Errors when the prefix or a suffix is empty or the total length exceeds the context.
pub fn last_logits_after_prefix<T>(
    model: &Llama,
    prefix: &[u32],
    suffixes: &[Vec<u32>],
    chunk: usize,
    reduce: impl FnMut(&[f32]) -> T,
) -> Result<Vec<T>, String> {
    last_logits_after_prefix_with(
        model,
        prefix,
        suffixes,
        chunk,
        |ids| Ok(model.embed_tokens(ids, 1)),
        reduce,
    )
}

/// [`last_logits_after_prefix`] with the input embeddings made by `embed` (`[1, T]` ids ->
/// `[1, T, hidden]`) instead of the token table: the ids may then carry slot markers that
/// `embed` replaces by non-text vectors (CoLLM's collaborative soft tokens, [`crate::collm`]).
/// With `|ids| Ok(model.embed_tokens(ids, 1))` it is exactly the id path.
pub fn last_logits_after_prefix_with<T>(
    model: &Llama,
    prefix: &[u32],
    suffixes: &[Vec<u32>],
    chunk: usize,
    mut embed: impl FnMut(&[u32]) -> Result<Tensor<3>, String>,
    mut reduce: impl FnMut(&[f32]) -> T,
) -> Result<Vec<T>, String> {
    if prefix.is_empty() {
        return Err("empty prompt prefix".into());
    }
    if let Some(i) = suffixes.iter().position(|s| s.is_empty()) {
        return Err(format!("prompt suffix {i} is empty"));
    }
    let p = prefix.len();
    let longest = suffixes.iter().map(Vec::len).max().unwrap_or(0);
    if p + longest > model.config.max_position {
        return Err(format!(
            "prompt of {} tokens exceeds the context of {}",
            p + longest,
            model.config.max_position
        ));
    }
    let device = model.device();
    let vocab = model.config.vocab_size;
    let mut cache = model.new_cache();
    let _ = model.hidden_states_from_embeddings(
        embed(prefix)?,
        &[(0..p).collect()],
        None,
        Some(&mut cache),
    );
    let mut out = Vec::with_capacity(suffixes.len());
    for group in suffixes.chunks(chunk.max(1)) {
        let t: usize = group.iter().map(Vec::len).sum();
        let (mut ids, mut pos, mut owner, mut lasts) =
            (Vec::with_capacity(t), Vec::with_capacity(t), Vec::with_capacity(t), Vec::new());
        for s in group {
            let start = ids.len();
            for (j, &tok) in s.iter().enumerate() {
                ids.push(tok);
                pos.push(p + j);
                owner.push(start);
            }
            lasts.push((ids.len() - 1) as i64);
        }
        // [t, p + t], true = may not attend.
        let mut mask = Vec::with_capacity(t * (p + t));
        for i in 0..t {
            mask.extend(std::iter::repeat_n(false, p));
            mask.extend((0..t).map(|j| j < owner[i] || j > i));
        }
        let mut c = cache.clone();
        let x = embed(&ids)?; // [1, t, d]
        let h = model.hidden_states_from_embeddings(x, &[pos], Some(&mask), Some(&mut c)); // [1, t, d]
        let idx = Tensor::<1, Int>::from_data(TensorData::new(lasts, [group.len()]), &device);
        let logits = model.head(h.select(1, idx)); // [1, g, vocab]
        let v = to_vec(&logits);
        out.extend(v.chunks(vocab).map(&mut reduce));
    }
    Ok(out)
}

/// Host copy of a float tensor.
pub(crate) fn to_vec<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.to_data().convert::<f32>().try_to_vec::<f32>().expect("f32 tensor data converts to Vec<f32>")
}

/// What a Yes/No head says about one prompt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct YesNo {
    /// `P(Yes) / (P(Yes) + P(No))`, the score (a probability, for LogLoss).
    pub p_yes: f32,
    /// Probability mass on tokens other than `Yes` and `No` at the answer position.
    pub outside: f32,
}

/// Reduce a logit row to [`YesNo`].
pub fn yes_no(logits: &[f32], yes: u32, no: u32) -> YesNo {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let z: f64 = logits.iter().map(|&l| ((l - m) as f64).exp()).sum();
    let (ly, ln) = (logits[yes as usize], logits[no as usize]);
    let py = ((ly - m) as f64).exp() / z;
    let pn = ((ln - m) as f64).exp() / z;
    // sigmoid(ly - ln), computed stably.
    let d = (ly - ln) as f64;
    let p_yes = if d >= 0.0 { 1.0 / (1.0 + (-d).exp()) } else { d.exp() / (1.0 + d.exp()) };
    YesNo { p_yes: p_yes as f32, outside: (1.0 - py - pn).max(0.0) as f32 }
}

/// Running mean of the probability mass outside Yes/No (scoring takes `&self`).
#[derive(Debug, Default)]
pub struct OutsideMass(std::sync::Mutex<(f64, u64)>);

impl OutsideMass {
    /// Record one answer position.
    pub fn add(&self, v: f32) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g.0 += v as f64;
        g.1 += 1;
    }

    /// Mean so far and count (`None` before any scoring or since the last [`Self::reset`]).
    pub fn mean(&self) -> Option<(f64, u64)> {
        let g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        (g.1 > 0).then(|| (g.0 / g.1 as f64, g.1))
    }

    /// Start a new mean (the runner resets before each test view, so a cell reports the mass
    /// over its own view's prompts).
    pub fn reset(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = (0.0, 0);
    }

    /// The [`quadrec_method::Method::diagnostics`] pairs: `yes_no_outside_mass` (mean) and
    /// `yes_no_prompts` (count); empty when nothing was scored since the last reset.
    pub fn diagnostics(&self) -> Vec<(String, f64)> {
        match self.mean() {
            Some((m, n)) => {
                vec![("yes_no_outside_mass".into(), m), ("yes_no_prompts".into(), n as f64)]
            }
            None => Vec::new(),
        }
    }
}

/// The Yes/No prompt's history block for `user` showing `shown` (time order), each with its
/// train rating when the method may know it.
pub fn yesno_history(items: &ItemTable, ratings: &RatingBook, user: u32, shown: &[u32]) -> String {
    let block = if shown.is_empty() {
        "(no items yet)".to_string()
    } else {
        history_block(items, shown, shown.len(), HistoryStyle::Title, |i| ratings.get(user, i))
    };
    YESNO_HISTORY.render(&[("history", &block)]).expect("template has {history}")
}

/// The user's train items strictly before the train interaction `r` (its history as a
/// training example), in time order.
pub fn history_before<'t>(train: &'t TrainView, r: &Interaction) -> &'t [u32] {
    let items = train.user_items(r.user);
    let times = train.user_timestamps(r.user);
    let pos = items
        .iter()
        .zip(times)
        .position(|(&i, &t)| i == r.item && t == r.timestamp)
        .unwrap_or(items.len());
    &items[..pos]
}

/// A seeded permutation of `0..n` for one epoch (Fisher-Yates on `seed.child(key).index(epoch)`).
pub fn epoch_order(seed: Seed, key: &str, epoch: usize, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = seed.child(key).index(epoch as u64).rng();
    for i in (1..order.len()).rev() {
        let j = rng.random_range(0..=i);
        order.swap(i, j);
    }
    order
}
