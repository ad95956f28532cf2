//! Decoding and tuning helpers shared by the generators of this crate, on top of
//! `quadrec_lm::Llama` (SmolLM2-135M-Instruct through `quadrec_lmrec`'s shared handle).
//!
//! - [`Decoder`]: a (possibly LoRA-tuned) copy of the model plus its tokenizer and a token meter;
//!   prefill with a KV cache, beam search (greedy = one beam) over the free vocabulary or
//!   constrained by a [`TitleTrie`], next-token logits of many prompts that share a token prefix
//!   (the prefix is run once; the suffixes are packed into one masked sequence).
//! - [`sft`]: supervised LoRA fine-tuning on `(prompt, target)` token pairs (loss on the target
//!   tokens only), with a per-step callback for validation probing.
//!
//! Everything runs on the device of `quadrec_lmrec::handles::device()` (`BURN_DEVICE`); tuning
//! runs on its autodiff decorator. LoRA dropout is 0 by default because Burn's dropout RNG is
//! process-global (seeded runs would not be reproducible when tests or cells run in parallel).

use crate::trie::TitleTrie;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Tensor, TensorData};
use quadrec_core::Seed;
use quadrec_lm::{BpeTokenizer, KvCache, Llama, LoraConfig};
use quadrec_lmrec::TokenMeter;
use rand::RngExt;
use std::sync::Arc;

/// Host copy of a float tensor.
pub(crate) fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32 tensor data")
}

/// Natural-log softmax of one logit row, on the host (f64 accumulation).
pub fn log_softmax_host(logits: &[f32]) -> Vec<f32> {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let z: f64 = logits.iter().map(|&x| ((x - m) as f64).exp()).sum();
    let lz = m as f64 + z.ln();
    logits.iter().map(|&x| (x as f64 - lz) as f32).collect()
}

/// Length of the longest common prefix of all `seqs`.
pub fn common_prefix_len(seqs: &[Vec<u32>]) -> usize {
    let Some(first) = seqs.first() else { return 0 };
    let mut n = first.len();
    for s in &seqs[1..] {
        n = n.min(s.iter().zip(first).take_while(|(a, b)| a == b).count());
    }
    n
}

/// One finished (or truncated) beam.
#[derive(Clone, Debug, PartialEq)]
pub struct Hypothesis {
    /// Generated ids (the stop token included when the beam stopped on one).
    pub tokens: Vec<u32>,
    /// Sum of the token log-probabilities.
    pub logprob: f64,
    /// Whether the beam ended on a stop token (free decoding) or a complete title (trie).
    pub finished: bool,
    /// Items of the trie leaf reached (constrained decoding only).
    pub items: Vec<u32>,
}

impl Hypothesis {
    /// Ranking score: sum of log-probs, or the mean per token with `length_norm`.
    pub fn score(&self, length_norm: bool) -> f64 {
        if length_norm { self.logprob / self.tokens.len().max(1) as f64 } else { self.logprob }
    }
}

/// A model copy with its tokenizer, ready to decode.
#[derive(Clone)]
pub struct Decoder {
    /// The decoder (base or base + LoRA), on the inference device.
    pub model: Llama,
    /// Tokenizer of the shared model.
    pub tokenizer: BpeTokenizer,
    /// `<|im_end|>`: ends an assistant answer.
    pub im_end: u32,
    /// Tokens pushed through the model by this copy (shared with the owning method).
    pub meter: Arc<TokenMeter>,
}

/// A decoding failure (tokenizer or model input), as text.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

impl Decoder {
    /// Wrap a model; `<|im_end|>` must exist in the tokenizer.
    pub fn new(
        model: Llama,
        tokenizer: BpeTokenizer,
        meter: Arc<TokenMeter>,
    ) -> Result<Self, DecodeError> {
        let im_end = tokenizer
            .token_to_id("<|im_end|>")
            .ok_or_else(|| DecodeError("tokenizer has no <|im_end|> token".into()))?;
        Ok(Decoder { model, tokenizer, im_end, meter })
    }

    /// Token ids of `text` (ChatML control tokens recognised).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, DecodeError> {
        self.tokenizer.encode(text).map_err(|e| DecodeError(e.to_string()))
    }

    /// Text of `ids` without special tokens.
    pub fn decode(&self, ids: &[u32]) -> Result<String, DecodeError> {
        self.tokenizer.decode(ids, true).map_err(|e| DecodeError(e.to_string()))
    }

    /// Run `ids` after `cache` (extending it); returns the log-probs of the next token.
    pub fn feed(&self, ids: &[u32], cache: &mut KvCache) -> Vec<f32> {
        self.meter.add(ids.len());
        let past = cache.len();
        let pos = vec![(past..past + ids.len()).collect::<Vec<_>>()];
        let h = self.model.hidden_states(ids, 1, &pos, None, Some(cache)); // [1, T, d]
        // The tied head on the last position only (the vocabulary is 49k: running it on every
        // prompt position would add about a quarter to the prefill).
        let t = h.dims()[1];
        log_softmax_host(&host(self.model.head(h.narrow(1, t - 1, 1))))
    }

    /// A prompt run into a fresh cache: the cache and the next-token log-probs.
    pub fn prefill(&self, prompt: &[u32]) -> Result<(KvCache, Vec<f32>), DecodeError> {
        if prompt.is_empty() {
            return Err(DecodeError("prefill: empty prompt".into()));
        }
        let mut cache = self.model.new_cache();
        let lp = self.feed(prompt, &mut cache);
        Ok((cache, lp))
    }

    /// Greedy decoding of many prompts together (`quadrec_lm::Llama::generate_greedy_batch`:
    /// one forward per step for the whole batch, each row equal to decoding it alone), in
    /// chunks of `batch` prompts. A row's output is cut after its first `<|im_end|>` or `stop`
    /// token (kept, as in [`Decoder::beam_search`]); `finished` says whether it stopped so,
    /// rather than at `max_new`. Rows go on past a `stop` token only while another row of the
    /// chunk is still running (those tokens are computed and metered, then dropped).
    pub fn greedy_batch(
        &self,
        prompts: &[Vec<u32>],
        max_new: usize,
        stop: &[u32],
        batch: usize,
    ) -> Result<Vec<(Vec<u32>, bool)>, DecodeError> {
        let mut out = Vec::with_capacity(prompts.len());
        for chunk in prompts.chunks(batch.max(1)) {
            let rows = self
                .model
                .generate_greedy_batch(chunk, max_new, Some(self.im_end))
                .map_err(|e| DecodeError(e.to_string()))?;
            for (p, mut g) in chunk.iter().zip(rows) {
                self.meter.add(p.len() + g.len());
                let end = g.iter().position(|t| *t == self.im_end || stop.contains(t));
                if let Some(e) = end {
                    g.truncate(e + 1);
                }
                out.push((g, end.is_some()));
            }
        }
        Ok(out)
    }

    /// Log-probability of each continuation after a prefilled prefix (`cache`, whose
    /// next-token log-probs are `first`): the continuations are packed into one masked
    /// sequence per `chunk` exactly as `quadrec_lm::Llama::score_continuations` does, but the
    /// prefix is not run again, so one prompt's cache serves several candidate lists.
    pub fn score_after(
        &self,
        cache: &KvCache,
        first: &[f32],
        conts: &[Vec<u32>],
        chunk: usize,
    ) -> Result<Vec<f64>, DecodeError> {
        if let Some(i) = conts.iter().position(|c| c.is_empty()) {
            return Err(DecodeError(format!("score_after: continuation {i} is empty")));
        }
        let p = cache.len();
        let device = self.model.device();
        let mut out = Vec::with_capacity(conts.len());
        for group in conts.chunks(chunk.max(1)) {
            // Candidate c contributes c[0..len-1]; `owner[i]` = packed index where token i's
            // candidate starts (it sees the prefix and its own earlier tokens only).
            let (mut ids, mut pos, mut tgt, mut owner) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for c in group {
                let start = ids.len();
                for j in 0..c.len() - 1 {
                    ids.push(c[j]);
                    pos.push(p + j);
                    tgt.push(c[j + 1] as i64);
                    owner.push(start);
                }
            }
            let t = ids.len();
            let mut scores: Vec<f64> = group.iter().map(|c| first[c[0] as usize] as f64).collect();
            if t > 0 {
                self.meter.add(t);
                let mut mask = Vec::with_capacity(t * (p + t));
                for i in 0..t {
                    mask.extend(std::iter::repeat_n(false, p));
                    mask.extend((0..t).map(|j| j < owner[i] || j > i));
                }
                let mut c = cache.clone();
                let h = self.model.hidden_states(&ids, 1, &[pos], Some(&mask), Some(&mut c)); // [1, t, d]
                let lp = burn::tensor::activation::log_softmax(self.model.head(h), 2); // [1, t, V]
                let tg = Tensor::<3, burn::tensor::Int>::from_data(
                    TensorData::new(tgt, [1, t, 1]),
                    &device,
                );
                let picked = host(lp.gather(2, tg));
                let mut k = 0;
                for (ci, c) in group.iter().enumerate() {
                    for _ in 1..c.len() {
                        scores[ci] += picked[k] as f64;
                        k += 1;
                    }
                }
            }
            out.extend(scores);
        }
        Ok(out)
    }

    /// Beam search after `prompt` with `beams` beams (1 = greedy), at most `max_new` tokens.
    ///
    /// Free decoding (`trie = None`): each beam extends by its `beams` most likely tokens; a
    /// beam finishes on `<|im_end|>` or a newline token in `stop`. Constrained decoding: each
    /// beam extends only by the trie's allowed tokens and finishes when it completes a title.
    /// Returns up to `beams` hypotheses, best first by [`Hypothesis::score`]; finished beams
    /// come before truncated ones.
    pub fn beam_search(
        &self,
        prompt: &[u32],
        beams: usize,
        max_new: usize,
        stop: &[u32],
        trie: Option<&TitleTrie>,
        length_norm: bool,
    ) -> Result<Vec<Hypothesis>, DecodeError> {
        if prompt.is_empty() {
            return Err(DecodeError("beam_search: empty prompt".into()));
        }
        let mut cache = self.model.new_cache();
        let lp = self.feed(prompt, &mut cache);
        Ok(self.beam_search_from(cache, lp, beams, max_new, stop, trie, length_norm))
    }

    /// [`Decoder::beam_search`] after a prompt already run into `cache`, whose next-token
    /// log-probs are `lp` (lets callers share a prompt prefix between several searches).
    #[allow(clippy::too_many_arguments)]
    pub fn beam_search_from(
        &self,
        cache: KvCache,
        lp: Vec<f32>,
        beams: usize,
        max_new: usize,
        stop: &[u32],
        trie: Option<&TitleTrie>,
        length_norm: bool,
    ) -> Vec<Hypothesis> {
        let beams = beams.max(1);
        struct Live {
            tokens: Vec<u32>,
            logprob: f64,
            cache: KvCache,
            lp: Vec<f32>,
            node: usize,
        }
        let mut live = vec![Live { tokens: vec![], logprob: 0.0, cache, lp, node: 0 }];
        let mut done: Vec<Hypothesis> = Vec::new();
        for _ in 0..max_new {
            // (score, beam, token, logprob)
            let mut cand: Vec<(f64, usize, u32, f64)> = Vec::new();
            for (b, l) in live.iter().enumerate() {
                let len = l.tokens.len() + 1;
                let sc = |lp: f64| if length_norm { lp / len as f64 } else { lp };
                match trie {
                    Some(t) => {
                        for tok in t.allowed(l.node) {
                            let lp = l.logprob + l.lp[tok as usize] as f64;
                            cand.push((sc(lp), b, tok, lp));
                        }
                    }
                    None => {
                        for tok in top_k(&l.lp, beams) {
                            let lp = l.logprob + l.lp[tok as usize] as f64;
                            cand.push((sc(lp), b, tok, lp));
                        }
                    }
                }
            }
            // Best first; ties by (beam, token) so the order never depends on float noise.
            cand.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            let mut next = Vec::new();
            for (_, b, tok, lp) in cand {
                if next.len() >= beams {
                    break;
                }
                let l = &live[b];
                let mut tokens = l.tokens.clone();
                tokens.push(tok);
                match trie {
                    Some(t) => {
                        let node = t.step(l.node, tok).expect("allowed token has a child");
                        let items = t.items_at(node);
                        if !items.is_empty() {
                            done.push(Hypothesis {
                                tokens,
                                logprob: lp,
                                finished: true,
                                items: items.to_vec(),
                            });
                            continue;
                        }
                        next.push((tokens, lp, b, node));
                    }
                    None => {
                        if tok == self.im_end || stop.contains(&tok) {
                            done.push(Hypothesis {
                                tokens,
                                logprob: lp,
                                finished: true,
                                items: vec![],
                            });
                            continue;
                        }
                        next.push((tokens, lp, b, 0));
                    }
                }
            }
            if done.len() >= beams || next.is_empty() {
                live.clear();
                break;
            }
            let mut new_live = Vec::with_capacity(next.len());
            for (tokens, logprob, b, node) in next {
                let mut cache = live[b].cache.clone();
                let lp = self.feed(&[*tokens.last().expect("non-empty")], &mut cache);
                new_live.push(Live { tokens, logprob, cache, lp, node });
            }
            live = new_live;
        }
        for l in live {
            // Truncated by max_new: kept (free decoding) so the caller can still ground them.
            if trie.is_none() {
                done.push(Hypothesis {
                    tokens: l.tokens,
                    logprob: l.logprob,
                    finished: false,
                    items: vec![],
                });
            }
        }
        done.sort_by(|a, b| {
            b.finished
                .cmp(&a.finished)
                .then(b.score(length_norm).total_cmp(&a.score(length_norm)))
                .then(a.tokens.cmp(&b.tokens))
        });
        done.truncate(beams);
        done
    }

    /// Next-token logits (raw) at the end of each prompt, for prompts that share a long token
    /// prefix: the longest common prefix is run once and cached, and the remaining suffixes are
    /// packed into one sequence after it with a block mask (each suffix sees the prefix and its
    /// own earlier tokens; RoPE positions restart at the prefix length). Only the logits of
    /// `pick` token ids are returned, `[prompts.len()][pick.len()]`.
    pub fn shared_prefix_logits(
        &self,
        prompts: &[Vec<u32>],
        pick: &[u32],
        chunk: usize,
    ) -> Result<Vec<Vec<f32>>, DecodeError> {
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        let min_len = prompts.iter().map(|p| p.len()).min().unwrap_or(0);
        if min_len < 2 {
            return Err(DecodeError("shared_prefix_logits: prompts need >= 2 tokens".into()));
        }
        // Every suffix keeps at least one token (its last position gives the logits).
        let p = common_prefix_len(prompts).min(min_len - 1);
        let mut cache = self.model.new_cache();
        self.meter.add(p);
        let _ = self.model.hidden_states(
            &prompts[0][..p],
            1,
            &[(0..p).collect()],
            None,
            Some(&mut cache),
        );
        let device = self.model.device();
        let mut out = Vec::with_capacity(prompts.len());
        for group in prompts.chunks(chunk.max(1)) {
            let (mut ids, mut pos, mut owner, mut last) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for s in group {
                let start = ids.len();
                for (j, &tok) in s[p..].iter().enumerate() {
                    ids.push(tok);
                    pos.push(p + j);
                    owner.push(start);
                }
                last.push(ids.len() - 1);
            }
            let t = ids.len();
            self.meter.add(t);
            let mut mask = Vec::with_capacity(t * (p + t));
            for i in 0..t {
                mask.extend(std::iter::repeat_n(false, p));
                mask.extend((0..t).map(|j| j < owner[i] || j > i));
            }
            let mut c = cache.clone();
            let h = self.model.hidden_states(&ids, 1, &[pos], Some(&mask), Some(&mut c)); // [1, t, d]
            let idx = burn::tensor::Tensor::<1, burn::tensor::Int>::from_data(
                TensorData::new(last.iter().map(|&x| x as i64).collect::<Vec<_>>(), [last.len()]),
                &device,
            );
            let d = self.model.config.hidden;
            let h = h.reshape([t, d]).select(0, idx); // [group, d]
            let logits = host(self.model.head(h)); // [group, V]
            let v = self.model.config.vocab_size;
            for row in logits.chunks(v) {
                out.push(pick.iter().map(|&k| row[k as usize]).collect());
            }
        }
        Ok(out)
    }
}

/// Indices of the `k` largest values (ties: lower index first).
pub fn top_k(v: &[f32], k: usize) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..v.len() as u32).collect();
    let k = k.min(v.len());
    if k == 0 {
        return Vec::new();
    }
    idx.select_nth_unstable_by(k - 1, |&a, &b| {
        v[b as usize].total_cmp(&v[a as usize]).then(a.cmp(&b))
    });
    idx.truncate(k);
    idx.sort_by(|&a, &b| v[b as usize].total_cmp(&v[a as usize]).then(a.cmp(&b)));
    idx
}

/// Supervised fine-tuning budget and optimiser settings (a params sub-table).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SftParams {
    /// Optimiser steps.
    pub steps: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// LoRA rank.
    pub lora_rank: usize,
    /// LoRA alpha (update scaled by alpha / rank).
    pub lora_alpha: f64,
    /// Probe the validation view every this many steps (0 = never; the last state is kept).
    pub probe_every: usize,
}

impl Default for SftParams {
    fn default() -> Self {
        // BIGRec / TALLRec use LoRA r = 8, alpha = 16, lr 1e-4..3e-4 for a few epochs on
        // thousands of examples; this default is a CPU budget, recorded with every cell.
        SftParams {
            steps: 64,
            batch_size: 4,
            learning_rate: 3e-4,
            lora_rank: 8,
            lora_alpha: 16.0,
            probe_every: 32,
        }
    }
}

/// One training example: prompt ids and target ids (the loss covers the target only).
pub type Example = (Vec<u32>, Vec<u32>);

/// LoRA fine-tuning of a fresh copy of SmolLM2 (loaded on the autodiff device). `examples` are drawn with replacement from the seed
/// tree each step. With `probe_every > 0`, after each step whose 1-based number is a multiple
/// of `probe_every` and after the last step, `on_probe(step, inference copy)` is called; it returns the validation
/// value (`None` = not probed) and the state with the best value is returned (the last state
/// when nothing was probed). Returns (model, per-step losses, best step, best value).
pub fn sft(
    examples: &[Example],
    p: &SftParams,
    seed: Seed,
    meter: &TokenMeter,
    mut on_probe: impl FnMut(usize, &Llama) -> Option<f64>,
) -> Result<(Llama, Vec<f64>, usize, Option<f64>), DecodeError> {
    if examples.is_empty() {
        return Err(DecodeError("sft: no training examples".into()));
    }
    let kind =
        quadrec_models::device::backend_from_env().map_err(|e| DecodeError(e.to_string()))?;
    let dev = quadrec_models::device::train_device(kind);
    // A fresh load on the autodiff device: a copy of the shared inference model moved there
    // would leave its parameters untracked. The shared copy is never mutated.
    let (mut m, _) = quadrec_lm::load_smollm2(&dev).map_err(|e| DecodeError(e.to_string()))?;
    let cfg = LoraConfig {
        rank: p.lora_rank,
        alpha: p.lora_alpha,
        dropout: 0.0,
        ..LoraConfig::default()
    };
    m.attach_lora(&cfg, seed.child("lora"));
    let mut optim = AdamConfig::new().init();
    let mut rng = seed.child("batches").rng();
    let mut losses = Vec::with_capacity(p.steps);
    let mut best: Option<(usize, f64, Llama)> = None;
    let mut last_valid: Option<Llama> = None;
    for step in 1..=p.steps {
        let rows: Vec<&Example> = (0..p.batch_size.max(1))
            .map(|_| &examples[rng.random_range(0..examples.len())])
            .collect();
        // Right-padded [B, T]: inputs x[0..L-1], targets x[1..L], weight 1 on target tokens.
        let t = rows.iter().map(|(a, b)| a.len() + b.len() - 1).max().unwrap_or(1);
        let (mut inp, mut tgt, mut w) = (Vec::new(), Vec::new(), Vec::new());
        for (pr, ta) in &rows {
            let seq: Vec<u32> = pr.iter().chain(ta.iter()).copied().collect();
            let l = seq.len() - 1;
            meter.add(seq.len());
            for j in 0..t {
                if j < l {
                    inp.push(seq[j]);
                    tgt.push(seq[j + 1]);
                    w.push(if j + 1 >= pr.len() { 1.0 } else { 0.0 });
                } else {
                    inp.push(0);
                    tgt.push(0);
                    w.push(0.0);
                }
            }
        }
        let loss = m.lm_loss(&inp, &tgt, &w, rows.len());
        let lv = host(loss.clone())[0] as f64;
        if !lv.is_finite() {
            return Err(DecodeError(format!("sft: non-finite loss {lv} at step {step}")));
        }
        losses.push(lv);
        let grads = GradientsParams::from_grads(loss.backward(), &m);
        m = optim.step(p.learning_rate, m, grads);
        // probe_every = 0: never probed, the last state is kept (one probe of the only state
        // would select nothing and cost a validation pass).
        if p.probe_every > 0 && (step % p.probe_every == 0 || step == p.steps) {
            let inf = m.valid();
            if let Some(v) = on_probe(step, &inf)
                && best.as_ref().is_none_or(|(_, b, _)| v > *b)
            {
                best = Some((step, v, inf.clone()));
            }
            last_valid = Some(inf);
        }
    }
    let last = last_valid.unwrap_or_else(|| m.valid());
    Ok(match best {
        Some((s, v, model)) => (model, losses, s, Some(v)),
        None => (last, losses, p.steps, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The BIGRec prompts of the tiny users, and a decoder on the shared model.
    fn prompts_and_decoder() -> (Vec<Vec<u32>>, Decoder) {
        let dec = crate::common::decoder("test", None, Arc::default()).unwrap();
        let train = crate::testdata::train();
        let cat = crate::common::Catalogue::new(&train);
        let prompts = [0u32, 3, 4]
            .into_iter()
            .map(|u| {
                let h = cat.history(train.user_items(u), 4);
                let text = crate::bigrec::TEMPLATE.render(&[("history", &h)]).unwrap();
                dec.encode(&text).unwrap()
            })
            .collect();
        (prompts, dec)
    }

    #[test]
    fn batched_greedy_equals_one_prompt_greedy_search() {
        let (prompts, dec) = prompts_and_decoder();
        let newline = dec.encode("\n").unwrap();
        // Chunks of 2: one full chunk and one of 1, prompts of different lengths.
        let batched = dec.greedy_batch(&prompts, 6, &newline, 2).unwrap();
        assert_eq!(batched.len(), prompts.len());
        for (p, (toks, finished)) in prompts.iter().zip(&batched) {
            let one = dec.beam_search(p, 1, 6, &newline, None, false).unwrap();
            assert_eq!(&one[0].tokens, toks, "{:?}", dec.decode(toks));
            assert_eq!(one[0].finished, *finished);
        }
    }

    #[test]
    fn prefix_state_scores_equal_packed_continuation_scores() {
        let (prompts, dec) = prompts_and_decoder();
        let conts: Vec<Vec<u32>> = ["Heat (1995)", "Toy Story (1995)", "Fargo"]
            .iter()
            .map(|t| dec.encode(t).unwrap())
            .collect();
        let p = &prompts[2];
        let (cache, first) = dec.prefill(p).unwrap();
        // The last-position head of `feed` equals the full forward's last row.
        let full = dec.model.forward(p, &mut dec.model.new_cache());
        let t = full.dims()[1];
        let want = log_softmax_host(&host(full.narrow(1, t - 1, 1)));
        assert!(want.iter().zip(&first).all(|(a, b)| (a - b).abs() < 1e-4));
        let got = dec.score_after(&cache, &first, &conts, 2).unwrap();
        let reference = dec.model.score_continuations(p, &conts, 32).unwrap();
        for (g, r) in got.iter().zip(&reference) {
            assert!((g - r.logprob).abs() < 1e-3, "{g} vs {}", r.logprob);
        }
        // The cache is reused, not consumed: a second list scores the same way.
        assert_eq!(dec.score_after(&cache, &first, &conts, 32).unwrap().len(), 3);
    }

    #[test]
    fn top_k_and_prefix_helpers() {
        assert_eq!(top_k(&[0.1, 0.5, 0.5, -1.0], 2), vec![1, 2]);
        assert_eq!(top_k(&[0.1], 3), vec![0]);
        assert_eq!(common_prefix_len(&[vec![1, 2, 3], vec![1, 2, 4], vec![1, 2]]), 2);
        let l = log_softmax_host(&[0.0, 0.0]);
        assert!((l[0] - (0.5f32).ln()).abs() < 1e-6);
    }
}
