//! Byte-level BPE tokenizer rebuilt from GGUF metadata (`tokenizer.ggml.*`), plus the ChatML
//! chat template of SmolLM2.
//!
//! The GGUF stores the vocabulary (`tokens`), token types (`token_type`, 3 = control) and merges
//! (`merges`, `"a b"` strings). llama.cpp's pre-tokenizer type `smollm` splits every digit on its
//! own and then applies the GPT-2 byte-level regex, with no prefix space; the Hugging Face
//! `tokenizer.json` of SmolLM2 expresses the same as `Sequence[Digits(individual), ByteLevel]`.
//! We build exactly that JSON and hand it to the `tokenizers` crate, so the BPE merge loop is
//! the reference implementation's own. Control tokens (17 in SmolLM2: `<|endoftext|>`,
//! `<|im_start|>`, `<|im_end|>`, ...) become special added tokens, matched before BPE.

use std::str::FromStr;

use tokenizers::Tokenizer;

use crate::gguf::{GgufError, GgufFile};

/// Errors of tokenizer construction and use.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// Metadata missing or malformed in the GGUF file.
    #[error(transparent)]
    Gguf(#[from] GgufError),
    /// The metadata describes a tokenizer we do not reproduce.
    #[error("{path}: {msg}")]
    Unsupported {
        /// File concerned.
        path: String,
        /// What is not supported.
        msg: String,
    },
    /// An error from the `tokenizers` crate.
    #[error("tokenizer: {0}")]
    Tokenizers(String),
}

/// The chat template of SmolLM2-Instruct as stored in its GGUF (`tokenizer.chat_template`).
/// [`BpeTokenizer::from_gguf`] refuses any other template rather than silently formatting
/// prompts differently from the model's training format.
pub const SMOLLM2_CHAT_TEMPLATE: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// Default system prompt the template inserts when the first message is not a system message.
pub const SMOLLM2_DEFAULT_SYSTEM: &str =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// Message text.
    pub content: String,
}

impl ChatMessage {
    /// A message with the given role.
    pub fn new(role: &str, content: &str) -> Self {
        Self { role: role.to_string(), content: content.to_string() }
    }
}

/// Render messages with the ChatML template of SmolLM2 (same output as the Jinja template in
/// [`SMOLLM2_CHAT_TEMPLATE`]); `add_generation_prompt` appends `<|im_start|>assistant\n`.
pub fn apply_chat_template(messages: &[ChatMessage], add_generation_prompt: bool) -> String {
    let mut s = String::new();
    if messages.first().is_some_and(|m| m.role != "system") {
        s.push_str("<|im_start|>system\n");
        s.push_str(SMOLLM2_DEFAULT_SYSTEM);
        s.push_str("<|im_end|>\n");
    }
    for m in messages {
        s.push_str("<|im_start|>");
        s.push_str(&m.role);
        s.push('\n');
        s.push_str(&m.content);
        s.push_str("<|im_end|>\n");
    }
    if add_generation_prompt {
        s.push_str("<|im_start|>assistant\n");
    }
    s
}

/// A byte-level BPE tokenizer (no BOS added automatically, as `add_bos_token = false`).
#[derive(Clone)]
pub struct BpeTokenizer {
    inner: Tokenizer,
    /// BOS id (`<|im_start|>` = 1 for SmolLM2).
    pub bos_id: u32,
    /// EOS id (`<|im_end|>` = 2 for SmolLM2).
    pub eos_id: u32,
    /// Padding id.
    pub pad_id: u32,
    /// Ids of control tokens (token type 3).
    pub control_ids: Vec<u32>,
}

impl std::fmt::Debug for BpeTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BpeTokenizer")
            .field("vocab", &self.vocab_size())
            .field("bos_id", &self.bos_id)
            .field("eos_id", &self.eos_id)
            .finish()
    }
}

impl BpeTokenizer {
    /// Build from the `tokenizer.ggml.*` metadata of a GGUF file.
    pub fn from_gguf(g: &GgufFile) -> Result<Self, TokenizerError> {
        let path = g.path().display().to_string();
        let unsupported = |msg: String| TokenizerError::Unsupported { path: path.clone(), msg };
        let model = g.meta_str("tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(unsupported(format!(
                "tokenizer.ggml.model = {model:?}; only byte-level BPE (\"gpt2\") is supported"
            )));
        }
        let pre = g.meta_str("tokenizer.ggml.pre")?;
        if pre != "smollm" {
            return Err(unsupported(format!(
                "tokenizer.ggml.pre = {pre:?}; only \"smollm\" (digits split, GPT-2 regex) is supported"
            )));
        }
        if let Ok(t) = g.meta_str("tokenizer.chat_template")
            && t != SMOLLM2_CHAT_TEMPLATE
        {
            return Err(unsupported(
                "tokenizer.chat_template differs from the SmolLM2 ChatML template".into(),
            ));
        }
        let tokens = g.meta_strings("tokenizer.ggml.tokens")?;
        let types = g.meta_ints("tokenizer.ggml.token_type")?;
        let merges = g.meta_strings("tokenizer.ggml.merges")?;
        if types.len() != tokens.len() {
            return Err(unsupported(format!(
                "{} token types for {} tokens",
                types.len(),
                tokens.len()
            )));
        }
        let id = |k: &str| -> Result<u32, TokenizerError> { Ok(g.meta_u64(k)? as u32) };
        let (bos_id, eos_id, pad_id) = (
            id("tokenizer.ggml.bos_token_id")?,
            id("tokenizer.ggml.eos_token_id")?,
            id("tokenizer.ggml.padding_token_id")?,
        );
        let control_ids: Vec<u32> =
            types.iter().enumerate().filter(|(_, t)| **t == 3).map(|(i, _)| i as u32).collect();
        let added: Vec<serde_json::Value> = control_ids
            .iter()
            .map(|&i| {
                serde_json::json!({"id": i, "content": tokens[i as usize], "single_word": false, "lstrip": false,
                    "rstrip": false, "normalized": false, "special": true})
            })
            .collect();
        let vocab: serde_json::Map<String, serde_json::Value> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), serde_json::Value::from(i as u32)))
            .collect();
        if vocab.len() != tokens.len() {
            return Err(unsupported("duplicate tokens in tokenizer.ggml.tokens".into()));
        }
        let json = serde_json::json!({
            "version": "1.0", "truncation": null, "padding": null, "added_tokens": added, "normalizer": null,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Digits", "individual_digits": true},
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]},
            "post_processor": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": true},
            "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
            "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab, "merges": merges},
        });
        let inner = Tokenizer::from_str(&json.to_string())
            .map_err(|e| TokenizerError::Tokenizers(e.to_string()))?;
        Ok(Self { inner, bos_id, eos_id, pad_id, control_ids })
    }

    /// Vocabulary size including special tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Token ids of `text`; control tokens written literally (`<|im_start|>`) are recognised.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let e = self
            .inner
            .encode(text, false)
            .map_err(|e| TokenizerError::Tokenizers(e.to_string()))?;
        Ok(e.get_ids().to_vec())
    }

    /// Decode ids to text (special tokens kept unless `skip_special`).
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String, TokenizerError> {
        self.inner.decode(ids, skip_special).map_err(|e| TokenizerError::Tokenizers(e.to_string()))
    }

    /// The id of a token string, if in the vocabulary.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The underlying `tokenizers` tokenizer.
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_template_matches_jinja_rendering() {
        // Expected strings written from the Jinja template by hand.
        let m = [ChatMessage::new("user", "Hi")];
        assert_eq!(
            apply_chat_template(&m, true),
            format!(
                "<|im_start|>system\n{SMOLLM2_DEFAULT_SYSTEM}<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
            )
        );
        let m = [
            ChatMessage::new("system", "S"),
            ChatMessage::new("user", "U"),
            ChatMessage::new("assistant", "A"),
        ];
        assert_eq!(
            apply_chat_template(&m, false),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n"
        );
    }
}
