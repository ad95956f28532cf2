//! KAR: knowledge augmentation by an LM (item knowledge and user preference summaries),
//! MiniLM-encoded and consumed by a CTR model through knowledge adaptors.
//!
//! Paper: Xi et al., "Towards Open-World Recommendation with Knowledge Augmentation from Large
//! Language Models" (KAR), RecSys 2024. Survey: feature engineering stage, feature-augmentation
//! task, quadrant Q2 (frozen LM, CRM at inference). Pipeline:
//!
//! 1. SmolLM2-135M-Instruct writes, greedily, (a) for each item a short factual description
//!    (genre, themes, audience) from its title/year/genres (template `kar/item/v2`), and (b) for
//!    each user a preference summary from the user's TRAIN history only (last `history_items`
//!    train items with their train ratings, plus the user's side features; template
//!    `kar/user/v2`). Texts are cached on disk by prompt hash (`generate.rs`): a rerun costs no
//!    LM call and gives the same text.
//! 2. MiniLM encodes the texts (disk-cached too).
//! 3. The vectors enter the parent DeepFM as dense fields (target item knowledge, mean history
//!    knowledge, user preference), each through a MoE knowledge adaptor (`dense_deepfm.rs`);
//!    training is the parent's (same examples, loss, optimiser, early stopping).
//!
//! Budget (CPU): `item_budget` = how many items get LM knowledge (the most popular in train;
//! 0 = all); the others use the MiniLM embedding of their plain text (title, year, genres) in
//! the same field. `user_budget` = how many users get a summary (a seeded sample of users with
//! train rows; 0 = all); the others get a zero vector. `*_max_new_tokens` bound each text.
//! The counts generated / read from cache are emitted as fit notes and the LM tokens are
//! reported through `lm_tokens`.
//!
//! Differences from KAR: a 135M model instead of ChatGLM/GPT-3.5 (so the "knowledge" is
//! shallow), MiniLM instead of ChatGLM/BERT as the knowledge encoder, MoE adaptors without the
//! preference/knowledge cross terms of the paper's hybrid-expert adaptor.

use crate::dense_deepfm::{DenseDeepFmNet, DenseDeepFmParams, DenseTables, fit_dense};
use crate::generate::{Generator, default_dir};
use crate::textfeat::{catalogue_text, minilm_weights, padded_rows};
use quadrec_lm::EmbeddingCache;
use quadrec_lmrec::{HistoryStyle, PromptTemplate, history_block, item_line};
use quadrec_method::{
    FitContext, FitEvent, FitReport, Method, MethodError, ParamsError, Provenance, TrainView,
    parse_params,
};
use quadrec_models::methods::ctr::CtrMethod;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;

/// Registry id.
pub const ID: &str = "kar";

/// Item-knowledge prompt (KAR's factual-knowledge prompt, shortened for a 135M model).
pub const ITEM_TEMPLATE: PromptTemplate = PromptTemplate {
    name: "kar/item/v2",
    text: "<|im_start|>system\nYou are a film expert. Answer in one short sentence.<|im_end|>\n<|im_start|>user\nDescribe the movie {item}: its genre, main themes, mood and target audience.<|im_end|>\n<|im_start|>assistant\n{item} is a",
};

/// User-preference prompt (KAR's preference-reasoning prompt, shortened).
pub const USER_TEMPLATE: PromptTemplate = PromptTemplate {
    name: "kar/user/v2",
    text: "<|im_start|>system\nYou are a film expert. Answer in two short sentences.<|im_end|>\n<|im_start|>user\nA user ({profile}) rated these movies, oldest first (1-5 stars):\n{history}\nIn one sentence, what kinds of movies does this user like and dislike?<|im_end|>\n<|im_start|>assistant\nThis user enjoys",
};

/// KAR params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KarParams {
    /// The CTR backbone (the parent `deepfm`'s recipe plus adaptor experts).
    pub backbone: DenseDeepFmParams,
    /// Items with LM knowledge (most popular in train first); 0 = all.
    pub item_budget: usize,
    /// Users with an LM preference summary (seeded sample); 0 = all users with train rows.
    pub user_budget: usize,
    /// New-token bound of an item text.
    pub item_max_new_tokens: usize,
    /// New-token bound of a user summary.
    pub user_max_new_tokens: usize,
    /// Most recent train items shown in a user prompt.
    pub history_items: usize,
    /// Prompts decoded together.
    pub gen_batch: usize,
    /// Seed of the user sample when `user_budget` > 0 (a param rather than the cell seed, so
    /// that every seed of a suite and the precompute command use the same users and share the
    /// generation cache).
    pub user_sample_seed: u64,
}

impl Default for KarParams {
    fn default() -> Self {
        KarParams {
            backbone: DenseDeepFmParams::default(),
            item_budget: 0,
            user_budget: 0,
            item_max_new_tokens: 32,
            user_max_new_tokens: 32,
            history_items: 15,
            gen_batch: 16,
            user_sample_seed: 0,
        }
    }
}

/// The item prompt of `item`.
pub fn item_prompt(train: &TrainView, item: u32) -> String {
    let line = item_line(train.items(), item, HistoryStyle::TitleGenres);
    ITEM_TEMPLATE.render(&[("item", &line)]).expect("template placeholders are fixed")
}

/// The user prompt of `user`, from the user's TRAIN rows only (items and ratings of
/// `train`), the last `max_items` of them.
pub fn user_prompt(train: &TrainView, user: u32, max_items: usize) -> String {
    let items = train.user_items(user);
    let ratings = train.user_ratings(user);
    // Ratings by position: a history item's rating is the one of its train row.
    let rating_of = |i: u32| items.iter().rposition(|&x| x == i).map(|k| ratings[k]);
    let history =
        history_block(train.items(), items, max_items, HistoryStyle::TitleGenres, rating_of);
    let profile = train.users().text(user);
    let profile = if profile.is_empty() { "no profile".to_string() } else { profile };
    USER_TEMPLATE
        .render(&[("profile", &profile), ("history", &history)])
        .expect("template placeholders are fixed")
}

/// What the LM wrote in the last fit (for inspection and tests).
#[derive(Clone, Debug, Default)]
pub struct KarTexts {
    /// `(item, knowledge)` for the items with LM knowledge.
    pub items: Vec<(u32, String)>,
    /// `(user, summary)` for the users with a summary.
    pub users: Vec<(u32, String)>,
}

/// KAR.
pub struct Kar {
    p: KarParams,
    fitted: Option<CtrMethod<DenseDeepFmNet>>,
    tokens: u64,
    /// Texts of the last fit.
    pub texts: KarTexts,
    /// Cache folder of generated texts (default `cache_dir()/lmstages/generated`).
    pub cache_dir: std::path::PathBuf,
    /// LM calls (cache misses) of the last fit.
    pub lm_calls: u64,
}

impl Kar {
    /// An unfitted KAR caching its generated texts under `cache_dir`.
    pub fn new(p: KarParams, cache_dir: std::path::PathBuf) -> Self {
        Kar { p, fitted: None, tokens: 0, texts: KarTexts::default(), cache_dir, lm_calls: 0 }
    }

    /// Generate (or read from the cache) the texts of `train` under the budgets.
    pub fn write_texts(
        &mut self,
        train: &TrainView,
        ctx: &mut FitContext,
    ) -> Result<KarTexts, MethodError> {
        let err = |m: String| MethodError::Data { method: ID.into(), message: m };
        let lm = quadrec_lmrec::smollm2().map_err(|e| err(e.to_string()))?;
        let generator = Generator::new(lm, &self.cache_dir);
        // Items: most popular in train first (ties by id).
        let pop = train.item_popularity();
        let mut items: Vec<u32> = (0..train.n_items()).collect();
        items.sort_by_key(|&i| (std::cmp::Reverse(pop[i as usize]), i));
        if self.p.item_budget > 0 {
            items.truncate(self.p.item_budget);
        }
        items.sort_unstable();
        let mut users: Vec<u32> =
            (0..train.n_users()).filter(|&u| !train.user_items(u).is_empty()).collect();
        if self.p.user_budget > 0 && self.p.user_budget < users.len() {
            users.shuffle(
                &mut quadrec_core::Seed::new(self.p.user_sample_seed).child("kar/users").rng(),
            );
            users.truncate(self.p.user_budget);
            users.sort_unstable();
        }
        let t0 = std::time::Instant::now();
        let ip: Vec<String> = items.iter().map(|&i| item_prompt(train, i)).collect();
        let it = generator
            .generate(&ip, self.p.item_max_new_tokens, self.p.gen_batch)
            .map_err(|e| err(e.to_string()))?;
        let up: Vec<String> =
            users.iter().map(|&u| user_prompt(train, u, self.p.history_items)).collect();
        let ut = generator
            .generate(&up, self.p.user_max_new_tokens, self.p.gen_batch)
            .map_err(|e| err(e.to_string()))?;
        self.lm_calls = generator.lm_calls.load(Ordering::Relaxed);
        self.tokens += generator.meter.get();
        ctx.emit(FitEvent::Note(format!(
            "kar: {} item texts, {} user summaries; {} generated ({} LM tokens), {} from cache, {:.1} s",
            items.len(),
            users.len(),
            self.lm_calls,
            generator.meter.get(),
            generator.cache_hits.load(Ordering::Relaxed),
            t0.elapsed().as_secs_f64()
        )));
        // The encoded text is the answer: the template's assistant prefix plus the continuation.
        let answer = |prompt: &str, cont: String| -> String {
            let tail = prompt.rsplit("<|im_start|>assistant\n").next().unwrap_or("");
            format!("{tail} {cont}")
        };
        Ok(KarTexts {
            items: items
                .into_iter()
                .zip(ip.iter().zip(it))
                .map(|(i, (p, c))| (i, answer(p, c)))
                .collect(),
            users: users
                .into_iter()
                .zip(up.iter().zip(ut))
                .map(|(u, (p, c))| (u, answer(p, c)))
                .collect(),
        })
    }
}

impl Method for Kar {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let err = |m: String| MethodError::Data { method: ID.into(), message: m };
        let texts = self.write_texts(train, ctx)?;
        let enc = quadrec_lmrec::minilm().map_err(|e| err(e.to_string()))?;
        let encode = |t: &[&str]| -> Result<Vec<Vec<f32>>, MethodError> {
            enc.encode_cached(
                &EmbeddingCache::default_location(),
                quadrec_lm::assets::minilm_model_hash(),
                t,
                32,
            )
            .map(|(rows, _)| rows)
            .map_err(|e| err(e.to_string()))
        };
        // Item table: plain-text MiniLM rows, replaced by knowledge rows where generated.
        let plain = catalogue_text(ID, train.items())?;
        let dim = plain.dim;
        let mut item_tab = padded_rows(&plain, 1);
        let kt: Vec<&str> = texts.items.iter().map(|(_, s)| s.as_str()).collect();
        for ((i, _), row) in texts.items.iter().zip(encode(&kt)?) {
            item_tab[*i as usize * dim..(*i as usize + 1) * dim].copy_from_slice(&row);
        }
        let mut user_tab = vec![0f32; train.n_users() as usize * dim];
        let ut: Vec<&str> = texts.users.iter().map(|(_, s)| s.as_str()).collect();
        for ((u, _), row) in texts.users.iter().zip(encode(&ut)?) {
            user_tab[*u as usize * dim..(*u as usize + 1) * dim].copy_from_slice(&row);
        }
        self.texts = texts;
        let tables = DenseTables { item: vec![item_tab], user: vec![user_tab], dim };
        let (m, report) = fit_dense(ID, &self.p.backbone, tables, train, ctx)?;
        self.fitted = Some(m);
        Ok(report)
    }
    quadrec_models::delegate_scoring!(ID, |f| f.n_parameters());
    fn lm_tokens(&self) -> u64 {
        self.tokens
    }
    fn provenance(&self) -> Provenance {
        let mut p = Provenance::default();
        let (k, v) = minilm_weights();
        p.weight_hashes.insert(k, v);
        p.weight_hashes.insert(
            "SmolLM2-135M-Instruct".into(),
            quadrec_lm::assets::smollm2_model_hash().to_string(),
        );
        for t in [&ITEM_TEMPLATE, &USER_TEMPLATE] {
            p.prompt_hashes.insert(t.name.into(), t.sha256());
        }
        p
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: KarParams = parse_params(ID, v)?;
    if p.backbone.n_experts == 0 || p.gen_batch == 0 || p.history_items == 0 {
        return Err(ParamsError::Invalid {
            method: ID.into(),
            message: "backbone.n_experts, gen_batch and history_items must be >= 1".into(),
        });
    }
    Ok(Box::new(Kar {
        p,
        fitted: None,
        tokens: 0,
        texts: KarTexts::default(),
        cache_dir: default_dir(),
        lm_calls: 0,
    }))
}

/// Smoke params (tiny budgets: a few items and users, a few tokens).
pub fn smoke() -> serde_json::Value {
    serde_json::json!({"backbone": crate::dense_deepfm::smoke(), "item_budget": 4, "user_budget": 3,
        "item_max_new_tokens": 6, "user_max_new_tokens": 6, "history_items": 3, "gen_batch": 4})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::Titled;
    use quadrec_core::Seed;
    use quadrec_method::UserQuery;

    /// User prompts are built from train rows only: the held-out items' titles never appear,
    /// the most recent train items do, with their train ratings.
    #[test]
    fn user_prompts_use_only_train_rows() {
        let d = Titled::new();
        for u in 0..d.train.n_users() {
            let p = user_prompt(&d.train, u, 50);
            for &h in &d.held_out[u as usize] {
                let title = &d.train.items().titles[h as usize];
                assert!(!p.contains(title.as_str()), "user {u}: held-out {title} in prompt");
            }
            for &i in d.train.user_items(u) {
                assert!(p.contains(d.train.items().titles[i as usize].as_str()));
            }
        }
        let p = user_prompt(&d.train, 0, 50);
        assert!(p.contains(": 5/5") || p.contains(": 4/5"), "{p}");
    }

    /// KAR fits on titled data with real SmolLM2 + MiniLM, scores are finite and consistent,
    /// a refit reads every text from the cache (no LM call) and gives identical scores.
    #[test]
    fn kar_fits_and_a_refit_costs_no_lm_call() {
        let d = Titled::new();
        let dir = tempfile::tempdir().unwrap();
        let e = quadrec_method::find_entry(crate::STAGES_TABLE, ID).unwrap();
        let p = quadrec_method::merge_params(ID, &(e.default_params)(), &[("smoke", &smoke())])
            .unwrap();
        let mk = || {
            let p: KarParams = parse_params(ID, &p).unwrap();
            let mut k = Kar {
                p,
                fitted: None,
                tokens: 0,
                texts: KarTexts::default(),
                cache_dir: dir.path().into(),
                lm_calls: 0,
            };
            k.fit(&d.train, &mut FitContext::new(Seed(4))).unwrap();
            k
        };
        let a = mk();
        assert_eq!(a.lm_calls, 4 + 3, "4 items + 3 users generated");
        assert!(a.lm_tokens() > 0);
        assert_eq!(a.texts.items.len(), 4);
        assert!(a.texts.items.iter().all(|(_, t)| !t.is_empty()));
        let b = mk();
        assert_eq!(b.lm_calls, 0, "the refit ran the LM");
        assert_eq!(b.lm_tokens(), 0);
        assert_eq!(a.texts.items, b.texts.items);
        assert_eq!(a.texts.users, b.texts.users);
        let n = d.train.n_items() as usize;
        let q: Vec<UserQuery> = (0..d.train.n_users())
            .map(|u| UserQuery { user: u, history: d.train.user_items(u) })
            .collect();
        let (mut sa, mut sb) = (vec![0f32; q.len() * n], vec![0f32; q.len() * n]);
        a.score_full(&q, &mut sa).unwrap();
        b.score_full(&q, &mut sb).unwrap();
        assert!(sa.iter().all(|x| x.is_finite()));
        assert_eq!(sa, sb, "same seed and same texts must give the same scores");
        let mut one = vec![0f32; 3];
        a.score_items(&q[1], &[0, 5, 7], &mut one).unwrap();
        for (k, &i) in [0usize, 5, 7].iter().enumerate() {
            assert!((one[k] - sa[n + i]).abs() < 1e-4);
        }
        assert_eq!(a.provenance().prompt_hashes.len(), 2);
    }
}
