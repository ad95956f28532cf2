//! Batched greedy generation with SmolLM2, cached on disk by prompt hash.
//!
//! KAR-style feature engineering writes one text per item and per user. Generation is greedy
//! (deterministic), so a text is a pure function of (weights, prompt, max new tokens): it is
//! stored under `<cache>/<sha256(weights sha, max_new, prompt)>.txt` and a rerun reads it back
//! without touching the LM (the count of LM calls says so, see the tests).
//!
//! Prompts that are not cached are decoded in length-sorted batches by
//! `Llama::generate_greedy_batch` (left padding, masked pads, per-row RoPE, one token per step
//! for the whole batch through the KV cache): a decode step of a batch of 16 costs little more
//! than one of a single sequence on the CPU, which is what makes the catalogue affordable. Each
//! row equals `Llama::generate_greedy` on its prompt alone up to float rounding of differently
//! shaped matmuls (tested here and in quadrec-lm); the cache makes the text of a given prompt
//! fixed once written.

use quadrec_core::hash::sha256_hex;
use quadrec_lmrec::{Smollm2, TokenMeter};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// Tokenizer problem on a prompt.
    #[error("tokenizing prompt {index}: {message}")]
    Tokenize {
        /// Prompt index in the request.
        index: usize,
        /// The tokenizer's message.
        message: String,
    },
    /// The language model refused a batch (e.g. an empty prompt).
    #[error("generating the batch starting at prompt {index}: {message}")]
    Lm {
        /// Index of the batch's first prompt in the request.
        index: usize,
        /// The model's message.
        message: String,
    },
    /// Reading or writing the cache.
    #[error("generation cache {path}: {source}")]
    Cache {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Prompt plus generated tokens do not fit the model's context.
    #[error("prompt {index}: {len} tokens + {max_new} new exceed the context of {max} positions")]
    TooLong {
        /// Prompt index.
        index: usize,
        /// Prompt tokens.
        len: usize,
        /// Requested new tokens.
        max_new: usize,
        /// Context size.
        max: usize,
    },
}

/// Cached greedy generator over the shared SmolLM2.
pub struct Generator {
    lm: Arc<Smollm2>,
    dir: PathBuf,
    /// LM tokens processed (prompt + generated) for uncached prompts.
    pub meter: TokenMeter,
    /// Prompts actually run through the LM (cache misses).
    pub lm_calls: AtomicU64,
    /// Prompts answered from the cache.
    pub cache_hits: AtomicU64,
}

/// Default cache folder: `cache_dir()/lmstages/generated`.
pub fn default_dir() -> PathBuf {
    quadrec_core::cache_dir().join("lmstages").join("generated")
}

impl Generator {
    /// A generator caching under `dir`.
    pub fn new(lm: Arc<Smollm2>, dir: &Path) -> Self {
        Generator {
            lm,
            dir: dir.to_path_buf(),
            meter: TokenMeter::default(),
            lm_calls: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
        }
    }

    fn key(&self, prompt: &str, max_new: usize) -> PathBuf {
        let k =
            sha256_hex(format!("{}\0{}\0{}", self.lm.weights_sha256, max_new, prompt).as_bytes());
        self.dir.join(&k[..2]).join(format!("{k}.txt"))
    }

    /// Greedy completions of `prompts` (full prompt text, chat markup included), at most
    /// `max_new` tokens each, stopping at `<|im_end|>`; special tokens removed, whitespace
    /// trimmed. Uncached prompts run in batches of `batch` (sorted by length).
    pub fn generate(
        &self,
        prompts: &[String],
        max_new: usize,
        batch: usize,
    ) -> Result<Vec<String>, GenError> {
        let mut out: Vec<Option<String>> = vec![None; prompts.len()];
        let mut todo = Vec::new();
        for (i, p) in prompts.iter().enumerate() {
            let path = self.key(p, max_new);
            match std::fs::read_to_string(&path) {
                Ok(s) => {
                    out[i] = Some(s);
                    self.cache_hits.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => todo.push(i),
                Err(source) => return Err(GenError::Cache { path, source }),
            }
        }
        let tok = &self.lm.tokenizer;
        let mut ids: Vec<(usize, Vec<u32>)> = Vec::with_capacity(todo.len());
        for &i in &todo {
            let t = tok
                .encode(&prompts[i])
                .map_err(|e| GenError::Tokenize { index: i, message: e.to_string() })?;
            let max = self.lm.model.config.max_position;
            if t.is_empty() || t.len() + max_new > max {
                return Err(GenError::TooLong { index: i, len: t.len(), max_new, max });
            }
            ids.push((i, t));
        }
        // Length-sorted batches waste the least padding; ties by index keep it deterministic.
        ids.sort_by_key(|(i, t)| (t.len(), *i));
        let eos = tok.eos_id;
        for chunk in ids.chunks(batch.max(1)) {
            let rows: Vec<Vec<u32>> = chunk.iter().map(|(_, t)| t.clone()).collect();
            let generated = self
                .lm
                .model
                .generate_greedy_batch(&rows, max_new, Some(eos))
                .map_err(|e| GenError::Lm { index: chunk[0].0, message: e.to_string() })?;
            for ((i, t), g) in chunk.iter().zip(generated) {
                self.meter.add(t.len() + g.len());
                self.lm_calls.fetch_add(1, Ordering::Relaxed);
                let text = tok
                    .decode(&g, true)
                    .map_err(|e| GenError::Tokenize { index: *i, message: e.to_string() })?
                    .trim()
                    .to_string();
                let path = self.key(&prompts[*i], max_new);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|source| GenError::Cache { path: path.clone(), source })?;
                }
                quadrec_core::fsx::write_atomic(&path, text.as_bytes())
                    .map_err(|source| GenError::Cache { path: path.clone(), source })?;
                out[*i] = Some(text);
            }
        }
        Ok(out.into_iter().map(|s| s.expect("every prompt answered")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(q: &str) -> String {
        quadrec_lm::apply_chat_template(&[quadrec_lm::ChatMessage::new("user", q)], true)
    }

    /// Batched decoding with padding gives the tokens of the reference single-sequence greedy
    /// decoder, and the disk cache answers a rerun with identical text without running the LM.
    #[test]
    fn batched_greedy_matches_reference_and_cache_skips_the_lm() {
        let lm = quadrec_lmrec::smollm2().expect("SmolLM2 asset");
        let prompts = vec![chat("Name a fruit."), chat("What colour is the sky on a clear day?")];
        let ids: Vec<Vec<u32>> = prompts.iter().map(|p| lm.tokenizer.encode(p).unwrap()).collect();
        assert_ne!(ids[0].len(), ids[1].len(), "the test needs padding");
        let eos = lm.tokenizer.eos_id;
        let batched = lm.model.generate_greedy_batch(&ids, 6, Some(eos)).unwrap();
        for (p, g) in ids.iter().zip(&batched) {
            assert_eq!(&lm.model.generate_greedy(p, 6, Some(eos)), g);
            assert!(!g.is_empty());
        }
        let dir = tempfile::tempdir().unwrap();
        let generator = Generator::new(lm.clone(), dir.path());
        let a = generator.generate(&prompts, 6, 2).unwrap();
        assert_eq!(generator.lm_calls.load(Ordering::Relaxed), 2);
        let tokens = generator.meter.get();
        assert!(tokens > 0);
        let b = generator.generate(&prompts, 6, 2).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            generator.lm_calls.load(Ordering::Relaxed),
            2,
            "a cached prompt ran the LM again"
        );
        assert_eq!(generator.cache_hits.load(Ordering::Relaxed), 2);
        assert_eq!(generator.meter.get(), tokens);
        // A fresh generator over the same folder (a rerun in a new process) also hits.
        let generator2 = Generator::new(lm.clone(), dir.path());
        assert_eq!(generator2.generate(&prompts, 6, 2).unwrap(), a);
        assert_eq!(generator2.lm_calls.load(Ordering::Relaxed), 0);
        // The text is the decoded greedy output.
        assert_eq!(a[0], lm.tokenizer.decode(&batched[0], true).unwrap().trim());
    }
}
