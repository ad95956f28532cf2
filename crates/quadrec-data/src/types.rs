//! Core processed-dataset types shared by every crate: [`Interaction`], [`ItemTable`],
//! [`UserTable`], [`Dataset`].
//!
//! Ids are dense (`0..n_users`, `0..n_items`), assigned deterministically over the processed
//! dataset by sorting raw id strings numeric-aware ([`crate::ids::numeric_aware_cmp`]). Raw ids
//! are kept in the tables so that every output can be mapped back to the source files.

use crate::manifest::Manifest;
use serde::{Deserialize, Serialize};

/// One user-item event of the processed dataset, with dense ids.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// Dense user id, `0..n_users`.
    pub user: u32,
    /// Dense item id, `0..n_items`.
    pub item: u32,
    /// Rating as given by the source (1.0 for implicit sources without a rating).
    pub rating: f32,
    /// Unix time in seconds (sources in milliseconds are converted on load).
    pub timestamp: i64,
}

/// Per-item side information (all items of the catalogue, indexed by dense id).
///
/// Stored column-wise: one vector per field, each of length [`ItemTable::len`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemTable {
    /// Raw id string as in the source files.
    pub raw_ids: Vec<String>,
    /// Title ("" when the source has none for this item).
    pub titles: Vec<String>,
    /// Release / publication year where known.
    pub years: Vec<Option<i32>>,
    /// Genres or categories, in source order.
    pub genres: Vec<Vec<String>>,
    /// Free-text description where present.
    pub descriptions: Vec<Option<String>>,
    /// Extra text fields by name (e.g. `brand`, `author`), each column of length `len()`.
    /// Ordered by name so that output never depends on hash order.
    pub extra: std::collections::BTreeMap<String, Vec<Option<String>>>,
}

impl ItemTable {
    /// An item table of `n` items that have only raw ids (no text).
    pub fn with_raw_ids(raw_ids: Vec<String>) -> Self {
        let n = raw_ids.len();
        ItemTable {
            raw_ids,
            titles: vec![String::new(); n],
            years: vec![None; n],
            genres: vec![Vec::new(); n],
            descriptions: vec![None; n],
            extra: Default::default(),
        }
    }

    /// Number of items (catalogue size).
    pub fn len(&self) -> usize {
        self.raw_ids.len()
    }

    /// True when the catalogue is empty.
    pub fn is_empty(&self) -> bool {
        self.raw_ids.is_empty()
    }

    /// Raw id of dense item `i`.
    pub fn raw_id(&self, i: u32) -> &str {
        &self.raw_ids[i as usize]
    }

    /// Title of dense item `i` ("" if unknown).
    pub fn title(&self, i: u32) -> &str {
        &self.titles[i as usize]
    }

    /// Year of dense item `i`.
    pub fn year(&self, i: u32) -> Option<i32> {
        self.years[i as usize]
    }

    /// Genres / categories of dense item `i`.
    pub fn genres(&self, i: u32) -> &[String] {
        &self.genres[i as usize]
    }

    /// Description of dense item `i`.
    pub fn description(&self, i: u32) -> Option<&str> {
        self.descriptions[i as usize].as_deref()
    }

    /// One-line item text for language models: `"Title (Year) Genre1 Genre2 ..."`.
    /// Items without a title use `"item <raw id>"` so that the text is never empty.
    /// The description is NOT included (it can be long); use [`ItemTable::description`].
    pub fn text(&self, i: u32) -> String {
        let i = i as usize;
        let mut s = if self.titles[i].is_empty() {
            format!("item {}", self.raw_ids[i])
        } else {
            self.titles[i].clone()
        };
        if let Some(y) = self.years[i] {
            s.push_str(&format!(" ({y})"));
        }
        for g in &self.genres[i] {
            s.push(' ');
            s.push_str(g);
        }
        s
    }

    /// Keep only the rows listed in `keep` (in that order); used when remapping to dense ids.
    pub fn select(&self, keep: &[usize]) -> ItemTable {
        ItemTable {
            raw_ids: keep.iter().map(|&k| self.raw_ids[k].clone()).collect(),
            titles: keep.iter().map(|&k| self.titles[k].clone()).collect(),
            years: keep.iter().map(|&k| self.years[k]).collect(),
            genres: keep.iter().map(|&k| self.genres[k].clone()).collect(),
            descriptions: keep.iter().map(|&k| self.descriptions[k].clone()).collect(),
            extra: self
                .extra
                .iter()
                .map(|(n, col)| (n.clone(), keep.iter().map(|&k| col[k].clone()).collect()))
                .collect(),
        }
    }
}

/// A value of a user side feature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FeatureValue {
    /// Categorical value (gender, occupation, zip code, ...).
    Cat(String),
    /// Numeric value (age, ...).
    Num(f64),
}

/// Kind of one user feature column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeatureKind {
    /// Strings.
    Categorical,
    /// Numbers (f64).
    Numeric,
}

/// Per-user side information (all users, indexed by dense id), column-wise.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserTable {
    /// Raw id string as in the source files.
    pub raw_ids: Vec<String>,
    /// Feature columns in a fixed order: (name, kind, values per user; `None` = missing).
    pub features: Vec<(String, FeatureKind, Vec<Option<FeatureValue>>)>,
}

impl UserTable {
    /// A user table of users that have only raw ids.
    pub fn with_raw_ids(raw_ids: Vec<String>) -> Self {
        UserTable { raw_ids, features: Vec::new() }
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.raw_ids.len()
    }

    /// True when there are no users.
    pub fn is_empty(&self) -> bool {
        self.raw_ids.is_empty()
    }

    /// Raw id of dense user `u`.
    pub fn raw_id(&self, u: u32) -> &str {
        &self.raw_ids[u as usize]
    }

    /// Names of the side-feature columns, in table order.
    pub fn feature_names(&self) -> Vec<&str> {
        self.features.iter().map(|(n, _, _)| n.as_str()).collect()
    }

    /// Value of feature `name` for dense user `u` (`None` if missing or no such feature).
    pub fn feature(&self, u: u32, name: &str) -> Option<&FeatureValue> {
        self.features
            .iter()
            .find(|(n, _, _)| n == name)
            .and_then(|(_, _, v)| v[u as usize].as_ref())
    }

    /// One-line profile text for language models, e.g. `"age: 24, gender: M, occupation: technician"`.
    pub fn text(&self, u: u32) -> String {
        let mut parts = Vec::new();
        for (name, _, col) in &self.features {
            match &col[u as usize] {
                Some(FeatureValue::Cat(s)) => parts.push(format!("{name}: {s}")),
                Some(FeatureValue::Num(x)) => parts.push(format!("{name}: {x}")),
                None => {}
            }
        }
        parts.join(", ")
    }

    /// Keep only the rows listed in `keep` (in that order).
    pub fn select(&self, keep: &[usize]) -> UserTable {
        UserTable {
            raw_ids: keep.iter().map(|&k| self.raw_ids[k].clone()).collect(),
            features: self
                .features
                .iter()
                .map(|(n, kind, col)| {
                    (n.clone(), *kind, keep.iter().map(|&k| col[k].clone()).collect())
                })
                .collect(),
        }
    }
}

/// A processed dataset: dense interactions, item and user tables, and the manifest that says how
/// it was made (source hashes, preprocessing spec, table hashes, card).
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Immutable id: `<name>-<first 12 hex of the processing fingerprint>`.
    pub id: String,
    /// Interactions sorted by (user, timestamp, original row).
    pub interactions: Vec<Interaction>,
    /// Item side information, indexed by dense item id.
    pub items: ItemTable,
    /// User side information, indexed by dense user id.
    pub users: UserTable,
    /// How the dataset was made.
    pub manifest: Manifest,
}

impl Dataset {
    /// Number of users (catalogue).
    pub fn n_users(&self) -> u32 {
        self.users.len() as u32
    }
    /// Number of items (catalogue).
    pub fn n_items(&self) -> u32 {
        self.items.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_text_is_title_year_genres() {
        let mut t = ItemTable::with_raw_ids(vec!["1".into(), "2".into()]);
        t.titles[0] = "Toy Story".into();
        t.years[0] = Some(1995);
        t.genres[0] = vec!["Animation".into(), "Children's".into(), "Comedy".into()];
        assert_eq!(t.text(0), "Toy Story (1995) Animation Children's Comedy");
        assert_eq!(t.text(1), "item 2");
    }

    #[test]
    fn user_text_lists_present_features() {
        let mut u = UserTable::with_raw_ids(vec!["a".into()]);
        u.features.push(("age".into(), FeatureKind::Numeric, vec![Some(FeatureValue::Num(24.0))]));
        u.features.push(("zip".into(), FeatureKind::Categorical, vec![None]));
        assert_eq!(u.text(0), "age: 24");
        assert_eq!(u.feature(0, "age"), Some(&FeatureValue::Num(24.0)));
    }
}
