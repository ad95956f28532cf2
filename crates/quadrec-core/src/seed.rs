//! The seed tree: every random draw in quadrec descends from one recorded root seed through
//! named children, so adding a new consumer never shifts the stream of an existing one.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A node of the seed tree. `Seed::new(42).child("split/random").rng()` gives a reproducible RNG.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seed(pub u64);

impl Seed {
    /// A root seed.
    pub const fn new(v: u64) -> Self {
        Seed(v)
    }

    /// The child seed named `name`: sha256(parent || name), first 8 bytes little-endian.
    /// Names are paths by convention (`"bpr/negatives"`, `"views/sampled"`).
    pub fn child(self, name: &str) -> Seed {
        let mut h = Sha256::new();
        h.update(self.0.to_le_bytes());
        h.update(name.as_bytes());
        let d = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        Seed(u64::from_le_bytes(b))
    }

    /// The `i`-th indexed child (for per-user or per-epoch streams).
    pub fn index(self, i: u64) -> Seed {
        self.child(&format!("#{i}"))
    }

    /// A ChaCha8 RNG seeded from this node (portable across platforms and versions of rand_chacha).
    pub fn rng(self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.0)
    }
}

impl std::fmt::Display for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn children_are_distinct_and_stable() {
        let s = Seed::new(7);
        assert_eq!(s.child("a"), s.child("a"));
        assert_ne!(s.child("a"), s.child("b"));
        assert_ne!(s.child("a").child("b"), s.child("b").child("a"));
        assert_ne!(s.index(0), s.index(1));
    }

    #[test]
    fn rng_is_reproducible() {
        let a: Vec<u32> = (0..5)
            .map({
                let mut r = Seed::new(3).rng();
                move |_| r.random::<u32>()
            })
            .collect();
        let b: Vec<u32> = (0..5)
            .map({
                let mut r = Seed::new(3).rng();
                move |_| r.random::<u32>()
            })
            .collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|&x| x != a[0]));
    }
}
