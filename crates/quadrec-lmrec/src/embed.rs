//! MiniLM embeddings of every catalogue item's text (`ItemTable::text`: title, year, genres),
//! through the on-disk embedding cache (keyed by model hash, pooling and text) and shared
//! in-process, so that every method of a run encodes the catalogue at most once, and a rerun
//! encodes nothing.
//!
//! Item text is side information, not a label: encoding all items (including those without a
//! train interaction) does not leak held-out interactions.

use crate::handles::{HandleError, minilm};
use quadrec_core::hash::sha256_hex;
use quadrec_data::ItemTable;
use quadrec_lm::EmbeddingCache;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Row-major `[n_items, dim]` L2-normalised item embeddings.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemEmbeddings {
    /// Embedding width (384 for MiniLM).
    pub dim: usize,
    /// `n_items * dim` values.
    pub data: Vec<f32>,
    /// sha256 over the encoded texts (identifies the catalogue text).
    pub texts_sha256: String,
}

impl ItemEmbeddings {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Embedding of item `i`.
    pub fn row(&self, i: u32) -> &[f32] {
        &self.data[i as usize * self.dim..(i as usize + 1) * self.dim]
    }

    /// Cosine similarity of items `a` and `b` (rows are unit length).
    pub fn cosine(&self, a: u32, b: u32) -> f32 {
        self.row(a).iter().zip(self.row(b)).map(|(x, y)| x * y).sum()
    }
}

static SHARED: Mutex<BTreeMap<String, Arc<ItemEmbeddings>>> = Mutex::new(BTreeMap::new());

/// Embeddings of all items of `items` with the pinned MiniLM (batch 32, length-sorted).
pub fn item_embeddings(items: &ItemTable) -> Result<Arc<ItemEmbeddings>, HandleError> {
    let texts: Vec<String> = (0..items.len() as u32).map(|i| items.text(i)).collect();
    let key = sha256_hex(texts.join("\n").as_bytes());
    if let Some(e) = SHARED.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(e.clone());
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    // The encoder is loaded only when some text is missing from the disk cache, so a rerun
    // does not even read the weights. The pinned sentence-transformers config pools by mean
    // over real tokens + L2 normalisation (`Pooling::MeanNorm`), the cache key's pooling part.
    let (rows, _) = EmbeddingCache::default_location()
        .get_or_compute(
            quadrec_lm::assets::minilm_model_hash(),
            &quadrec_lm::Pooling::MeanNorm.cache_key(),
            &refs,
            |todo| -> Result<Vec<Vec<f32>>, String> {
                let enc = minilm().map_err(|e| e.to_string())?;
                enc.encode(todo, 32).map_err(|e| e.to_string())
            },
        )
        .map_err(|e| HandleError { model: "all-MiniLM-L6-v2", message: e.to_string() })?;
    let dim = rows.first().map(|r| r.len()).unwrap_or(0);
    let mut data = Vec::with_capacity(rows.len() * dim);
    for r in rows {
        // Normalise again: cached rows written by another pooling setup must not skew cosines.
        let n = r.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        data.extend(r.iter().map(|x| x / n));
    }
    let e = Arc::new(ItemEmbeddings { dim, data, texts_sha256: key.clone() });
    SHARED.lock().unwrap_or_else(|p| p.into_inner()).insert(key, e.clone());
    Ok(e)
}
