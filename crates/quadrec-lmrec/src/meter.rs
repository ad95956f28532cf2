//! Counting the tokens a method pushes through a language model (`Method::lm_tokens`).

use std::sync::atomic::{AtomicU64, Ordering};

/// Thread-safe running count of LM tokens (prompt tokens processed + tokens generated).
#[derive(Debug, Default)]
pub struct TokenMeter(AtomicU64);

impl TokenMeter {
    /// Add `n` tokens.
    pub fn add(&self, n: usize) {
        self.0.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Tokens counted so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Clone for TokenMeter {
    fn clone(&self) -> Self {
        TokenMeter(AtomicU64::new(self.get()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_across_threads() {
        let m = super::TokenMeter::default();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| (0..100).for_each(|_| m.add(3)));
            }
        });
        assert_eq!(m.get(), 1200);
    }
}
