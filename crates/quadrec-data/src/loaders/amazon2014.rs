//! Amazon product reviews 2014 (McAuley et al., SIGIR 2015): gzipped JSON-lines reviews
//! (`reviewerID, asin, overall, unixReviewTime`, e.g. `reviews_Beauty_5.json.gz`) and
//! metadata `meta_<Category>.json.gz` written as Python literals (`{'asin': '...',
//! 'categories': [[...]], ...}`), parsed by [`crate::pyliteral`]. Categories (a list of
//! category paths) are flattened, first occurrence first.

use crate::error::Result;
use crate::loaders::amazon_common::{
    MetaKeys, find_files, for_each_line, json, read_meta, req_f64, req_i64, req_str,
};
use crate::raw::{RawData, SideIds};
use std::path::Path;

/// Load a folder holding one review file and one `meta_*` file.
pub fn load(dir: &Path, side: SideIds) -> Result<RawData> {
    let (reviews, meta) = find_files(dir)?;
    let mut raw = RawData::new("amazon-2014");
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
        crate::pyliteral::parse,
        &MetaKeys { id: "asin", categories: "categories", extra: &["brand", "price"] },
        side,
    )?;
    Ok(raw)
}
