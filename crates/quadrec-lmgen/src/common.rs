//! State and steps shared by the generators: the catalogue as prompt text, the shared model
//! handle, generation followed by grounding, and per-user caches of generated outputs (the
//! runner asks `score_items` and then `generated(user)`; views that share users reuse the
//! generation of an identical history).

use crate::ground::{Grounding, catalogue_titles, cosine_similarities, dl_similarities, ground};
use crate::lm::{DecodeError, Decoder};
use quadrec_core::hash::sha256_hex;
use quadrec_data::ItemTable;
use quadrec_lmrec::{
    HistoryStyle, ItemEmbeddings, PromptTemplate, TokenMeter, history_block, item_line,
};
use quadrec_method::{MethodError, Provenance, TrainView, UserQuery};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Map any displayable error to [`MethodError::Data`] naming the method.
pub fn data_err(method: &str, e: impl std::fmt::Display) -> MethodError {
    MethodError::Data { method: method.to_string(), message: e.to_string() }
}

/// The catalogue as the generators see it (all items: text is side information, not a label).
pub struct Catalogue {
    /// Item table of the train view.
    pub items: Arc<ItemTable>,
    /// `item_line(.., Title)` of every item (`Toy Story (1995)`), as written in prompts.
    pub lines: Vec<String>,
    /// Normalised titles as characters (DL grounding).
    pub titles: Vec<Vec<char>>,
    /// Users of the train view.
    pub n_users: u32,
    /// Train interaction count per item.
    pub popularity: Vec<u32>,
}

impl Catalogue {
    /// From a train view.
    pub fn new(train: &TrainView) -> Self {
        let items = train.items_arc();
        let lines =
            (0..items.len() as u32).map(|i| item_line(&items, i, HistoryStyle::Title)).collect();
        let titles = catalogue_titles(&items);
        Catalogue {
            items,
            lines,
            titles,
            n_users: train.n_users(),
            popularity: train.item_popularity().to_vec(),
        }
    }

    /// Catalogue size.
    pub fn n_items(&self) -> u32 {
        self.lines.len() as u32
    }

    /// The last `max_items` of `history` as a prompt block (titles, oldest first).
    pub fn history(&self, history: &[u32], max_items: usize) -> String {
        history_block(&self.items, history, max_items, HistoryStyle::Title, |_| None)
    }
}

/// Provenance of an LM method: its templates and the SmolLM2 weights (plus MiniLM when used).
pub fn provenance(templates: &[&PromptTemplate], minilm: bool) -> Provenance {
    let mut p = Provenance::default();
    for t in templates {
        p.prompt_hashes.insert(t.name.to_string(), t.sha256());
    }
    p.weight_hashes.insert(
        "SmolLM2-135M-Instruct".into(),
        quadrec_lm::assets::smollm2_model_hash().to_string(),
    );
    if minilm {
        p.weight_hashes
            .insert("all-MiniLM-L6-v2".into(), quadrec_lm::assets::minilm_model_hash().to_string());
    }
    p
}

/// A decoder over a copy of the shared SmolLM2 (`model` = a tuned copy, or the shared one).
pub fn decoder(
    method: &str,
    model: Option<quadrec_lm::Llama>,
    meter: Arc<TokenMeter>,
) -> Result<Decoder, MethodError> {
    let h = quadrec_lmrec::smollm2().map_err(|e| data_err(method, e))?;
    Decoder::new(model.unwrap_or_else(|| h.model.clone()), h.tokenizer.clone(), meter)
        .map_err(|e| data_err(method, e))
}

/// Key of a (user, input history) pair in the generation caches.
pub fn query_key(q: &UserQuery) -> (u32, String) {
    let bytes: Vec<u8> = q.history.iter().flat_map(|i| i.to_le_bytes()).collect();
    (q.user, sha256_hex(&bytes))
}

/// The generated texts of one query, grounded.
#[derive(Clone, Debug)]
pub struct Grounded {
    /// Generated answers (first line, cleaned), best beam first.
    pub texts: Vec<String>,
    /// Similarity of each answer to every catalogue item, `[texts.len()][n_items]`.
    pub sims: Vec<Vec<f32>>,
    /// The grounded item of each answer (`None` = nothing within the threshold).
    pub grounded: Vec<Option<u32>>,
}

impl Grounded {
    /// Score of item `i`: the best similarity over answers, minus 1e-3 per beam rank so that
    /// an item matched equally well by a better beam ranks higher.
    pub fn score(&self, i: u32) -> f32 {
        self.sims
            .iter()
            .enumerate()
            .map(|(r, s)| s[i as usize] - 1e-3 * r as f32)
            .fold(f32::NEG_INFINITY, f32::max)
    }
}

/// The answer in a generated text: its first non-empty line, without list markers, quotes
/// or a leading "Title:" label.
pub fn clean_answer(text: &str) -> String {
    // Small chat models often answer in prose ("The user will watch "Heat" next"): a quoted
    // span is taken as the title.
    if let Some(a) = text.find(['"', '\u{201c}']) {
        let rest = &text[a + text[a..].chars().next().map_or(1, char::len_utf8)..];
        let end = rest.find(['"', '\u{201d}', '\n']).unwrap_or(rest.len());
        let q = rest[..end].trim();
        if !q.is_empty() {
            return q.to_string();
        }
    }
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    // A list marker is "- ", "* ", "# " or digits followed by "." / ")" (not "101 Dalmatians").
    let mut s = line.trim_start_matches(['-', '*', '#', ' ']);
    let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0 && s[digits..].starts_with(['.', ')']) {
        s = s[digits + 1..].trim_start();
    }
    for label in ["Title:", "Movie:", "Answer:", "Next movie:"] {
        if let Some(r) = s.strip_prefix(label) {
            s = r;
        }
    }
    s.trim().trim_matches(['"', '\'', '*', '`']).trim().to_string()
}

/// Ground answers with `how`: DL on normalised titles, or MiniLM cosine to item embeddings.
pub fn ground_texts(
    texts: Vec<String>,
    cat: &Catalogue,
    how: Grounding,
    emb: Option<&ItemEmbeddings>,
    threshold: f32,
) -> Result<Grounded, DecodeError> {
    let n = cat.n_items() as usize;
    let mut sims = Vec::with_capacity(texts.len());
    let mut grounded = Vec::with_capacity(texts.len());
    for t in &texts {
        let s = if t.is_empty() {
            // Nothing generated: lowest similarity everywhere, grounds to nothing.
            vec![0.0; n]
        } else {
            match how {
                Grounding::Dl => dl_similarities(t, &cat.titles),
                Grounding::Embedding => {
                    let emb = emb.ok_or_else(|| {
                        DecodeError("embedding grounding without item embeddings".into())
                    })?;
                    let enc = quadrec_lmrec::minilm().map_err(|e| DecodeError(e.to_string()))?;
                    let q = enc.encode(&[t.as_str()], 1).map_err(|e| DecodeError(e.to_string()))?;
                    cosine_similarities(&q[0], &emb.data, emb.dim)
                }
            }
        };
        grounded.push(if t.is_empty() { None } else { ground(&s, threshold) });
        sims.push(s);
    }
    Ok(Grounded { texts, sims, grounded })
}

/// Generation settings of a title generator.
#[derive(Clone, Copy, Debug)]
pub struct GenSettings<'a> {
    /// Beams (1 = greedy).
    pub beams: usize,
    /// Maximum new tokens.
    pub max_new_tokens: usize,
    /// Extra stop tokens (the newline token).
    pub stop: &'a [u32],
    /// Grounding method.
    pub grounding: Grounding,
    /// Grounding threshold.
    pub threshold: f32,
    /// Item embeddings (embedding grounding).
    pub emb: Option<&'a ItemEmbeddings>,
}

/// Prompts decoded together by the batched greedy paths. Batching changes no output (each row
/// equals decoding it alone, up to float summation order), so it is not a method param.
pub const GEN_BATCH: usize = 16;

/// Generate titles after each prompt and ground them (`label` names the method in debug
/// output; `users[k]` is the user of `prompts[k]`). Greedy decoding (`beams = 1`) runs the
/// prompts in batches of [`GEN_BATCH`]; beam search runs one prompt at a time.
pub fn generate_grounded_many(
    label: &str,
    users: &[u32],
    dec: &Decoder,
    prompts: &[Vec<u32>],
    cat: &Catalogue,
    s: &GenSettings,
) -> Result<Vec<Grounded>, DecodeError> {
    let mut all_texts: Vec<Vec<String>> = Vec::with_capacity(prompts.len());
    if s.beams <= 1 {
        for (toks, _) in dec.greedy_batch(prompts, s.max_new_tokens, s.stop, GEN_BATCH)? {
            all_texts.push(vec![clean_answer(&dec.decode(&toks)?)]);
        }
    } else {
        for prompt in prompts {
            let hyps = dec.beam_search(prompt, s.beams, s.max_new_tokens, s.stop, None, false)?;
            let mut texts = Vec::with_capacity(hyps.len());
            for h in &hyps {
                texts.push(clean_answer(&dec.decode(&h.tokens)?));
            }
            all_texts.push(texts);
        }
    }
    let debug = std::env::var_os("QUADREC_LMGEN_DEBUG").is_some();
    let mut out = Vec::with_capacity(prompts.len());
    for (texts, user) in all_texts.into_iter().zip(users) {
        if debug {
            eprintln!("{label}: user {user} -> {texts:?}");
        }
        out.push(ground_texts(texts, cat, s.grounding, s.emb, s.threshold)?);
    }
    Ok(out)
}

/// Records the queries a validation probe asks for (scores all 0, discarded), so that a
/// generator can decode them in batches before the real probe reads its cache (the runner
/// hands a method one user at a time). It sees exactly the inputs the real probe passes
/// (user and history; candidate ids are not kept), never a target.
#[derive(Default)]
pub struct QueryRecorder {
    seen: Mutex<Vec<(u32, Vec<u32>)>>,
}

impl QueryRecorder {
    /// The recorded (user, history) pairs, first-seen order, without repeats.
    pub fn take(&self) -> Vec<(u32, Vec<u32>)> {
        let mut v = std::mem::take(&mut *self.seen.lock().unwrap_or_else(|p| p.into_inner()));
        let mut keys = std::collections::BTreeSet::new();
        v.retain(|(u, h)| keys.insert((*u, h.clone())));
        v
    }

    fn record(&self, q: &UserQuery) {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).push((q.user, q.history.to_vec()));
    }
}

impl quadrec_method::Method for QueryRecorder {
    fn fit(
        &mut self,
        _train: &TrainView,
        _ctx: &mut quadrec_method::FitContext,
    ) -> Result<quadrec_method::FitReport, MethodError> {
        Ok(quadrec_method::FitReport::default())
    }

    fn score_full(&self, queries: &[UserQuery], out: &mut [f32]) -> Result<(), MethodError> {
        queries.iter().for_each(|q| self.record(q));
        out.fill(0.0);
        Ok(())
    }

    fn score_items(
        &self,
        query: &UserQuery,
        _items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        self.record(query);
        out.fill(0.0);
        Ok(())
    }

    fn n_parameters(&self) -> u64 {
        0
    }
}

/// The validation probe of a batched generator: a recording pass (scores discarded) learns the
/// probe's queries, `prefetch` decodes them in batches into the method's cache, then the real
/// probe runs on `m` and reads that cache. `None` when the context has no probe.
pub fn probe_prefetched<M: quadrec_method::Method>(
    ctx: &mut quadrec_method::FitContext,
    m: &M,
    prefetch: impl FnOnce(&M, &[UserQuery]) -> Result<(), MethodError>,
) -> Result<Option<f64>, MethodError> {
    let rec = QueryRecorder::default();
    if ctx.probe(&rec).is_none() {
        return Ok(None);
    }
    let seen = rec.take();
    let qs: Vec<UserQuery> =
        seen.iter().map(|(u, h)| UserQuery { user: *u, history: h.as_slice() }).collect();
    prefetch(m, &qs)?;
    Ok(ctx.probe(m))
}

/// Caches of one method instance: results per (user, history), and the latest outputs per user
/// for `Method::generated`.
pub struct Caches<T> {
    by_query: Mutex<BTreeMap<(u32, String), Arc<T>>>,
    last: Mutex<BTreeMap<u32, Vec<Option<u32>>>>,
}

impl<T> Default for Caches<T> {
    fn default() -> Self {
        Caches { by_query: Mutex::default(), last: Mutex::default() }
    }
}

impl<T> Caches<T> {
    /// Cached result of `q`, or compute and insert it.
    pub fn get_or<E>(&self, q: &UserQuery, f: impl FnOnce() -> Result<T, E>) -> Result<Arc<T>, E> {
        let k = query_key(q);
        if let Some(v) = self.by_query.lock().unwrap_or_else(|p| p.into_inner()).get(&k) {
            return Ok(v.clone());
        }
        let v = Arc::new(f()?);
        self.by_query.lock().unwrap_or_else(|p| p.into_inner()).insert(k, v.clone());
        Ok(v)
    }

    /// The cached result of `q`.
    pub fn get(&self, q: &UserQuery) -> Option<Arc<T>> {
        self.by_query.lock().unwrap_or_else(|p| p.into_inner()).get(&query_key(q)).cloned()
    }

    /// Number of cached results.
    pub fn len(&self) -> usize {
        self.by_query.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `q` has a cached result.
    pub fn contains(&self, q: &UserQuery) -> bool {
        self.by_query.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&query_key(q))
    }

    /// Insert the result of `q`.
    pub fn insert(&self, q: &UserQuery, v: T) {
        self.by_query.lock().unwrap_or_else(|p| p.into_inner()).insert(query_key(q), Arc::new(v));
    }

    /// The queries of `qs` without a cached result, first occurrence of each only.
    pub fn missing<'a>(&self, qs: &'a [UserQuery<'a>]) -> Vec<&'a UserQuery<'a>> {
        let mut seen = std::collections::BTreeSet::new();
        qs.iter().filter(|q| !self.contains(q) && seen.insert(query_key(q))).collect()
    }

    /// Record the outputs of the latest call for `user`.
    pub fn set_last(&self, user: u32, out: Vec<Option<u32>>) {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).insert(user, out);
    }

    /// Outputs of the latest call for `user`.
    pub fn last(&self, user: u32) -> Option<Vec<Option<u32>>> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).get(&user).cloned()
    }

    /// Forget everything (after the model changed).
    pub fn clear(&self) {
        self.by_query.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Next-item examples from TRAIN sequences: up to `max` (user, cut) pairs drawn without
/// replacement from all cuts `1 <= t < len` of every user's train sequence (seeded);
/// returns (history = the `max_history` items before the cut, next item, its rating).
pub fn next_item_cuts(
    train: &TrainView,
    max: usize,
    max_history: usize,
    seed: quadrec_core::Seed,
) -> Vec<(Vec<u32>, u32, f32)> {
    use rand::RngExt;
    let mut all: Vec<(u32, usize)> = Vec::new();
    for u in 0..train.n_users() {
        for t in 1..train.user_items(u).len() {
            all.push((u, t));
        }
    }
    let mut rng = seed.rng();
    // Partial Fisher-Yates: the first `max` positions are a uniform sample.
    let k = max.min(all.len());
    for i in 0..k {
        let j = rng.random_range(i..all.len());
        all.swap(i, j);
    }
    all.truncate(k);
    all.into_iter()
        .map(|(u, t)| {
            let items = train.user_items(u);
            let start = t.saturating_sub(max_history);
            (items[start..t].to_vec(), items[t], train.user_ratings(u)[t])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_cleaned() {
        assert_eq!(clean_answer("\n  1. \"Toy Story (1995)\"\nblah"), "Toy Story (1995)");
        assert_eq!(clean_answer("Title: Heat"), "Heat");
        assert_eq!(clean_answer("- *Se7en*"), "Se7en");
        assert_eq!(clean_answer("   "), "");
        assert_eq!(clean_answer("The user will watch \"Heat (1995)\" next."), "Heat (1995)");
        assert_eq!(clean_answer("The user will watch the movie \"The"), "The");
        assert_eq!(clean_answer("101 Dalmatians (1996)"), "101 Dalmatians (1996)");
    }
}
