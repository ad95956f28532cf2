//! MovieLens 20M / 25M / 32M / latest / latest-small CSV files (UTF-8): `ratings.csv`
//! (`userId,movieId,rating,timestamp`) and `movies.csv` (`movieId,title,genres`, titles quoted
//! when they contain commas or quotes, genres `|`-separated). `tags.csv` is not read: tags are
//! written by users over time, so using them as item text would leak future behaviour.

use crate::csvio::Csv;
use crate::error::Result;
use crate::loaders::ml_dat::split_genres;
use crate::raw::{RawData, RawItem, SideIds, require_file};
use crate::textio::{Encoding, parse_f32, parse_id, parse_ts, split_title_year};
use std::collections::HashMap;
use std::path::Path;

/// Load `ratings.csv` and `movies.csv` from `dir`.
pub fn load(dir: &Path, side: SideIds) -> Result<RawData> {
    let ratings = require_file(dir, "ratings.csv")?;
    let movies = require_file(dir, "movies.csv")?;
    let mut raw = RawData::new("ml-csv");
    raw.add_source(&ratings)?;
    let mut c = Csv::open(&ratings, b',', Encoding::Utf8, false)?;
    const R: [&str; 4] = ["userId", "movieId", "rating", "timestamp"];
    c.expect_header(&R)?;
    let mut first_line = 0;
    while let Some((ln, f)) = c.next()? {
        if first_line == 0 {
            first_line = ln;
        }
        let u = parse_id(&ratings, ln, R[0], &f[0])?;
        let i = parse_id(&ratings, ln, R[1], &f[1])?;
        let r = parse_f32(&ratings, ln, R[2], &f[2])?;
        let t = parse_ts(&ratings, ln, R[3], &f[3])?;
        raw.push(&ratings, ln, u, i, r, t)?;
    }
    raw.require_rows(&ratings)?;
    // Rows are one per line (ratings.csv has no quoted newlines), so line = first + row.
    raw.require_unique_pairs(&ratings, first_line)?;

    raw.add_source(&movies)?;
    let mut c = Csv::open(&movies, b',', Encoding::Utf8, false)?;
    const M: [&str; 3] = ["movieId", "title", "genres"];
    c.expect_header(&M)?;
    let mut seen = HashMap::new();
    while let Some((ln, f)) = c.next()? {
        let id = parse_id(&movies, ln, M[0], &f[0])?.to_string();
        let (title, year) = split_title_year(&f[1]);
        let genres = split_genres(&f[2]);
        raw.set_item(
            &movies,
            ln,
            &id,
            RawItem { title, year, genres, ..Default::default() },
            side,
            &mut seen,
        )?;
    }
    Ok(raw)
}
