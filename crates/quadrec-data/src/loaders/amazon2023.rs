//! Amazon Reviews 2023 (Hou et al., 2024): JSONL reviews `<Category>.jsonl[.gz]`
//! (`user_id, parent_asin, rating, timestamp` in MILLISECONDS, converted to seconds by floor
//! division; `asin` is the variant, `parent_asin` the product we recommend) and
//! `meta_<Category>.jsonl[.gz]` (`parent_asin, title, main_category, categories: [..],
//! description: [..], store, price`).

use crate::error::Result;
use crate::loaders::amazon_common::{
    MetaKeys, find_files, for_each_line, json, read_meta, req_f64, req_i64, req_str,
};
use crate::raw::{RawData, SideIds};
use std::path::Path;

/// Load a folder holding one review file and one `meta_*` file.
pub fn load(dir: &Path, side: SideIds) -> Result<RawData> {
    let (reviews, meta) = find_files(dir)?;
    let mut raw = RawData::new("amazon-2023");
    raw.add_source(&reviews)?;
    for_each_line(&reviews, json, |ln, v| {
        let u = req_str(&reviews, ln, &v, "user_id")?;
        let i = req_str(&reviews, ln, &v, "parent_asin")?;
        let r = req_f64(&reviews, ln, &v, "rating")? as f32;
        let t = req_i64(&reviews, ln, &v, "timestamp")?.div_euclid(1000);
        raw.push(&reviews, ln, &u, &i, r, t)
    })?;
    read_meta(
        &mut raw,
        &meta,
        json,
        &MetaKeys {
            id: "parent_asin",
            categories: "categories",
            extra: &["main_category", "store", "price"],
        },
        side,
    )?;
    Ok(raw)
}
