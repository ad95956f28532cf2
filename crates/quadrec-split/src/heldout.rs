//! [`HeldOut`]: the valid/test targets of a split and the per-stage input histories. Only the
//! runner and the evaluator hold it; methods get queries (user + history) built from it.
//!
//! Input history of a user: at validation time = train items; at test time = train + valid
//! items; both in time order (dataset order). Seen items masked in full ranking are exactly the
//! items of that history.

use crate::split::{Part, SplitMeta};
use quadrec_data::{Dataset, Interaction};

/// Which held-out part is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Validation (model selection, early stopping).
    Valid,
    /// Test (reported once at the end).
    Test,
}

impl Stage {
    /// `valid` / `test`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Valid => "valid",
            Stage::Test => "test",
        }
    }
}

/// CSR of per-user lists.
#[derive(Clone, Debug, Default)]
struct Csr<T> {
    offsets: Vec<usize>,
    values: Vec<T>,
}

impl<T: Copy> Csr<T> {
    fn build(n_users: usize, rows: impl Iterator<Item = (u32, T)> + Clone) -> Self {
        let mut offsets = vec![0usize; n_users + 1];
        for (u, _) in rows.clone() {
            offsets[u as usize + 1] += 1;
        }
        for u in 0..n_users {
            offsets[u + 1] += offsets[u];
        }
        // Rows arrive sorted by user, so a plain push keeps both user and time order.
        let values = rows.map(|(_, v)| v).collect();
        Csr { offsets, values }
    }
    fn get(&self, u: u32) -> &[T] {
        &self.values[self.offsets[u as usize]..self.offsets[u as usize + 1]]
    }
}

/// Held-out targets and stage histories of one split.
#[derive(Clone, Debug)]
pub struct HeldOut {
    meta: SplitMeta,
    n_users: u32,
    n_items: u32,
    valid: Csr<Interaction>,
    test: Csr<Interaction>,
    hist_valid: Csr<u32>,
    hist_test: Csr<u32>,
    hist_test_ratings: Csr<f32>,
    hist_valid_ratings: Csr<f32>,
    all_items: Csr<u32>,
}

impl HeldOut {
    pub(crate) fn build(d: &Dataset, parts: &[Part], meta: SplitMeta) -> HeldOut {
        let n = d.n_users() as usize;
        let rows = || d.interactions.iter().zip(parts.iter().copied());
        let valid =
            Csr::build(n, rows().filter(|(_, p)| *p == Part::Valid).map(|(r, _)| (r.user, *r)));
        let test =
            Csr::build(n, rows().filter(|(_, p)| *p == Part::Test).map(|(r, _)| (r.user, *r)));
        let hist_valid =
            Csr::build(n, rows().filter(|(_, p)| *p == Part::Train).map(|(r, _)| (r.user, r.item)));
        let hist_valid_ratings = Csr::build(
            n,
            rows().filter(|(_, p)| *p == Part::Train).map(|(r, _)| (r.user, r.rating)),
        );
        let hist_test =
            Csr::build(n, rows().filter(|(_, p)| *p != Part::Test).map(|(r, _)| (r.user, r.item)));
        let hist_test_ratings = Csr::build(
            n,
            rows().filter(|(_, p)| *p != Part::Test).map(|(r, _)| (r.user, r.rating)),
        );
        let mut all = Csr::build(n, d.interactions.iter().map(|r| (r.user, r.item)));
        for u in 0..n {
            let s = &mut all.values[all.offsets[u]..all.offsets[u + 1]];
            s.sort_unstable();
        }
        HeldOut {
            meta,
            n_users: d.n_users(),
            n_items: d.n_items(),
            valid,
            test,
            hist_valid,
            hist_test,
            hist_test_ratings,
            hist_valid_ratings,
            all_items: all,
        }
    }

    /// The split's metadata (fingerprint, spec, counts, leakage).
    pub fn meta(&self) -> &SplitMeta {
        &self.meta
    }
    /// Catalogue size.
    pub fn n_items(&self) -> u32 {
        self.n_items
    }
    /// Number of users.
    pub fn n_users(&self) -> u32 {
        self.n_users
    }

    /// Targets of `user` at `stage`, in time order.
    pub fn targets(&self, stage: Stage, user: u32) -> &[Interaction] {
        match stage {
            Stage::Valid => self.valid.get(user),
            Stage::Test => self.test.get(user),
        }
    }

    /// Input history of `user` at `stage` (valid: train; test: train + valid), time order.
    pub fn history(&self, stage: Stage, user: u32) -> &[u32] {
        match stage {
            Stage::Valid => self.hist_valid.get(user),
            Stage::Test => self.hist_test.get(user),
        }
    }

    /// Ratings aligned with [`HeldOut::history`].
    pub fn history_ratings(&self, stage: Stage, user: u32) -> &[f32] {
        match stage {
            Stage::Valid => self.hist_valid_ratings.get(user),
            Stage::Test => self.hist_test_ratings.get(user),
        }
    }

    /// Items masked in full ranking for `user` at `stage`: the history's items, sorted, unique.
    pub fn seen(&self, stage: Stage, user: u32) -> Vec<u32> {
        let mut s = self.history(stage, user).to_vec();
        s.sort_unstable();
        s.dedup();
        s
    }

    /// Every item `user` interacted with in the whole dataset (sorted; repeats kept), used to
    /// keep positives out of sampled negatives.
    pub fn all_positives(&self, user: u32) -> &[u32] {
        self.all_items.get(user)
    }

    /// Users with at least one target at `stage`, ascending.
    pub fn users(&self, stage: Stage) -> Vec<u32> {
        (0..self.n_users).filter(|&u| !self.targets(stage, u).is_empty()).collect()
    }
}
