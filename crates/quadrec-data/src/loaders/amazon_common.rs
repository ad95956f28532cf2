//! Shared reading code of the Amazon review loaders (2014, 2018, 2023): locating the review and
//! metadata files in a folder, JSON-lines parsing with line numbers, typed field access whose
//! errors name the field, and metadata text extraction.

use crate::error::{DataError, Result};
use crate::raw::{RawData, RawItem, SideIds};
use crate::textio::{Encoding, Lines};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Find the metadata file (`meta_*.json[l][.gz]`) and the review file (the other one).
pub fn find_files(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let mut meta = Vec::new();
    let mut reviews = Vec::new();
    for e in std::fs::read_dir(dir).map_err(DataError::io(dir))? {
        let p = e.map_err(DataError::io(dir))?.path();
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let is_json =
            [".json", ".json.gz", ".jsonl", ".jsonl.gz"].iter().any(|x| name.ends_with(x));
        if !is_json {
            continue;
        }
        if name.starts_with("meta_") { meta.push(p) } else { reviews.push(p) }
    }
    meta.sort();
    reviews.sort();
    let one = |v: Vec<PathBuf>, what: &str| -> Result<PathBuf> {
        match v.len() {
            1 => Ok(v.into_iter().next().expect("len 1")),
            0 => Err(DataError::file(dir, format!("no {what} file found"))),
            _ => Err(DataError::file(
                dir,
                format!("several {what} files: {v:?}; keep one per folder"),
            )),
        }
    };
    Ok((one(reviews, "review (`*.json[l][.gz]`)")?, one(meta, "metadata (`meta_*.json[l][.gz]`)")?))
}

/// Parse each non-blank line of `path` with `parse` and hand (line, value) to `f`.
pub fn for_each_line(
    path: &Path,
    parse: fn(&str) -> std::result::Result<Value, String>,
    mut f: impl FnMut(u64, Value) -> Result<()>,
) -> Result<u64> {
    let mut lines = Lines::open(path, Encoding::Utf8)?;
    let mut n = 0;
    while let Some((ln, l)) = lines.next_line()? {
        if l.trim().is_empty() {
            continue;
        }
        let v = parse(&l).map_err(|m| DataError::line(path, ln, format!("invalid record: {m}")))?;
        if !v.is_object() {
            return Err(DataError::line(path, ln, "record is not an object"));
        }
        n += 1;
        f(ln, v)?;
    }
    if n == 0 {
        return Err(DataError::file(path, "empty file: no records"));
    }
    Ok(n)
}

/// Strict JSON parse.
pub fn json(s: &str) -> std::result::Result<Value, String> {
    serde_json::from_str(s).map_err(|e| e.to_string())
}

/// A required string (or integer, rendered) field.
pub fn req_str(path: &Path, line: u64, v: &Value, field: &str) -> Result<String> {
    match v.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::String(_)) => Err(DataError::field(path, line, field, "empty")),
        Some(other) => {
            Err(DataError::field(path, line, field, format!("expected a string, found `{other}`")))
        }
        None => Err(DataError::field(path, line, field, "missing")),
    }
}

/// A required number field (numbers given as strings, "5.0", are accepted).
pub fn req_f64(path: &Path, line: u64, v: &Value, field: &str) -> Result<f64> {
    match v.get(field) {
        Some(Value::Number(n)) => {
            n.as_f64().ok_or_else(|| DataError::field(path, line, field, "not a finite number"))
        }
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| DataError::field(path, line, field, format!("not a number: `{s}`"))),
        Some(other) => Err(DataError::field(path, line, field, format!("not a number: `{other}`"))),
        None => Err(DataError::field(path, line, field, "missing")),
    }
}

/// A required integer field.
pub fn req_i64(path: &Path, line: u64, v: &Value, field: &str) -> Result<i64> {
    match v.get(field) {
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64().expect("checked")),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| DataError::field(path, line, field, format!("not an integer: `{s}`"))),
        Some(other) => {
            Err(DataError::field(path, line, field, format!("not an integer: `{other}`")))
        }
        None => Err(DataError::field(path, line, field, "missing")),
    }
}

/// Flatten a string, a list of strings or a list of lists into strings, keeping first
/// occurrences in order.
pub fn strings(v: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if !s.trim().is_empty() => {
                let s = s.trim().to_string();
                if !out.contains(&s) {
                    out.push(s);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    if let Some(v) = v {
        walk(v, &mut out);
    }
    out
}

/// Which metadata keys hold what.
pub struct MetaKeys {
    /// Item id key (`asin`, `parent_asin`).
    pub id: &'static str,
    /// Category key (`categories`, `category`).
    pub categories: &'static str,
    /// Extra text keys copied when present (brand, price, store, main category, ...).
    pub extra: &'static [&'static str],
}

/// Read a metadata file into item side info.
pub fn read_meta(
    raw: &mut RawData,
    path: &Path,
    parse: fn(&str) -> std::result::Result<Value, String>,
    keys: &MetaKeys,
    side: SideIds,
) -> Result<()> {
    raw.add_source(path)?;
    let mut seen = HashMap::new();
    for_each_line(path, parse, |ln, v| {
        let id = req_str(path, ln, &v, keys.id)?;
        let mut info = RawItem {
            title: v.get("title").and_then(Value::as_str).unwrap_or("").trim().to_string(),
            genres: strings(v.get(keys.categories)),
            ..Default::default()
        };
        let desc = strings(v.get("description")).join(" ");
        if !desc.is_empty() {
            info.description = Some(desc);
        }
        for k in keys.extra {
            match v.get(*k) {
                Some(Value::String(s)) if !s.trim().is_empty() => {
                    info.extra.insert(k.to_string(), s.trim().to_string());
                }
                Some(Value::Number(n)) => {
                    info.extra.insert(k.to_string(), n.to_string());
                }
                _ => {}
            }
        }
        raw.set_item(path, ln, &id, info, side, &mut seen)
    })?;
    Ok(())
}
