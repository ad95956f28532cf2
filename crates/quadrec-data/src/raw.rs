//! [`RawData`]: what a loader produces before processing. Raw id strings are interned (one
//! `u32` per distinct id, in first-seen order) so that 20M-row sources stay compact; dense ids
//! are assigned later, over the processed dataset only.

use crate::error::{DataError, Result};
use crate::manifest::SourceFile;
use crate::types::{FeatureKind, FeatureValue};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// String interner: raw id -> index in first-seen order.
#[derive(Clone, Debug, Default)]
pub struct Interner {
    map: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    /// The index of `s`, inserting it if new.
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.map.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        let b: Box<str> = s.into();
        self.map.insert(b.clone(), i);
        self.names.push(b);
        i
    }
    /// The index of `s` if known.
    pub fn get(&self, s: &str) -> Option<u32> {
        self.map.get(s).copied()
    }
    /// The raw string of index `i`.
    pub fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }
    /// Number of distinct ids.
    pub fn len(&self) -> usize {
        self.names.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// One source interaction with interned ids and its original row number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RawInteraction {
    /// Interned user index.
    pub user: u32,
    /// Interned item index.
    pub item: u32,
    /// Rating (1.0 when the source has none).
    pub rating: f32,
    /// Unix seconds.
    pub timestamp: i64,
    /// 0-based row number in the interaction source (the stable tie breaker).
    pub row: u32,
}

/// Side information of one item as read from a source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawItem {
    /// Title.
    pub title: String,
    /// Year.
    pub year: Option<i32>,
    /// Genres / categories.
    pub genres: Vec<String>,
    /// Description.
    pub description: Option<String>,
    /// Extra text fields.
    pub extra: BTreeMap<String, String>,
}

/// Whether side-file rows naming ids that have no interaction are an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SideIds {
    /// The format guarantees that every side id has interactions (ML-100K): refuse unknown ids.
    Strict,
    /// Catalogues larger than the interaction log are normal (Amazon, ML-latest): drop and count.
    Lenient,
}

/// Everything a loader read.
#[derive(Clone, Debug)]
pub struct RawData {
    /// Loader id.
    pub format: String,
    /// Source files with sha256.
    pub sources: Vec<SourceFile>,
    /// Interned user ids.
    pub users: Interner,
    /// Interned item ids.
    pub items: Interner,
    /// Interactions in source order.
    pub interactions: Vec<RawInteraction>,
    /// Item side info by interned item index.
    pub item_info: Vec<Option<RawItem>>,
    /// User feature schema (name, kind), in column order.
    pub user_schema: Vec<(String, FeatureKind)>,
    /// User features by interned user index, aligned with `user_schema`.
    pub user_info: Vec<Option<Vec<Option<FeatureValue>>>>,
    /// Side rows whose id has no interaction (dropped, counted).
    pub side_rows_without_interactions: u64,
}

impl RawData {
    /// An empty container for loader `format`.
    pub fn new(format: &str) -> Self {
        RawData {
            format: format.to_string(),
            sources: Vec::new(),
            users: Interner::default(),
            items: Interner::default(),
            interactions: Vec::new(),
            item_info: Vec::new(),
            user_schema: Vec::new(),
            user_info: Vec::new(),
            side_rows_without_interactions: 0,
        }
    }

    /// Record a source file (hash computed from its bytes on disk).
    pub fn add_source(&mut self, path: &Path) -> Result<()> {
        let sha256 = quadrec_core::hash::sha256_file(path).map_err(DataError::io(path))?;
        let bytes = std::fs::metadata(path).map_err(DataError::io(path))?.len();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        self.sources.push(SourceFile { name, sha256, bytes });
        Ok(())
    }

    /// Append an interaction; `row` is taken from the current count.
    pub fn push(
        &mut self,
        path: &Path,
        line: u64,
        user: &str,
        item: &str,
        rating: f32,
        timestamp: i64,
    ) -> Result<()> {
        let row = u32::try_from(self.interactions.len())
            .map_err(|_| DataError::line(path, line, "more than 4,294,967,295 interaction rows"))?;
        let user = self.users.intern(user);
        let item = self.items.intern(item);
        self.interactions.push(RawInteraction { user, item, rating, timestamp, row });
        Ok(())
    }

    /// Fail with a whole-file error if no interaction was read from `path`.
    pub fn require_rows(&self, path: &Path) -> Result<()> {
        if self.interactions.is_empty() {
            return Err(DataError::file(path, "empty file: no interaction rows"));
        }
        Ok(())
    }

    /// Attach item side info for raw id `id` read at `path:line`. Duplicate ids are an error;
    /// unknown ids follow `policy`.
    pub fn set_item(
        &mut self,
        path: &Path,
        line: u64,
        id: &str,
        info: RawItem,
        policy: SideIds,
        seen: &mut HashMap<String, u64>,
    ) -> Result<()> {
        if let Some(first) = seen.insert(id.to_string(), line) {
            return Err(DataError::line(
                path,
                line,
                format!("duplicate item id `{id}` (first seen on line {first})"),
            ));
        }
        match self.items.get(id) {
            Some(i) => {
                if self.item_info.len() < self.items.len() {
                    self.item_info.resize(self.items.len(), None);
                }
                self.item_info[i as usize] = Some(info);
                Ok(())
            }
            None => self.unknown(path, line, "item", id, policy),
        }
    }

    /// Attach user features for raw id `id`. Duplicate ids are an error; unknown ids follow `policy`.
    pub fn set_user(
        &mut self,
        path: &Path,
        line: u64,
        id: &str,
        values: Vec<Option<FeatureValue>>,
        policy: SideIds,
        seen: &mut HashMap<String, u64>,
    ) -> Result<()> {
        if let Some(first) = seen.insert(id.to_string(), line) {
            return Err(DataError::line(
                path,
                line,
                format!("duplicate user id `{id}` (first seen on line {first})"),
            ));
        }
        match self.users.get(id) {
            Some(u) => {
                if self.user_info.len() < self.users.len() {
                    self.user_info.resize(self.users.len(), None);
                }
                self.user_info[u as usize] = Some(values);
                Ok(())
            }
            None => self.unknown(path, line, "user", id, policy),
        }
    }

    fn unknown(
        &mut self,
        path: &Path,
        line: u64,
        what: &str,
        id: &str,
        policy: SideIds,
    ) -> Result<()> {
        match policy {
            SideIds::Strict => Err(DataError::field(
                path,
                line,
                format!("{what}_id"),
                format!("{what} id `{id}` does not occur in the interaction file"),
            )),
            SideIds::Lenient => {
                self.side_rows_without_interactions += 1;
                Ok(())
            }
        }
    }

    /// Refuse repeated (user, item) pairs, for formats whose documentation guarantees one rating
    /// per pair (MovieLens): a repeat means a corrupted or concatenated file.
    pub fn require_unique_pairs(&self, path: &Path, first_data_line: u64) -> Result<()> {
        let mut seen: HashMap<(u32, u32), u32> = HashMap::with_capacity(self.interactions.len());
        for r in &self.interactions {
            if let Some(first) = seen.insert((r.user, r.item), r.row) {
                return Err(DataError::line(
                    path,
                    first_data_line + r.row as u64,
                    format!(
                        "duplicate rating of item `{}` by user `{}` (first on line {})",
                        self.items.name(r.item),
                        self.users.name(r.user),
                        first_data_line + first as u64
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Path helper: `dir/name`, failing with a clear error if it does not exist.
pub fn require_file(dir: &Path, name: &str) -> Result<PathBuf> {
    let p = dir.join(name);
    if !p.is_file() {
        return Err(DataError::file(p, "required file not found"));
    }
    Ok(p)
}
