//! Split protocols, as recorded data ([`SplitSpec`]); serialised into every split's metadata and
//! hashed into its fingerprint.

use serde::{Deserialize, Serialize};

/// Version of the split code; bump when the same inputs would give a different split.
pub const SPLIT_VERSION: &str = "quadrec-split/1";

/// A time cut point of the global temporal split.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cut {
    /// An absolute Unix time (seconds): rows at or after it are on the later side.
    Time(i64),
    /// A quantile of all interaction timestamps in (0, 1): the cut time is the timestamp of
    /// row `floor(q * n)` in time order (ties stay on the same side).
    Quantile(f64),
}

/// How interactions are divided into train / valid / test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "kebab-case", deny_unknown_fields)]
pub enum SplitSpec {
    /// Leave-one-out by time per user: last = test, second last = valid (users with 3+ rows);
    /// users with 2 rows give a test row only; users with 1 row stay in train.
    Loo,
    /// Global temporal split: one time line for everyone (the leak-free protocol).
    /// `t < valid` train, `valid <= t < test` valid, `t >= test` test. No `valid` = no
    /// validation rows.
    Temporal {
        /// Validation cut (optional).
        valid: Option<Cut>,
        /// Test cut.
        test: Cut,
    },
    /// Random ratio per user (seeded): `round(n * test)` rows to test, `round(n * valid)` to
    /// valid, at least one row kept in train.
    Random {
        /// Share of each user's rows for validation.
        valid: f64,
        /// Share of each user's rows for test.
        test: f64,
        /// Seed (root of `split/random`).
        seed: u64,
    },
}

impl SplitSpec {
    /// Short name for ids and tables: `loo`, `temporal`, `random`.
    pub fn name(&self) -> &'static str {
        match self {
            SplitSpec::Loo => "loo",
            SplitSpec::Temporal { .. } => "temporal",
            SplitSpec::Random { .. } => "random",
        }
    }
}
