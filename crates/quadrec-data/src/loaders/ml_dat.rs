//! MovieLens 1M and 10M `.dat` files, `::`-separated: `ratings.dat`
//! (`UserID::MovieID::Rating::Timestamp`), `movies.dat` (`MovieID::Title (Year)::Genre|Genre`),
//! and for 1M `users.dat` (`UserID::Gender::Age::Occupation::Zip-code`; age and occupation are
//! the README's codes, kept as categorical strings). ML-1M is Latin-1; ML-10M ships the same
//! layout (no users file) and is read as UTF-8 with a per-line Latin-1 fallback.

use crate::error::{DataError, Result};
use crate::raw::{RawData, RawItem, SideIds, require_file};
use crate::textio::{
    Encoding, Lines, parse_f32, parse_id, parse_ts, split_exact, split_title_year,
};
use crate::types::{FeatureKind, FeatureValue};
use std::collections::HashMap;
use std::path::Path;

/// Load ML-1M from `dir` (`ratings.dat`, `movies.dat`, `users.dat`).
pub fn load_1m(dir: &Path, side: SideIds) -> Result<RawData> {
    load(dir, side, "ml-1m", Encoding::Latin1, true)
}

/// Load ML-10M from `dir` (`ratings.dat`, `movies.dat`; no users file).
pub fn load_10m(dir: &Path, side: SideIds) -> Result<RawData> {
    load(dir, side, "ml-10m", Encoding::Utf8OrLatin1, false)
}

fn load(dir: &Path, side: SideIds, format: &str, enc: Encoding, users: bool) -> Result<RawData> {
    let ratings = require_file(dir, "ratings.dat")?;
    let movies = require_file(dir, "movies.dat")?;
    let mut raw = RawData::new(format);
    raw.add_source(&ratings)?;
    const R: [&str; 4] = ["UserID", "MovieID", "Rating", "Timestamp"];
    let mut lines = Lines::open(&ratings, enc)?;
    while let Some((ln, l)) = lines.next_line()? {
        if l.is_empty() {
            continue;
        }
        let f = split_exact(&ratings, ln, &l, "::", &R)?;
        let u = parse_id(&ratings, ln, R[0], f[0])?.to_string();
        let i = parse_id(&ratings, ln, R[1], f[1])?.to_string();
        let r = parse_f32(&ratings, ln, R[2], f[2])?;
        let t = parse_ts(&ratings, ln, R[3], f[3])?;
        raw.push(&ratings, ln, &u, &i, r, t)?;
    }
    raw.require_rows(&ratings)?;
    raw.require_unique_pairs(&ratings, 1)?;

    raw.add_source(&movies)?;
    const M: [&str; 3] = ["MovieID", "Title", "Genres"];
    let mut lines = Lines::open(&movies, enc)?;
    let mut seen = HashMap::new();
    while let Some((ln, l)) = lines.next_line()? {
        if l.is_empty() {
            continue;
        }
        let f = split_exact(&movies, ln, &l, "::", &M)?;
        let id = parse_id(&movies, ln, M[0], f[0])?.to_string();
        let (title, year) = split_title_year(f[1]);
        let genres = split_genres(f[2]);
        raw.set_item(
            &movies,
            ln,
            &id,
            RawItem { title, year, genres, ..Default::default() },
            side,
            &mut seen,
        )?;
    }

    if users {
        let path = require_file(dir, "users.dat")?;
        raw.add_source(&path)?;
        const U: [&str; 5] = ["UserID", "Gender", "Age", "Occupation", "Zip-code"];
        raw.user_schema =
            U[1..].iter().map(|n| (n.to_lowercase(), FeatureKind::Categorical)).collect();
        let mut lines = Lines::open(&path, enc)?;
        let mut seen = HashMap::new();
        while let Some((ln, l)) = lines.next_line()? {
            if l.is_empty() {
                continue;
            }
            let f = split_exact(&path, ln, &l, "::", &U)?;
            let id = parse_id(&path, ln, U[0], f[0])?.to_string();
            if f[2].trim().parse::<u32>().is_err() {
                return Err(DataError::field(
                    &path,
                    ln,
                    "Age",
                    format!("not an age code: `{}`", f[2]),
                ));
            }
            let vals =
                f[1..].iter().map(|v| Some(FeatureValue::Cat(v.trim().to_string()))).collect();
            raw.set_user(&path, ln, &id, vals, side, &mut seen)?;
        }
    }
    Ok(raw)
}

/// `|`-separated genres; MovieLens writes "(no genres listed)" for none.
pub fn split_genres(s: &str) -> Vec<String> {
    let s = s.trim();
    if s.is_empty() || s == "(no genres listed)" {
        return Vec::new();
    }
    s.split('|').map(|g| g.trim().to_string()).filter(|g| !g.is_empty()).collect()
}
