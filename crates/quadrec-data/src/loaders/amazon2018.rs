//! Amazon review data 2018 (Ni et al., EMNLP 2019): gzipped JSON-lines reviews
//! (`reviewerID, asin, overall, unixReviewTime`, e.g. `Beauty_5.json.gz`) and strict-JSON
//! metadata `meta_<Category>.json.gz` (`asin, title, category: [..], description: [..], brand,
//! price: "$x", main_cat`). Reviews repeat in the raw files; the dedup policy handles them.

use crate::error::Result;
use crate::loaders::amazon_common::{
    MetaKeys, find_files, for_each_line, json, read_meta, req_f64, req_i64, req_str,
};
use crate::raw::{RawData, SideIds};
use std::path::Path;

/// Load a folder holding one review file and one `meta_*` file.
pub fn load(dir: &Path, side: SideIds) -> Result<RawData> {
    let (reviews, meta) = find_files(dir)?;
    let mut raw = RawData::new("amazon-2018");
    raw.add_source(&reviews)?;
    for_each_line(&reviews, json, |ln, v| {
        let u = req_str(&reviews, ln, &v, "reviewerID")?;
        let i = req_str(&reviews, ln, &v, "asin")?;
        let r = req_f64(&reviews, ln, &v, "overall")? as f32;
        let t = req_i64(&reviews, ln, &v, "unixReviewTime")?;
        raw.push(&reviews, ln, &u, &i, r, t)
    })?;
    read_meta(
        &mut raw,
        &meta,
        json,
        &MetaKeys { id: "asin", categories: "category", extra: &["brand", "price", "main_cat"] },
        side,
    )?;
    Ok(raw)
}
