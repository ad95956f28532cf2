//! Yes/No re-ranker on SmolLM2-135M-Instruct with one shared prefix per query.
//!
//! A query (a user's history, a conversational request, or both) is rendered once as the
//! prefix of a ChatML conversation; every candidate item contributes a short suffix (its line,
//! the question and the assistant tag). The prefix is run once and its KV cache is read by all
//! candidates, which are packed into ONE masked sequence (positions restart after the prefix for
//! each candidate; a block mask lets a candidate token see the prefix and earlier tokens of its
//! own candidate only): the same packing as `Llama::score_continuations`, but reading the FULL
//! next-token distribution at the end of each candidate, so P(Yes) and P(No) come out of one
//! pass (no second continuation per label).
//!
//! Score = P(Yes) / (P(Yes) + P(No)), a probability in (0, 1); the mass outside the two label
//! tokens is kept as a diagnostic (PROTOCOL.md, "LLM-specific"). The label ids are read from the
//! tokenizer actually used and checked to be single tokens.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};
use quadrec_lm::{ChatMessage, apply_chat_template};
use quadrec_lmrec::{HandleError, Smollm2, TokenMeter};
use std::sync::Arc;

/// Candidates packed per forward pass (bounds the `[T, T_past + T]` mask and activations).
const CHUNK: usize = 10;

/// Errors of the Yes/No scorer.
#[derive(Debug, thiserror::Error)]
pub enum YesNoError {
    /// The shared model could not be loaded.
    #[error(transparent)]
    Load(#[from] HandleError),
    /// A label is not a single token of the tokenizer.
    #[error("label `{label}` is not a single SmolLM2 token (encodes to {ids:?})")]
    Label {
        /// The label text.
        label: &'static str,
        /// Its ids.
        ids: Vec<u32>,
    },
    /// Tokenisation failed.
    #[error("tokenising the {what}: {message}")]
    Tokenize {
        /// Which text.
        what: &'static str,
        /// The tokenizer's message.
        message: String,
    },
    /// Prompt too long for the model.
    #[error("prompt of {got} tokens exceeds the model's {max} positions")]
    TooLong {
        /// Tokens.
        got: usize,
        /// Limit.
        max: usize,
    },
}

/// Yes/No probability of one candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct YesNo {
    /// P(Yes) / (P(Yes) + P(No)).
    pub p_yes: f32,
    /// 1 - P(Yes) - P(No) under the full softmax (diagnostic).
    pub mass_outside: f32,
}

/// The scorer: shared frozen SmolLM2, label ids, token meter.
pub struct YesNoScorer {
    lm: Arc<Smollm2>,
    yes: u32,
    no: u32,
    /// Prompt tokens pushed through the model (prefix + packed candidate suffixes).
    pub meter: TokenMeter,
}

impl std::fmt::Debug for YesNoScorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YesNoScorer").field("yes", &self.yes).field("no", &self.no).finish()
    }
}

impl YesNoScorer {
    /// Load (or reuse) the shared SmolLM2 and resolve the label tokens.
    pub fn load() -> Result<Self, YesNoError> {
        let lm = quadrec_lmrec::smollm2()?;
        let one = |label: &'static str| -> Result<u32, YesNoError> {
            let ids = lm
                .tokenizer
                .encode(label)
                .map_err(|e| YesNoError::Tokenize { what: "label", message: e.to_string() })?;
            match ids.as_slice() {
                [id] => Ok(*id),
                _ => Err(YesNoError::Label { label, ids }),
            }
        };
        let (yes, no) = (one("Yes")?, one("No")?);
        Ok(YesNoScorer { lm, yes, no, meter: TokenMeter::default() })
    }

    /// sha256 of the pinned weights (provenance).
    pub fn weights_sha256(&self) -> &'static str {
        self.lm.weights_sha256
    }

    /// Token ids of the conversation prefix: system message + the user turn's opening text
    /// `user_open` (the candidate suffix continues the same user turn).
    fn prefix_ids(&self, system: &str, user_open: &str) -> Result<Vec<u32>, YesNoError> {
        let msgs = [ChatMessage::new("system", system), ChatMessage::new("user", "\u{0}")];
        let full = apply_chat_template(&msgs, false);
        // Cut the rendered template at the placeholder: everything before it is the prefix.
        let cut = full.find('\u{0}').expect("placeholder is rendered");
        let text = format!("{}{}", &full[..cut], user_open);
        self.lm
            .tokenizer
            .encode(&text)
            .map_err(|e| YesNoError::Tokenize { what: "prompt prefix", message: e.to_string() })
    }

    /// Token ids of one candidate's suffix: the rest of the user turn, its end, and the
    /// assistant tag (the next token is the answer).
    fn suffix_ids(&self, user_close: &str) -> Result<Vec<u32>, YesNoError> {
        let text = format!("{user_close}<|im_end|>\n<|im_start|>assistant\n");
        self.lm
            .tokenizer
            .encode(&text)
            .map_err(|e| YesNoError::Tokenize { what: "candidate suffix", message: e.to_string() })
    }

    /// P(Yes) for each candidate: the prompt is `system`, then one user turn made of
    /// `user_open` (shared) followed by `suffixes[c]` (per candidate).
    pub fn score(
        &self,
        system: &str,
        user_open: &str,
        suffixes: &[String],
    ) -> Result<Vec<YesNo>, YesNoError> {
        if suffixes.is_empty() {
            return Ok(Vec::new());
        }
        let model = &self.lm.model;
        let prefix = self.prefix_ids(system, user_open)?;
        let cands: Vec<Vec<u32>> =
            suffixes.iter().map(|s| self.suffix_ids(s)).collect::<Result<_, _>>()?;
        let p = prefix.len();
        let longest = cands.iter().map(Vec::len).max().unwrap_or(0);
        let max = model.config.max_position;
        if p + longest > max {
            return Err(YesNoError::TooLong { got: p + longest, max });
        }
        let mut cache = model.new_cache();
        model.hidden_states(&prefix, 1, &[(0..p).collect()], None, Some(&mut cache));
        self.meter.add(p);
        let device = model.device();
        let mut out = Vec::with_capacity(cands.len());
        for group in cands.chunks(CHUNK) {
            // Packed ids; `owner[i]` = packed index where token i's candidate starts; `last[c]`
            // = packed index of candidate c's last token (where the answer is predicted).
            let (mut ids, mut pos, mut owner, mut last) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for c in group {
                let start = ids.len();
                for (j, &id) in c.iter().enumerate() {
                    ids.push(id);
                    pos.push(p + j);
                    owner.push(start);
                }
                last.push((ids.len() - 1) as i64);
            }
            let t = ids.len();
            self.meter.add(t);
            let mut mask = Vec::with_capacity(t * (p + t));
            for i in 0..t {
                mask.extend(std::iter::repeat_n(false, p));
                mask.extend((0..t).map(|j| j < owner[i] || j > i));
            }
            let mut c = cache.clone();
            let h = model.hidden_states(&ids, 1, &[pos], Some(&mask), Some(&mut c)); // [1, t, d]
            let d = h.dims()[2];
            let n = last.len();
            let idx = Tensor::<1, Int>::from_data(TensorData::new(last, [n]), &device);
            let h_last = h.reshape([t, d]).select(0, idx); // [n, d]
            let lp = log_softmax(model.head(h_last), 1); // [n, V]
            let label_idx = Tensor::<1, Int>::from_data(
                TensorData::new(vec![self.yes as i64, self.no as i64], [2]),
                &device,
            );
            let picked = lp.select(1, label_idx); // [n, 2]
            let v: Vec<f32> = picked
                .to_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("f32 tensor data converts to Vec<f32>");
            for row in v.chunks(2) {
                let (ly, ln) = (row[0] as f64, row[1] as f64);
                let (py, pn) = (ly.exp(), ln.exp());
                // Normalise in log space so tiny masses do not underflow to 0/0.
                let p_yes = 1.0 / (1.0 + (ln - ly).exp());
                out.push(YesNo { p_yes: p_yes as f32, mass_outside: (1.0 - py - pn) as f32 });
            }
        }
        Ok(out)
    }
}
