//! Disk cache of item-side representations (text embeddings), keyed by
//! (model hash, text hash, pooling).
//!
//! Layout: `{root}/{model_hash}/{pooling}/{h[0..2]}/{h}.emb` with `h = sha256(text)`; one small
//! file per text, written atomically (temporary file + rename), so concurrent runs and crashes
//! never leave a partial entry. File format: magic `QREMB1\0\0`, `u32` dimension (LE), then the
//! `f32` values (LE). An entry whose bytes do not parse is treated as a miss and rewritten.

use std::path::{Path, PathBuf};

use quadrec_core::hash::sha256_hex;

const MAGIC: &[u8; 8] = b"QREMB1\0\0";

/// Errors of the cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// I/O on a cache file.
    #[error("{path}: {source}")]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The compute function failed.
    #[error("computing embeddings: {0}")]
    Compute(String),
    /// The compute function returned the wrong number of vectors.
    #[error("compute returned {got} vectors for {want} texts")]
    Count {
        /// Returned.
        got: usize,
        /// Expected.
        want: usize,
    },
}

/// Cache statistics of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Texts found in the cache.
    pub hits: usize,
    /// Texts computed (and stored).
    pub misses: usize,
}

/// The cache rooted at one folder.
#[derive(Debug, Clone)]
pub struct EmbeddingCache {
    root: PathBuf,
}

fn check_key(part: &str) -> bool {
    !part.is_empty()
        && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        && part != "."
        && part != ".."
}

impl EmbeddingCache {
    /// A cache under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The default location: `quadrec_core::cache_dir()/lm/embeddings`.
    pub fn default_location() -> Self {
        Self::new(quadrec_core::cache_dir().join("lm").join("embeddings"))
    }

    /// Path of the entry for a key.
    pub fn entry_path(&self, model_hash: &str, pooling: &str, text: &str) -> PathBuf {
        assert!(
            check_key(model_hash) && check_key(pooling),
            "cache key parts should be plain names"
        );
        let h = sha256_hex(text.as_bytes());
        self.root.join(model_hash).join(pooling).join(&h[..2]).join(format!("{h}.emb"))
    }

    fn read(path: &Path) -> Option<Vec<f32>> {
        let b = std::fs::read(path).ok()?;
        if b.len() < 12 || &b[..8] != MAGIC {
            return None;
        }
        let dim = u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize;
        if b.len() != 12 + 4 * dim {
            return None;
        }
        Some(
            b[12..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        )
    }

    fn write(path: &Path, v: &[f32]) -> Result<(), CacheError> {
        let mut b = Vec::with_capacity(12 + 4 * v.len());
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&(v.len() as u32).to_le_bytes());
        for x in v {
            b.extend_from_slice(&x.to_le_bytes());
        }
        quadrec_core::fsx::write_atomic(path, &b)
            .map_err(|source| CacheError::Io { path: path.to_path_buf(), source })
    }

    /// Embeddings of `texts`: cached ones are read, the others computed in one call of
    /// `compute` (with the missing texts, in order) and stored.
    pub fn get_or_compute<E: std::fmt::Display>(
        &self,
        model_hash: &str,
        pooling: &str,
        texts: &[&str],
        compute: impl FnOnce(&[&str]) -> Result<Vec<Vec<f32>>, E>,
    ) -> Result<(Vec<Vec<f32>>, CacheStats), CacheError> {
        let paths: Vec<PathBuf> =
            texts.iter().map(|t| self.entry_path(model_hash, pooling, t)).collect();
        let mut out: Vec<Option<Vec<f32>>> = paths.iter().map(|p| Self::read(p)).collect();
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        let stats = CacheStats { hits: texts.len() - missing.len(), misses: missing.len() };
        if !missing.is_empty() {
            let todo: Vec<&str> = missing.iter().map(|&i| texts[i]).collect();
            let vecs = compute(&todo).map_err(|e| CacheError::Compute(e.to_string()))?;
            if vecs.len() != todo.len() {
                return Err(CacheError::Count { got: vecs.len(), want: todo.len() });
            }
            for (&i, v) in missing.iter().zip(vecs) {
                Self::write(&paths[i], &v)?;
                out[i] = Some(v);
            }
        }
        Ok((out.into_iter().map(|v| v.expect("every entry is filled above")).collect(), stats))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_once_then_hits_and_keys_separate() {
        let dir = tempfile::tempdir().unwrap();
        let c = EmbeddingCache::new(dir.path());
        let f = |t: &[&str]| -> Result<Vec<Vec<f32>>, String> {
            Ok(t.iter().map(|s| vec![s.len() as f32, 1.0]).collect())
        };
        let (v, s) = c.get_or_compute("m1", "mean_norm", &["ab", "cde"], f).unwrap();
        assert_eq!(v, vec![vec![2.0, 1.0], vec![3.0, 1.0]]);
        assert_eq!(s, CacheStats { hits: 0, misses: 2 });
        let fail =
            |_: &[&str]| -> Result<Vec<Vec<f32>>, String> { Err("must not be called".into()) };
        let (v2, s) = c.get_or_compute("m1", "mean_norm", &["cde", "ab"], fail).unwrap();
        assert_eq!(v2, vec![vec![3.0, 1.0], vec![2.0, 1.0]]);
        assert_eq!(s.hits, 2);
        // Another model hash or pooling is another key.
        let (_, s) = c.get_or_compute("m2", "mean_norm", &["ab"], f).unwrap();
        assert_eq!(s.misses, 1);
        let (_, s) = c.get_or_compute("m1", "cls_norm", &["ab"], f).unwrap();
        assert_eq!(s.misses, 1);
        // A corrupt entry is recomputed; no temporary files are left behind.
        let p = c.entry_path("m1", "mean_norm", "ab");
        std::fs::write(&p, b"junk").unwrap();
        let (v3, s) = c.get_or_compute("m1", "mean_norm", &["ab"], f).unwrap();
        assert_eq!((v3[0].clone(), s.misses), (vec![2.0, 1.0], 1));
        let leftovers: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("partial"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
