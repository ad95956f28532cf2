//! Shared primitives of quadrec, kept free of heavy dependencies so that every crate can use them.
//!
//! - [`Seed`]: one seed tree for all randomness (`seed.child("bpr/negatives")`), no `thread_rng`.
//! - [`hash`]: sha256 of files, bytes and canonical JSON, used for fingerprints and manifests.
//! - [`fsx`]: atomic writes (temporary file in the same folder, then rename) so that a failure
//!   never leaves a partial file behind.
//! - [`cache_dir`]: where fetched assets and processed datasets live, outside the repository.

pub mod fsx;
pub mod hash;
mod seed;

pub use seed::Seed;

use std::path::PathBuf;

/// Environment variable that overrides the cache root (assets, processed datasets, LM caches).
pub const CACHE_ENV: &str = "QUADREC_CACHE";

/// Root of quadrec's cache: `$QUADREC_CACHE` if set, else `$XDG_CACHE_HOME/quadrec`
/// (`~/.cache/quadrec` on Linux). Never inside the repository.
pub fn cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os(CACHE_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    dirs::cache_dir().unwrap_or_else(|| PathBuf::from(".cache")).join("quadrec")
}
