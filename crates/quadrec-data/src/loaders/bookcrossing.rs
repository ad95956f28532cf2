//! Book-Crossing (Ziegler et al. 2005): `BX-Book-Ratings.csv` (`"User-ID";"ISBN";"Book-Rating"`),
//! `BX-Books.csv` (`"ISBN";"Book-Title";"Book-Author";"Year-Of-Publication";"Publisher";
//! "Image-URL-S";"Image-URL-M";"Image-URL-L"`), `BX-Users.csv` (`"User-ID";"Location";"Age"`):
//! `;`-separated, every field quoted, backslash escapes, Latin-1.
//!
//! Rating 0 means an implicit interaction (the book was seen, not rated); it is kept as rating 0
//! so that `rating_threshold = 1` selects the explicit ratings. There are no timestamps: every
//! timestamp is 0 and time order is the file's row order (the recorded tie breaker), so
//! "leave-one-out by time" on this dataset means "by file row". Year 0 means unknown; Age "NULL"
//! means missing.

use crate::csvio::Csv;
use crate::error::{DataError, Result};
use crate::raw::{RawData, RawItem, SideIds, require_file};
use crate::textio::{Encoding, parse_f32, parse_id};
use crate::types::{FeatureKind, FeatureValue};
use std::collections::HashMap;
use std::path::Path;

/// Load the three BX files from `dir` (`BX-Users.csv` optional).
pub fn load(dir: &Path, side: SideIds) -> Result<RawData> {
    let ratings = require_file(dir, "BX-Book-Ratings.csv")?;
    let books = require_file(dir, "BX-Books.csv")?;
    let mut raw = RawData::new("bookcrossing");
    raw.add_source(&ratings)?;
    let mut c = Csv::open(&ratings, b';', Encoding::Latin1, true)?;
    const R: [&str; 3] = ["User-ID", "ISBN", "Book-Rating"];
    c.expect_header(&R)?;
    let mut first = 0;
    while let Some((ln, f)) = c.next()? {
        if first == 0 {
            first = ln;
        }
        let u = parse_id(&ratings, ln, R[0], &f[0])?;
        let i = parse_id(&ratings, ln, R[1], &f[1])?;
        let r = parse_f32(&ratings, ln, R[2], &f[2])?;
        if !(0.0..=10.0).contains(&r) {
            return Err(DataError::field(&ratings, ln, R[2], format!("rating {r} outside 0..=10")));
        }
        raw.push(&ratings, ln, u, i, r, 0)?;
    }
    raw.require_rows(&ratings)?;
    raw.require_unique_pairs(&ratings, first)?;

    raw.add_source(&books)?;
    let mut c = Csv::open(&books, b';', Encoding::Latin1, true)?;
    const B: [&str; 8] = [
        "ISBN",
        "Book-Title",
        "Book-Author",
        "Year-Of-Publication",
        "Publisher",
        "Image-URL-S",
        "Image-URL-M",
        "Image-URL-L",
    ];
    c.expect_header(&B)?;
    let mut seen = HashMap::new();
    while let Some((ln, f)) = c.next()? {
        let id = parse_id(&books, ln, B[0], &f[0])?.to_string();
        let year =
            match f[3].trim() {
                "" | "0" => None,
                y => Some(y.parse::<i32>().map_err(|_| {
                    DataError::field(&books, ln, B[3], format!("not a year: `{y}`"))
                })?),
            };
        let mut info = RawItem { title: f[1].trim().to_string(), year, ..Default::default() };
        for (k, name) in [(2, "author"), (4, "publisher")] {
            if !f[k].trim().is_empty() {
                info.extra.insert(name.to_string(), f[k].trim().to_string());
            }
        }
        raw.set_item(&books, ln, &id, info, side, &mut seen)?;
    }

    let users = dir.join("BX-Users.csv");
    if users.is_file() {
        raw.add_source(&users)?;
        let mut c = Csv::open(&users, b';', Encoding::Latin1, true)?;
        const U: [&str; 3] = ["User-ID", "Location", "Age"];
        c.expect_header(&U)?;
        raw.user_schema = vec![
            ("location".into(), FeatureKind::Categorical),
            ("age".into(), FeatureKind::Numeric),
        ];
        let mut seen = HashMap::new();
        while let Some((ln, f)) = c.next()? {
            let id = parse_id(&users, ln, U[0], &f[0])?.to_string();
            let loc = (!f[1].trim().is_empty()).then(|| FeatureValue::Cat(f[1].trim().to_string()));
            let age = match f[2].trim() {
                "NULL" | "" => None,
                a => Some(FeatureValue::Num(parse_f32(&users, ln, U[2], a)? as f64)),
            };
            raw.set_user(&users, ln, &id, vec![loc, age], side, &mut seen)?;
        }
    }
    Ok(raw)
}
