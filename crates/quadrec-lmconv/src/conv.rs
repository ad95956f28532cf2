//! Recommenders for free-text requests (the user-interaction stage): the three methods of the
//! conversational benchmark and of `quadrec chat`.
//!
//! - [`ConvMethod::Retrieval`] (Q3-like, frozen LM alone): MiniLM embeds the request; items are
//!   ranked by cosine with their cached MiniLM text embeddings (`ItemTable::text`: title, year,
//!   genres).
//! - [`ConvMethod::Personalised`] (Q2): a CRM from `quadrec_models::CRM_TABLE`, fitted on train
//!   only, scores the catalogue for the user; both score vectors are z-normalised over the
//!   eligible items and blended, `(1 - w) z_text + w z_crm` (`w` = `blend`). A cold start (no
//!   user) falls back to retrieval.
//! - [`ConvMethod::Rerank`] (Q2): SmolLM2 re-ranks the top-`rerank_n` of the personalised list
//!   (of retrieval when cold) by P(Yes) of "does this candidate fit the request?", one shared
//!   prefix per request (see [`crate::yesno`]); items below the top-`rerank_n` keep the base
//!   order.
//!
//! Seen items (the user's input history) are never recommended.

use crate::yesno::{YesNoError, YesNoScorer};
use quadrec_core::Seed;
use quadrec_data::ItemTable;
use quadrec_lmrec::text::{HistoryStyle, PromptTemplate, history_block, item_line};
use quadrec_lmrec::{HandleError, ItemEmbeddings};
use quadrec_method::{FitContext, Method, TrainView, UserQuery, find_entry};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which conversational method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConvMethod {
    /// MiniLM request-item cosine.
    Retrieval,
    /// Cosine blended with a CRM's personal scores.
    Personalised,
    /// SmolLM2 Yes/No re-ranking of the personalised top-N.
    Rerank,
}

impl ConvMethod {
    /// All methods, in report order.
    pub const ALL: [ConvMethod; 3] =
        [ConvMethod::Retrieval, ConvMethod::Personalised, ConvMethod::Rerank];

    /// Stable name (`retrieval`, `personalised`, `rerank`).
    pub fn name(self) -> &'static str {
        match self {
            ConvMethod::Retrieval => "retrieval",
            ConvMethod::Personalised => "personalised",
            ConvMethod::Rerank => "rerank",
        }
    }

    /// Parse a name; the error lists the valid names.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown method `{s}`; valid: retrieval, personalised, rerank"))
    }
}

/// Errors of the conversational recommender.
#[derive(Debug, thiserror::Error)]
pub enum ConvError {
    /// A pretrained model could not be loaded.
    #[error(transparent)]
    Load(#[from] HandleError),
    /// The LM scorer failed.
    #[error(transparent)]
    YesNo(#[from] YesNoError),
    /// The CRM failed (unknown id, bad params, fit or scoring error).
    #[error("CRM `{crm}`: {message}")]
    Crm {
        /// Registry id.
        crm: String,
        /// What failed.
        message: String,
    },
    /// Encoding the request failed.
    #[error("encoding the request with MiniLM: {0}")]
    Encode(String),
    /// A user id outside the catalogue.
    #[error("unknown user {user}: the dataset has users 0..{n_users}")]
    UnknownUser {
        /// The id asked for.
        user: u32,
        /// Number of users.
        n_users: u32,
    },
}

/// Prompt of the re-ranker (shared part); `{history}` may be empty (cold start).
pub const RERANK_PREFIX: PromptTemplate = PromptTemplate {
    name: "conv/rerank-prefix/v1",
    text: "{history}A user asks for a movie: \"{request}\"\nDoes the following candidate match the request? Answer Yes or No.\n",
};
/// Prompt of the re-ranker (per candidate).
pub const RERANK_SUFFIX: PromptTemplate =
    PromptTemplate { name: "conv/rerank-suffix/v1", text: "Candidate: {item}" };
/// System message of the re-ranker.
pub const RERANK_SYSTEM: &str = "You are a movie recommender. Answer with Yes or No.";

/// Settings of the conversational recommender.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ConvConfig {
    /// CRM registry id for personalisation (`ease`, `bpr`, ...).
    pub crm: String,
    /// CRM param overrides (a JSON object).
    pub crm_params: serde_json::Value,
    /// Blend weight `w` of the CRM's z-scores.
    pub blend: f32,
    /// Candidates the LM re-ranks.
    pub rerank_n: usize,
    /// History items shown to the LM.
    pub history_items: usize,
}

impl Default for ConvConfig {
    fn default() -> Self {
        ConvConfig {
            crm: "ease".into(),
            crm_params: serde_json::json!({}),
            blend: 0.5,
            rerank_n: 20,
            history_items: 10,
        }
    }
}

/// One recommended item.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rec {
    /// Item id.
    pub item: u32,
    /// Final score (method-specific scale).
    pub score: f32,
}

/// The fitted conversational recommender (text side + optional CRM + lazily loaded LM).
pub struct ConvRecommender {
    items: Arc<ItemTable>,
    emb: Arc<ItemEmbeddings>,
    crm: Option<Box<dyn Method>>,
    n_users: u32,
    ratings: BTreeMap<(u32, u32), f32>,
    lm: Option<YesNoScorer>,
    /// Settings.
    pub config: ConvConfig,
}

impl ConvRecommender {
    /// Item embeddings of the catalogue; the CRM (when `with_crm`) is fitted on `train` only,
    /// with `seed`.
    pub fn new(
        train: &TrainView,
        config: ConvConfig,
        with_crm: bool,
        seed: Seed,
    ) -> Result<Self, ConvError> {
        let items = train.items_arc();
        let emb = quadrec_lmrec::item_embeddings(&items)?;
        let crm = if with_crm {
            let cerr = |m: String| ConvError::Crm { crm: config.crm.clone(), message: m };
            let e = find_entry(quadrec_models::CRM_TABLE, &config.crm)
                .map_err(|e| cerr(e.to_string()))?;
            let (_, mut m) = e
                .build_with(&[("crm_params", &config.crm_params)])
                .map_err(|e| cerr(e.to_string()))?;
            m.fit(train, &mut FitContext::new(seed.child("conv/crm")))
                .map_err(|e| cerr(e.to_string()))?;
            Some(m)
        } else {
            None
        };
        let mut ratings = BTreeMap::new();
        for r in train.interactions() {
            ratings.insert((r.user, r.item), r.rating);
        }
        Ok(ConvRecommender { items, emb, crm, n_users: train.n_users(), ratings, lm: None, config })
    }

    /// The catalogue.
    pub fn items(&self) -> &ItemTable {
        &self.items
    }

    /// Number of users of the dataset.
    pub fn n_users(&self) -> u32 {
        self.n_users
    }

    /// Fitted parameters of the personalising CRM (0 without one).
    pub fn crm_parameters(&self) -> u64 {
        self.crm.as_ref().map_or(0, |m| m.n_parameters())
    }

    /// LM tokens processed so far.
    pub fn lm_tokens(&self) -> u64 {
        self.lm.as_ref().map_or(0, |l| l.meter.get())
    }

    /// Load SmolLM2 now (otherwise on the first re-ranking request).
    pub fn load_lm(&mut self) -> Result<(), ConvError> {
        if self.lm.is_none() {
            self.lm = Some(YesNoScorer::load()?);
        }
        Ok(())
    }

    /// Unit MiniLM embedding of a request.
    pub fn encode_request(&self, text: &str) -> Result<Vec<f32>, ConvError> {
        let enc = quadrec_lmrec::minilm()?;
        let v = enc.encode(&[text], 1).map_err(|e| ConvError::Encode(e.to_string()))?;
        let v = v.into_iter().next().unwrap_or_default();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        Ok(v.iter().map(|x| x / n).collect())
    }

    /// Cosine of the request with every item, `[n_items]`.
    fn text_scores(&self, text: &str) -> Result<Vec<f32>, ConvError> {
        let q = self.encode_request(text)?;
        Ok((0..self.emb.len() as u32)
            .map(|i| self.emb.row(i).iter().zip(&q).map(|(a, b)| a * b).sum())
            .collect())
    }

    fn crm_scores(&self, user: u32, history: &[u32]) -> Result<Vec<f32>, ConvError> {
        let crm = self.crm.as_ref().ok_or_else(|| ConvError::Crm {
            crm: self.config.crm.clone(),
            message: "personalisation asked but no CRM was fitted".into(),
        })?;
        let mut out = vec![0f32; self.items.len()];
        crm.score_full(&[UserQuery { user, history }], &mut out)
            .map_err(|e| ConvError::Crm { crm: self.config.crm.clone(), message: e.to_string() })?;
        Ok(out)
    }

    /// Recommend `k` items for `text`, for `user` (with their input `history`, oldest first) or
    /// cold (`None`). Items of `history` are excluded. Ties are broken by item id.
    pub fn recommend(
        &mut self,
        method: ConvMethod,
        user: Option<(u32, &[u32])>,
        text: &str,
        k: usize,
    ) -> Result<Vec<Rec>, ConvError> {
        if let Some((u, _)) = user
            && u >= self.n_users
        {
            return Err(ConvError::UnknownUser { user: u, n_users: self.n_users });
        }
        let n = self.items.len();
        let mut eligible = vec![true; n];
        if let Some((_, h)) = user {
            for &i in h {
                eligible[i as usize] = false;
            }
        }
        let text_s = self.text_scores(text)?;
        let base: Vec<f32> = match (method, user) {
            (ConvMethod::Retrieval, _) | (_, None) => text_s,
            (ConvMethod::Personalised | ConvMethod::Rerank, Some((u, h))) => {
                let c = self.crm_scores(u, h)?;
                let (zt, zc) = (zscore(&text_s, &eligible), zscore(&c, &eligible));
                let w = self.config.blend;
                zt.iter().zip(&zc).map(|(a, b)| (1.0 - w) * a + w * b).collect()
            }
        };
        let mut order: Vec<u32> = (0..n as u32).filter(|&i| eligible[i as usize]).collect();
        order.sort_by(|&a, &b| base[b as usize].total_cmp(&base[a as usize]).then(a.cmp(&b)));
        if method != ConvMethod::Rerank {
            return Ok(order
                .into_iter()
                .take(k)
                .map(|i| Rec { item: i, score: base[i as usize] })
                .collect());
        }
        let top_n = self.config.rerank_n.max(k).min(order.len());
        let top = &order[..top_n];
        let history = match user {
            Some((u, h)) if self.config.history_items > 0 && !h.is_empty() => {
                let block = history_block(
                    &self.items,
                    h,
                    self.config.history_items,
                    HistoryStyle::Title,
                    |i| self.ratings.get(&(u, i)).copied(),
                );
                format!("Movies the user watched (rating out of 5):\n{block}\n")
            }
            _ => String::new(),
        };
        let open = RERANK_PREFIX
            .render(&[("history", &history), ("request", text)])
            .expect("template slots are fixed");
        let suffixes: Vec<String> = top
            .iter()
            .map(|&i| {
                RERANK_SUFFIX
                    .render(&[("item", &item_line(&self.items, i, HistoryStyle::TitleGenres))])
                    .expect("template slots are fixed")
            })
            .collect();
        self.load_lm()?;
        let lm = self.lm.as_ref().expect("loaded above");
        let p = lm.score(RERANK_SYSTEM, &open, &suffixes)?;
        let mut re: Vec<Rec> =
            top.iter().zip(&p).map(|(&i, yn)| Rec { item: i, score: yn.p_yes }).collect();
        // Stable sort keeps the base order among equal P(Yes).
        re.sort_by(|a, b| b.score.total_cmp(&a.score));
        re.truncate(k);
        Ok(re)
    }

    /// Provenance of the LM inputs: template name -> sha256, model -> weights sha256.
    pub fn provenance() -> quadrec_method::Provenance {
        let mut p = quadrec_method::Provenance::default();
        for t in [RERANK_PREFIX, RERANK_SUFFIX] {
            p.prompt_hashes.insert(t.name.into(), t.sha256());
        }
        p.prompt_hashes.insert(
            "conv/rerank-system/v1".into(),
            quadrec_core::hash::sha256_hex(RERANK_SYSTEM.as_bytes()),
        );
        p.weight_hashes.insert(
            "SmolLM2-135M-Instruct".into(),
            quadrec_lm::assets::smollm2_model_hash().into(),
        );
        p.weight_hashes
            .insert("all-MiniLM-L6-v2".into(), quadrec_lm::assets::minilm_model_hash().into());
        p
    }
}

/// z-scores of `x` over the eligible entries (mean/std computed on them; std 0 -> all 0).
pub fn zscore(x: &[f32], eligible: &[bool]) -> Vec<f32> {
    let vals: Vec<f64> =
        x.iter().zip(eligible).filter(|(_, e)| **e).map(|(v, _)| *v as f64).collect();
    let n = vals.len().max(1) as f64;
    let mean = vals.iter().sum::<f64>() / n;
    let var = vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let sd = var.sqrt();
    x.iter().map(|&v| if sd > 0.0 { ((v as f64 - mean) / sd) as f32 } else { 0.0 }).collect()
}
