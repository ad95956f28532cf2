//! The k-shot training subsets shared by the tuned Yes/No methods (TALLRec, ReLLa) and their
//! fair conventional baselines (`kshot-crm`): `k` train interactions drawn uniformly without
//! replacement from a seed that is a PARAM (`subset_seed`), not the method's own seed, so that
//! every method given the same `(k, fraction, subset_seed)` trains on exactly the same rows.
//! Labels follow TALLRec: an interaction is positive ("Yes") when its rating is > 3.

use quadrec_core::Seed;
use quadrec_data::Interaction;
use quadrec_split::TrainView;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// How many train rows a k-shot method learns from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KShot {
    /// Number of train interactions (TALLRec's few-shot sizes: 16, 64, 256). `0` together with
    /// `fraction = 0` means all train rows.
    pub k: usize,
    /// Alternative to `k`: this fraction of the train rows (at most 0.1 for the LM methods);
    /// `0` = use `k`. Setting both is an error.
    pub fraction: f64,
    /// Seed of the draw (shared by every method that must see the same rows).
    pub subset_seed: u64,
}

impl Default for KShot {
    fn default() -> Self {
        KShot { k: 64, fraction: 0.0, subset_seed: 0 }
    }
}

impl KShot {
    /// Check the combination of `k` and `fraction`.
    pub fn validate(&self) -> Result<(), String> {
        if self.k > 0 && self.fraction > 0.0 {
            return Err("set either `kshot.k` or `kshot.fraction`, not both".into());
        }
        if !(0.0..=1.0).contains(&self.fraction) {
            return Err(format!("`kshot.fraction` = {} must be in [0, 1]", self.fraction));
        }
        Ok(())
    }

    /// Number of rows drawn from `n_rows` train rows.
    pub fn size(&self, n_rows: usize) -> usize {
        if self.fraction > 0.0 {
            ((self.fraction * n_rows as f64).round() as usize).clamp(1, n_rows)
        } else if self.k == 0 {
            n_rows
        } else {
            self.k.min(n_rows)
        }
    }

    /// The drawn rows, in the train view's (user, time) order.
    pub fn rows(&self, train: &TrainView) -> Vec<Interaction> {
        let all = train.interactions();
        let n = self.size(all.len());
        if n == all.len() {
            return all.to_vec();
        }
        let mut rng = Seed::new(self.subset_seed).child(&format!("kshot/rows/{n}")).rng();
        // Partial Fisher-Yates: the first n slots are a uniform sample without replacement.
        let mut idx: Vec<usize> = (0..all.len()).collect();
        for i in 0..n {
            let j = rng.random_range(i..all.len());
            idx.swap(i, j);
        }
        let mut pick = idx[..n].to_vec();
        pick.sort_unstable();
        pick.into_iter().map(|i| all[i]).collect()
    }

    /// A train view holding only the drawn rows (same catalogue and side tables).
    pub fn view(&self, train: &TrainView) -> TrainView {
        TrainView::from_interactions(
            train.n_users(),
            train.n_items(),
            self.rows(train),
            train.items_arc(),
            train.users_arc(),
        )
    }
}

/// TALLRec's label rule: liked = rating > 3.
pub fn liked(rating: f32) -> bool {
    rating > 3.0
}
