//! RecBole atomic files (`<name>.inter`, optional `<name>.item`, `<name>.user`): tab-separated,
//! UTF-8, a typed header `field:type` with types `token`, `token_seq`, `float`, `float_seq`.
//! This is RecBole's interchange format and how ML-100K ships in the pinned `recbole` wheel.
//!
//! Field mapping: `.inter` needs `user_id:token` and `item_id:token`; `rating` and `timestamp`
//! are optional (1.0 and 0 when absent). In `.item`, `*title*` -> title, `release_year`/`year`
//! -> year, `class`/`genre`/`genres`/`categories` (token_seq, space separated) -> genres,
//! `description` -> description, anything else -> extra text. In `.user`, `float` fields are
//! numeric features and everything else categorical.

use crate::error::{DataError, Result};
use crate::raw::{RawData, RawItem, SideIds};
use crate::textio::{Encoding, Lines, parse_f32, parse_id, parse_ts, split_exact};
use crate::types::{FeatureKind, FeatureValue};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

struct Header {
    names: Vec<String>,
    types: Vec<String>,
}

fn header(lines: &mut Lines) -> Result<Header> {
    let path = lines.path().to_path_buf();
    let Some((ln, h)) = lines.next_line()? else {
        return Err(DataError::file(&path, "empty file: expected a `field:type` header"));
    };
    let mut names = Vec::new();
    let mut types = Vec::new();
    for f in h.split('\t') {
        let Some((n, t)) = f.split_once(':') else {
            return Err(DataError::line(
                &path,
                ln,
                format!("header field `{f}` is not `name:type` (is the file tab-separated?)"),
            ));
        };
        if !matches!(t, "token" | "token_seq" | "float" | "float_seq") {
            return Err(DataError::field(&path, ln, n, format!("unknown atomic type `{t}`")));
        }
        names.push(n.to_string());
        types.push(t.to_string());
    }
    Ok(Header { names, types })
}

fn find_one(dir: &Path, ext: &str, required: bool) -> Result<Option<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(DataError::io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(ext))
        .collect();
    found.sort();
    match found.len() {
        0 if required => Err(DataError::file(dir, format!("no `*.{ext}` file in this folder"))),
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(DataError::file(
            dir,
            format!("several `*.{ext}` files: {found:?}; keep one per folder"),
        )),
    }
}

/// Load a folder of RecBole atomic files.
pub fn load(dir: &Path, side: SideIds) -> Result<RawData> {
    let inter = find_one(dir, "inter", true)?.expect("required");
    load_files(
        &inter,
        find_one(dir, "item", false)?.as_deref(),
        find_one(dir, "user", false)?.as_deref(),
        side,
        "recbole",
    )
}

/// Load explicit atomic files (used by the ML-100K asset loader).
pub fn load_files(
    inter: &Path,
    item: Option<&Path>,
    user: Option<&Path>,
    side: SideIds,
    format: &str,
) -> Result<RawData> {
    let mut raw = RawData::new(format);
    raw.add_source(inter)?;
    let mut lines = Lines::open(inter, Encoding::Utf8)?;
    let h = header(&mut lines)?;
    let pos = |n: &str| h.names.iter().position(|x| x == n);
    let ui = pos("user_id")
        .ok_or_else(|| DataError::field(inter, 1, "user_id", "missing from header"))?;
    let ii = pos("item_id")
        .ok_or_else(|| DataError::field(inter, 1, "item_id", "missing from header"))?;
    let ri = pos("rating");
    let ti = pos("timestamp");
    let names: Vec<&str> = h.names.iter().map(String::as_str).collect();
    while let Some((ln, l)) = lines.next_line()? {
        if l.is_empty() {
            continue;
        }
        let f = split_exact(inter, ln, &l, "\t", &names)?;
        let u = parse_id(inter, ln, "user_id", f[ui])?;
        let i = parse_id(inter, ln, "item_id", f[ii])?;
        let r = match ri {
            Some(k) => parse_f32(inter, ln, "rating", f[k])?,
            None => 1.0,
        };
        let t = match ti {
            Some(k) => parse_ts(inter, ln, "timestamp", f[k])?,
            None => 0,
        };
        let (u, i) = (u.to_string(), i.to_string());
        raw.push(inter, ln, &u, &i, r, t)?;
    }
    raw.require_rows(inter)?;

    if let Some(p) = item {
        raw.add_source(p)?;
        let mut lines = Lines::open(p, Encoding::Utf8)?;
        let h = header(&mut lines)?;
        let names: Vec<&str> = h.names.iter().map(String::as_str).collect();
        let idk = names
            .iter()
            .position(|&n| n == "item_id")
            .ok_or_else(|| DataError::field(p, 1, "item_id", "missing from header"))?;
        let mut seen = HashMap::new();
        while let Some((ln, l)) = lines.next_line()? {
            if l.is_empty() {
                continue;
            }
            let f = split_exact(p, ln, &l, "\t", &names)?;
            let id = parse_id(p, ln, "item_id", f[idk])?.to_string();
            let mut info = RawItem::default();
            for (k, &n) in names.iter().enumerate() {
                let v = f[k].trim();
                if k == idk || v.is_empty() {
                    continue;
                }
                match n {
                    n if n.contains("title") => info.title = v.to_string(),
                    // `token`-typed: a non-numeric value (ML-100K item 267 says "unkonwn") means
                    // the year is unknown, not that the file is malformed.
                    "release_year" | "year" | "publication_year" => {
                        info.year =
                            v.parse::<f64>().ok().filter(|y| y.fract() == 0.0).map(|y| y as i32)
                    }
                    "class" | "genre" | "genres" | "categories" => {
                        info.genres =
                            v.split(' ').filter(|s| !s.is_empty()).map(String::from).collect()
                    }
                    "description" => info.description = Some(v.to_string()),
                    _ => {
                        info.extra.insert(n.to_string(), v.to_string());
                    }
                }
            }
            raw.set_item(p, ln, &id, info, side, &mut seen)?;
        }
    }
    if let Some(p) = user {
        raw.add_source(p)?;
        let mut lines = Lines::open(p, Encoding::Utf8)?;
        let h = header(&mut lines)?;
        let names: Vec<&str> = h.names.iter().map(String::as_str).collect();
        let idk = names
            .iter()
            .position(|&n| n == "user_id")
            .ok_or_else(|| DataError::field(p, 1, "user_id", "missing from header"))?;
        raw.user_schema = names
            .iter()
            .zip(&h.types)
            .enumerate()
            .filter(|(k, _)| *k != idk)
            .map(|(_, (n, t))| {
                (
                    n.to_string(),
                    if t == "float" { FeatureKind::Numeric } else { FeatureKind::Categorical },
                )
            })
            .collect();
        let mut seen = HashMap::new();
        while let Some((ln, l)) = lines.next_line()? {
            if l.is_empty() {
                continue;
            }
            let f = split_exact(p, ln, &l, "\t", &names)?;
            let id = parse_id(p, ln, "user_id", f[idk])?.to_string();
            let mut vals = Vec::new();
            for (k, &n) in names.iter().enumerate() {
                if k == idk {
                    continue;
                }
                let v = f[k].trim();
                vals.push(if v.is_empty() {
                    None
                } else if h.types[k] == "float" {
                    Some(FeatureValue::Num(parse_f32(p, ln, n, v)? as f64))
                } else {
                    Some(FeatureValue::Cat(v.to_string()))
                });
            }
            raw.set_user(p, ln, &id, vals, side, &mut seen)?;
        }
    }
    Ok(raw)
}
