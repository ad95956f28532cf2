//! LLMRank: closed-set ranking by generation (`llmrank`).
//!
//! Paper: Hou et al., 2024, "Large Language Models are Zero-Shot Rankers for Recommender
//! Systems" (LLMRank). The frozen LM reads the user's history and a numbered list of candidate
//! items and writes a ranking; position bias is reduced by bootstrapping: the candidates are
//! shown in several shuffled orders and the rankings are merged (Borda count). Survey:
//! scoring/ranking stage, item-generation task (closed set), Q3 (frozen LM alone).
//!
//! Differences from the paper: SmolLM2-135M-Instruct instead of ChatGPT; `shuffles` seeded
//! orders per user (from the method's seed tree, keyed by user and shuffle index, so the same
//! user gets the same orders in every view and rerun); greedy decoding of at most
//! `max_new_tokens` tokens; the history/system part of the prompt is run once per user and its
//! KV cache reused by every shuffle. Outputs are parsed by [`crate::parse::parse_ranking`]
//! (indices or titles, partial titles, duplicates and out-of-range numbers counted); the
//! candidates the model did not name are appended in the recorded `fallback` order
//! (`presented`: the order shown in that shuffle; `popularity`: train popularity). Parse
//! statistics are exposed by [`LlmRank::parse_stats`]; every parsed segment is reported by
//! `generated(user)` (`None` = a segment that named no candidate), so the runner's
//! hallucination and duplicate rates measure the output quality. There is no full-catalogue
//! ranking (20 titles per prompt is the method): `score_full` is an error, run it on list views.
//!
//! Batching: when the runner announces a pass ([`Method::prepare`]), every (user, shuffle)
//! prompt of the pass is decoded greedily 16 at a time ([`Decoder::greedy_batch`]: one forward
//! per step for the batch, each row equal to decoding it alone); `score_items` then parses the
//! stored outputs. Without the announcement it decodes one user at a time after that user's
//! cached prompt part. Both give the same rankings (tested).

use crate::common::{Caches, Catalogue, data_err, decoder, provenance};
use crate::lm::{Decoder, common_prefix_len};
use crate::parse::{fill, parse_ranking};
use quadrec_core::Seed;
use quadrec_lmrec::{PromptTemplate, TokenMeter};
use quadrec_method::{
    FitContext, FitReport, Method, MethodError, ParamsError, Provenance, TrainView, UserQuery,
    parse_params,
};
use quadrec_models::common::{check_items, check_out, check_queries};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

const ID: &str = "llmrank";

/// The ranking prompt.
pub const TEMPLATE: PromptTemplate = PromptTemplate {
    name: "llmrank/v1",
    text: "<|im_start|>system\nYou are a movie recommender.<|im_end|>\n<|im_start|>user\nA user watched these movies, oldest first:\n{history}\n\nCandidate movies:\n{candidates}\n\nRank all candidates from most to least likely to be watched next by the user. Answer with the candidate numbers only, separated by commas.<|im_end|>\n<|im_start|>assistant\n",
};

/// Order in which candidates the model did not name are appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// The order the candidates were shown in (that shuffle's order).
    Presented,
    /// Train popularity, most popular first (ties by item id).
    Popularity,
}

/// Params of `llmrank`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmRankParams {
    /// Most recent history items shown in the prompt.
    pub history_items: usize,
    /// Seeded candidate orders per user whose rankings are averaged (Borda).
    pub shuffles: usize,
    /// Maximum generated tokens per ranking.
    pub max_new_tokens: usize,
    /// Order of the candidates the model did not name.
    pub fallback: Fallback,
}

impl Default for LlmRankParams {
    fn default() -> Self {
        // LLMRank bootstraps 3 orders; 20 numbers with separators take ~40-60 tokens.
        LlmRankParams {
            history_items: 10,
            shuffles: 3,
            max_new_tokens: 64,
            fallback: Fallback::Presented,
        }
    }
}

/// Totals of the parser over every ranking written so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseStats {
    /// Rankings generated (users x shuffles).
    pub rankings: u64,
    /// Rankings that named no candidate at all (everything from the fallback).
    pub failures: u64,
    /// Rankings that named some but not all candidates.
    pub partial: u64,
    /// Candidates named in total.
    pub named: u64,
    /// Repeated candidates.
    pub duplicates: u64,
    /// Numbers outside `1..=n` that matched no title.
    pub out_of_range: u64,
    /// Segments that matched nothing.
    pub unparsed: u64,
}

/// The ranker.
pub struct LlmRank {
    p: LlmRankParams,
    seed: Seed,
    cat: Option<Catalogue>,
    dec: Option<Decoder>,
    meter: Arc<TokenMeter>,
    caches: Caches<()>,
    /// KV cache of each user's prompt part before the candidates (shared by the views).
    prefixes: Caches<quadrec_lm::KvCache>,
    stats: Mutex<ParseStats>,
    /// Outputs decoded by [`Method::prepare`]: (user, history, candidate list) -> per shuffle
    /// (generated tokens, finished).
    pregen: Mutex<BTreeMap<PassKey, Vec<Output>>>,
}

/// A user's scoring call: (user, input history, candidate list).
type PassKey = (u32, Vec<u32>, Vec<u32>);

/// One ranking's generated tokens and whether it ended before the token cap.
type Output = (Vec<u32>, bool);

/// Per shuffle: the shown order (candidate slots) and the prompt's token ids.
type Prompts = (Vec<Vec<usize>>, Vec<Vec<u32>>, String);

/// Users decoded together by [`Method::prepare`].
const BATCH: usize = 16;

impl LlmRank {
    /// Parser totals so far (the runner does not record these yet; see the crate README).
    pub fn parse_stats(&self) -> ParseStats {
        *self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The prompts of one scoring call, one per shuffle, and the shuffled orders they show.
    fn prompts(
        &self,
        cat: &Catalogue,
        dec: &Decoder,
        q: &UserQuery,
        items: &[u32],
    ) -> Result<Prompts, MethodError> {
        let n = items.len();
        let history = cat.history(q.history, self.p.history_items);
        let k = self.p.shuffles.max(1);
        let orders: Vec<Vec<usize>> = (0..k).map(|s| self.order(q.user, s, n)).collect();
        let mut prompts = Vec::with_capacity(k);
        for o in &orders {
            let cands: Vec<String> = o
                .iter()
                .enumerate()
                .map(|(pos, &c)| format!("[{}] {}", pos + 1, cat.lines[items[c] as usize]))
                .collect();
            let text = TEMPLATE
                .render(&[("history", &history), ("candidates", &cands.join("\n"))])
                .map_err(|e| data_err(ID, e))?;
            prompts.push(dec.encode(&text).map_err(|e| data_err(ID, e))?);
        }
        Ok((orders, prompts, history))
    }

    /// The seeded order of shuffle `s` for `user` over `n` candidates (a permutation of `0..n`).
    fn order(&self, user: u32, s: usize, n: usize) -> Vec<usize> {
        let mut rng = self.seed.child(&format!("llmrank/shuffle/{user}/{s}")).rng();
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = rng.random_range(0..=i);
            v.swap(i, j);
        }
        v
    }
}

impl Method for LlmRank {
    fn fit(&mut self, train: &TrainView, ctx: &mut FitContext) -> Result<FitReport, MethodError> {
        let t0 = Instant::now();
        self.seed = ctx.seed;
        self.dec = Some(decoder(ID, None, self.meter.clone())?);
        self.cat = Some(Catalogue::new(train));
        self.caches.clear();
        self.prefixes.clear();
        self.pregen.lock().unwrap_or_else(|p| p.into_inner()).clear();
        Ok(FitReport {
            fit_seconds: t0.elapsed().as_secs_f64(),
            device: "flex".into(),
            ..FitReport::default()
        })
    }

    fn score_full(&self, _queries: &[UserQuery], _out: &mut [f32]) -> Result<(), MethodError> {
        Err(data_err(
            ID,
            "LLMRank ranks a candidate list in its prompt; it has no full-catalogue ranking (restrict it to closed/hard views)",
        ))
    }

    fn score_items(
        &self,
        q: &UserQuery,
        items: &[u32],
        out: &mut [f32],
    ) -> Result<(), MethodError> {
        let (cat, dec) = match (&self.cat, &self.dec) {
            (Some(c), Some(d)) => (c, d),
            _ => return Err(MethodError::NotFitted { method: ID.into() }),
        };
        check_out(ID, items.len(), out.len())?;
        check_items(ID, items, cat.n_items())?;
        check_queries(ID, std::slice::from_ref(q), cat.n_users, cat.n_items())?;
        let n = items.len();
        if n == 0 {
            return Ok(());
        }
        let k = self.p.shuffles.max(1);
        let (orders, prompts, history) = self.prompts(cat, dec, q, items)?;
        let key: PassKey = (q.user, q.history.to_vec(), items.to_vec());
        let pre = self.pregen.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
        let outputs = match pre {
            Some(o) => o,
            None => self.decode_one(dec, q, &prompts, &history)?,
        };
        let by_pop = {
            let mut v: Vec<usize> = (0..n).collect();
            v.sort_by(|&a, &b| {
                cat.popularity[items[b] as usize]
                    .cmp(&cat.popularity[items[a] as usize])
                    .then(items[a].cmp(&items[b]))
            });
            v
        };
        let mut score = vec![0f64; n];
        let mut generated = Vec::new();
        let mut st = ParseStats::default();
        for (o, (tokens, finished)) in orders.iter().zip(&outputs) {
            let text = dec.decode(tokens).map_err(|e| data_err(ID, e))?;
            let finished = *finished;
            // Cut by max_new_tokens: the last segment may be a split number.
            let text =
                if finished { text } else { crate::parse::drop_truncated_tail(&text).to_string() };
            if std::env::var_os("QUADREC_LMGEN_DEBUG").is_some() {
                eprintln!("llmrank: user {} -> {text:?}", q.user);
            }
            let shown: Vec<String> =
                o.iter().map(|&c| cat.lines[items[c] as usize].clone()).collect();
            let parsed = parse_ranking(&text, &shown);
            // Parsed positions index the shown list; map them to candidate slots.
            let named: Vec<usize> = parsed.order.iter().map(|&pos| o[pos]).collect();
            let fallback: Vec<usize> = match self.p.fallback {
                Fallback::Presented => o.clone(),
                Fallback::Popularity => by_pop.clone(),
            };
            let full = fill(&named, &fallback);
            for (rank, &c) in full.iter().enumerate() {
                score[c] += (n - rank) as f64 / k as f64;
            }
            generated.extend(parsed.segments.iter().map(|s| s.map(|pos| items[o[pos]])));
            st.rankings += 1;
            st.failures += u64::from(parsed.failed());
            st.partial += u64::from(!parsed.failed() && parsed.order.len() < n);
            st.named += parsed.order.len() as u64;
            st.duplicates += parsed.duplicates as u64;
            st.out_of_range += parsed.out_of_range as u64;
            st.unparsed += parsed.unparsed as u64;
        }
        for (o, s) in out.iter_mut().zip(&score) {
            *o = *s as f32;
        }
        {
            let mut g = self.stats.lock().unwrap_or_else(|p| p.into_inner());
            g.rankings += st.rankings;
            g.failures += st.failures;
            g.partial += st.partial;
            g.named += st.named;
            g.duplicates += st.duplicates;
            g.out_of_range += st.out_of_range;
            g.unparsed += st.unparsed;
        }
        self.caches.set_last(q.user, generated);
        Ok(())
    }

    fn prepare(&self, queries: &[UserQuery], items: &[&[u32]]) -> Result<(), MethodError> {
        let (cat, dec) = match (&self.cat, &self.dec) {
            (Some(c), Some(d)) => (c, d),
            _ => return Err(MethodError::NotFitted { method: ID.into() }),
        };
        check_queries(ID, queries, cat.n_users, cat.n_items())?;
        let k = self.p.shuffles.max(1);
        let mut keys = Vec::new();
        let mut all = Vec::new();
        for (q, its) in queries.iter().zip(items) {
            if its.is_empty() {
                continue;
            }
            check_items(ID, its, cat.n_items())?;
            let (_, prompts, _) = self.prompts(cat, dec, q, its)?;
            keys.push((q.user, q.history.to_vec(), its.to_vec()));
            all.extend(prompts);
        }
        let outs = dec
            .greedy_batch(&all, self.p.max_new_tokens, &[], BATCH)
            .map_err(|e| data_err(ID, e))?;
        let mut g = self.pregen.lock().unwrap_or_else(|p| p.into_inner());
        g.clear();
        for (key, chunk) in keys.into_iter().zip(outs.chunks(k)) {
            g.insert(key, chunk.to_vec());
        }
        Ok(())
    }

    fn n_parameters(&self) -> u64 {
        0
    }

    fn lm_tokens(&self) -> u64 {
        self.meter.get()
    }

    fn provenance(&self) -> Provenance {
        provenance(&[&TEMPLATE], false)
    }

    fn generated(&self, user: u32) -> Option<Vec<Option<u32>>> {
        self.caches.last(user)
    }
}

impl LlmRank {
    /// One user's rankings decoded without a batch: the user part of the prompt (system +
    /// history) is run once per user and its KV cache kept across views, then each shuffle's
    /// candidate list is fed after it and decoded greedily.
    fn decode_one(
        &self,
        dec: &Decoder,
        q: &UserQuery,
        prompts: &[Vec<u32>],
        history: &str,
    ) -> Result<Vec<Output>, MethodError> {
        // The user part of the prompt (system + history, up to the candidate list) is the
        // same in every view of this user: it is run once and its KV cache kept, keyed by its
        // token ids (the prompt rendered without candidates, cut where the real prompts part).
        let min_len = prompts.iter().map(Vec::len).min().unwrap_or(0);
        let lcp = common_prefix_len(prompts).min(min_len.saturating_sub(1));
        let bare = TEMPLATE
            .render(&[("history", history), ("candidates", "")])
            .map_err(|e| data_err(ID, e))?;
        let bare = dec.encode(&bare).map_err(|e| data_err(ID, e))?;
        let user_len = lcp.min(bare.iter().zip(&prompts[0]).take_while(|(a, b)| a == b).count());
        let user_part = &prompts[0][..user_len];
        let key = UserQuery { user: q.user, history: user_part };
        let mut base = match self.prefixes.get(&key) {
            Some(c) => (*c).clone(),
            None => {
                let mut c = dec.model.new_cache();
                if user_len > 0 {
                    let _ = dec.feed(user_part, &mut c);
                }
                if self.prefixes.len() >= crate::constrained::PREFIX_CACHE {
                    self.prefixes.clear();
                }
                self.prefixes.insert(&key, c.clone());
                c
            }
        };
        // Then the part all shuffles share (usually the first tokens of the list), once.
        if lcp > user_len {
            let _ = dec.feed(&prompts[0][user_len..lcp], &mut base);
        }
        let mut outputs = Vec::with_capacity(prompts.len());
        for ids in prompts {
            let mut cache = base.clone();
            let lp = dec.feed(&ids[lcp..], &mut cache);
            let hyps = dec.beam_search_from(cache, lp, 1, self.p.max_new_tokens, &[], None, false);
            outputs.push(match hyps.into_iter().next() {
                Some(h) => (h.tokens, h.finished),
                None => (Vec::new(), true),
            });
        }
        Ok(outputs)
    }
}

/// Registry constructor.
pub fn build(v: &serde_json::Value) -> Result<Box<dyn Method>, ParamsError> {
    let p: LlmRankParams = parse_params(ID, v)?;
    Ok(Box::new(LlmRank {
        p,
        seed: Seed(0),
        cat: None,
        dec: None,
        meter: Arc::default(),
        caches: Caches::default(),
        prefixes: Caches::default(),
        pregen: Mutex::default(),
        stats: Mutex::default(),
    }))
}

/// Smoke params: two shuffles, short outputs.
pub fn smoke() -> serde_json::Value {
    serde_json::json!({ "shuffles": 2, "max_new_tokens": 12, "history_items": 4 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{query, train};

    #[test]
    fn ranks_candidates_deterministically_with_parse_accounting() {
        let train = train();
        let p = LlmRankParams {
            shuffles: 2,
            max_new_tokens: 12,
            history_items: 4,
            fallback: Fallback::Presented,
        };
        let mk = || {
            let mut m = match build(&serde_json::to_value(&p).unwrap()) {
                Ok(m) => m,
                Err(e) => panic!("{e}"),
            };
            m.fit(&train, &mut FitContext::new(Seed(3))).unwrap();
            m
        };
        let (a, b) = (mk(), mk());
        let items = [2u32, 8, 5, 11, 0];
        let q = query(&train, 1);
        let (mut x, mut y) = ([f32::NAN; 5], [f32::NAN; 5]);
        a.score_items(&q, &items, &mut x).unwrap();
        b.score_items(&q, &items, &mut y).unwrap();
        assert_eq!(x.map(f32::to_bits), y.map(f32::to_bits), "same seed, same scores");
        // Borda points of full permutations averaged over shuffles: they sum to n(n+1)/2.
        let total: f32 = x.iter().sum();
        assert!((total - 15.0).abs() < 1e-4, "{x:?}");
        assert!(x.iter().all(|s| s.is_finite() && (1.0..=5.0).contains(s)));
        let g = a.generated(1).unwrap();
        assert!(g.iter().all(|o| o.is_none_or(|i| items.contains(&i))), "{g:?}");
        assert!(a.score_full(&[q], &mut [0f32; 12]).is_err(), "no full ranking");
        assert!(a.lm_tokens() > 0);
        // Seeded orders are permutations and differ between shuffles / users.
        let r = LlmRank {
            p: p.clone(),
            seed: Seed(3),
            cat: None,
            dec: None,
            meter: Arc::default(),
            caches: Caches::default(),
            prefixes: Caches::default(),
            pregen: Mutex::default(),
            stats: Mutex::default(),
        };
        let mut o = r.order(1, 0, 20);
        assert_ne!(o, r.order(1, 1, 20));
        assert_ne!(o, r.order(2, 0, 20));
        o.sort();
        assert_eq!(o, (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn batched_pass_gives_the_one_user_rankings() {
        let train = train();
        let p = LlmRankParams {
            shuffles: 2,
            max_new_tokens: 10,
            history_items: 3,
            ..Default::default()
        };
        let mut m = build(&serde_json::to_value(&p).unwrap()).unwrap();
        m.fit(&train, &mut FitContext::new(Seed(5))).unwrap();
        let users = [1u32, 2, 3];
        let lists: Vec<Vec<u32>> = vec![vec![2, 8, 5, 11], vec![0, 4, 9], vec![7, 3, 10, 6, 1]];
        let qs: Vec<UserQuery> = users.iter().map(|&u| query(&train, u)).collect();
        // One user at a time (no announcement).
        let mut one = Vec::new();
        for (q, l) in qs.iter().zip(&lists) {
            let mut s = vec![0f32; l.len()];
            m.score_items(q, l, &mut s).unwrap();
            one.push((s, m.generated(q.user)));
        }
        let before = m.lm_tokens();
        // The same calls announced as one pass: decoded in a batch, then parsed.
        let refs: Vec<&[u32]> = lists.iter().map(Vec::as_slice).collect();
        m.prepare(&qs, &refs).unwrap();
        let batched_tokens = m.lm_tokens() - before;
        assert!(batched_tokens > 0, "the batch is metered");
        for ((q, l), (s1, g1)) in qs.iter().zip(&lists).zip(&one) {
            let mut s = vec![0f32; l.len()];
            m.score_items(q, l, &mut s).unwrap();
            assert_eq!(&s, s1, "user {}", q.user);
            assert_eq!(&m.generated(q.user), g1, "user {}", q.user);
        }
        assert_eq!(m.lm_tokens() - before, batched_tokens, "scoring after prepare decodes nothing");
    }
}
