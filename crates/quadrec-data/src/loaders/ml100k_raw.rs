//! MovieLens-100K as distributed by GroupLens (`ml-100k.zip`): `u.data` (tab-separated
//! `user id, item id, rating, timestamp`), `u.item` (`|`-separated, Latin-1: id, title with
//! "(year)", release date, video release date, IMDb URL, 19 genre flags), `u.user`
//! (`|`-separated: id, age, gender, occupation, zip code). The README guarantees every user and
//! item in the side files has ratings, and one rating per (user, item): both are enforced.

use crate::error::{DataError, Result};
use crate::raw::{RawData, RawItem, SideIds, require_file};
use crate::textio::{
    Encoding, Lines, parse_f32, parse_id, parse_ts, split_exact, split_title_year,
};
use crate::types::{FeatureKind, FeatureValue};
use std::collections::HashMap;
use std::path::Path;

/// The 19 genre flags of `u.item`, in file order (from `u.genre`).
pub const GENRES: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// Load `u.data`, `u.item`, `u.user` from `dir`.
pub fn load(dir: &Path, side: SideIds) -> Result<RawData> {
    let data = require_file(dir, "u.data")?;
    let item = require_file(dir, "u.item")?;
    let user = require_file(dir, "u.user")?;
    let mut raw = RawData::new("ml-100k-raw");
    raw.add_source(&data)?;
    let mut lines = Lines::open(&data, Encoding::Latin1)?;
    const F: [&str; 4] = ["user_id", "item_id", "rating", "timestamp"];
    while let Some((ln, l)) = lines.next_line()? {
        if l.is_empty() {
            continue;
        }
        let f = split_exact(&data, ln, &l, "\t", &F)?;
        let u = parse_id(&data, ln, F[0], f[0])?.to_string();
        let i = parse_id(&data, ln, F[1], f[1])?.to_string();
        let r = parse_f32(&data, ln, F[2], f[2])?;
        let t = parse_ts(&data, ln, F[3], f[3])?;
        raw.push(&data, ln, &u, &i, r, t)?;
    }
    raw.require_rows(&data)?;
    raw.require_unique_pairs(&data, 1)?;

    raw.add_source(&item)?;
    let mut names = vec!["item_id", "title", "release_date", "video_release_date", "imdb_url"];
    names.extend(GENRES);
    let mut lines = Lines::open(&item, Encoding::Latin1)?;
    let mut seen = HashMap::new();
    while let Some((ln, l)) = lines.next_line()? {
        if l.is_empty() {
            continue;
        }
        let f = split_exact(&item, ln, &l, "|", &names)?;
        let id = parse_id(&item, ln, "item_id", f[0])?.to_string();
        let (title, year) = split_title_year(f[1]);
        let mut info = RawItem { title, year, ..Default::default() };
        // Year from the release date ("01-Jan-1995") when the title has none.
        if info.year.is_none() {
            info.year = f[2].rsplit('-').next().and_then(|y| y.parse().ok());
        }
        for (g, flag) in GENRES.iter().zip(&f[5..]) {
            match flag.trim() {
                "1" => info.genres.push(g.to_string()),
                "0" => {}
                other => {
                    return Err(DataError::field(
                        &item,
                        ln,
                        *g,
                        format!("genre flag must be 0 or 1, found `{other}`"),
                    ));
                }
            }
        }
        for (k, name) in [(2, "release_date"), (4, "imdb_url")] {
            if !f[k].trim().is_empty() {
                info.extra.insert(name.to_string(), f[k].trim().to_string());
            }
        }
        raw.set_item(&item, ln, &id, info, side, &mut seen)?;
    }

    raw.add_source(&user)?;
    raw.user_schema = vec![
        ("age".into(), FeatureKind::Numeric),
        ("gender".into(), FeatureKind::Categorical),
        ("occupation".into(), FeatureKind::Categorical),
        ("zip_code".into(), FeatureKind::Categorical),
    ];
    const U: [&str; 5] = ["user_id", "age", "gender", "occupation", "zip_code"];
    let mut lines = Lines::open(&user, Encoding::Latin1)?;
    let mut seen = HashMap::new();
    while let Some((ln, l)) = lines.next_line()? {
        if l.is_empty() {
            continue;
        }
        let f = split_exact(&user, ln, &l, "|", &U)?;
        let id = parse_id(&user, ln, "user_id", f[0])?.to_string();
        let age = parse_f32(&user, ln, "age", f[1])? as f64;
        let vals = vec![
            Some(FeatureValue::Num(age)),
            Some(FeatureValue::Cat(f[2].trim().to_string())),
            Some(FeatureValue::Cat(f[3].trim().to_string())),
            Some(FeatureValue::Cat(f[4].trim().to_string())),
        ];
        raw.set_user(&user, ln, &id, vals, side, &mut seen)?;
    }
    Ok(raw)
}
