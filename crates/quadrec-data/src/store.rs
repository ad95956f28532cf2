//! Processed datasets on disk: `<root>/<id>/{interactions,items,users}.parquet`, `manifest.json`
//! (with the sha256 of each table) and `card.md`. The folder is written under a temporary name
//! and renamed into place, so a failure never leaves a partial dataset; loading verifies every
//! table's sha256 against the manifest.

use crate::error::{DataError, Result};
use crate::manifest::{Manifest, TableFile};
use crate::pq;
use crate::types::{Dataset, FeatureKind, FeatureValue, Interaction, ItemTable, UserTable};
use arrow::array::{
    Array, ArrayRef, AsArray, Float32Array, Float64Array, Int32Array, Int64Array, ListBuilder,
    RecordBatch, StringArray, StringBuilder, UInt32Array,
};
use arrow::datatypes::{
    DataType, Field, Float32Type, Float64Type, Int32Type, Int64Type, Schema, UInt32Type,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// File names inside a dataset folder.
pub const INTERACTIONS_FILE: &str = "interactions.parquet";
/// Items table file.
pub const ITEMS_FILE: &str = "items.parquet";
/// Users table file.
pub const USERS_FILE: &str = "users.parquet";
/// Manifest file.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Card file.
pub const CARD_FILE: &str = "card.md";

/// Default root of processed datasets: `cache_dir()/datasets`.
pub fn default_root() -> PathBuf {
    quadrec_core::cache_dir().join("datasets")
}

fn pqerr(path: impl Into<PathBuf>) -> impl FnOnce(String) -> DataError {
    let path = path.into();
    move |msg| DataError::Parquet { path, msg }
}

fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    // Optional columns are declared nullable even when this dataset has no null, so that the
    // schema (and the bytes) depend on the column's meaning, not on the data.
    let fields: Vec<Field> = cols
        .iter()
        .map(|(n, a)| {
            let required =
                matches!(a.data_type(), DataType::UInt32 | DataType::Float32 | DataType::Int64);
            Field::new(*n, a.data_type().clone(), !required)
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols.into_iter().map(|(_, a)| a).collect())
        .expect("columns have equal length by construction")
}

/// Encode the three tables. Returns (interactions, items, users) Parquet bytes.
pub fn encode_tables(d: &Dataset) -> std::result::Result<[Vec<u8>; 3], String> {
    let n = d.interactions.len();
    let mut u = Vec::with_capacity(n);
    let mut i = Vec::with_capacity(n);
    let mut r = Vec::with_capacity(n);
    let mut t = Vec::with_capacity(n);
    for x in &d.interactions {
        u.push(x.user);
        i.push(x.item);
        r.push(x.rating);
        t.push(x.timestamp);
    }
    let inter = batch(vec![
        ("user", Arc::new(UInt32Array::from(u)) as ArrayRef),
        ("item", Arc::new(UInt32Array::from(i))),
        ("rating", Arc::new(Float32Array::from(r))),
        ("timestamp", Arc::new(Int64Array::from(t))),
    ]);
    let it = &d.items;
    let mut genres = ListBuilder::new(StringBuilder::new());
    for g in &it.genres {
        for s in g {
            genres.values().append_value(s);
        }
        genres.append(true);
    }
    let mut icols: Vec<(String, ArrayRef)> = vec![
        ("item".into(), Arc::new(UInt32Array::from_iter_values(0..it.len() as u32))),
        ("raw_id".into(), Arc::new(StringArray::from_iter_values(&it.raw_ids))),
        ("title".into(), Arc::new(StringArray::from_iter_values(&it.titles))),
        ("year".into(), Arc::new(Int32Array::from(it.years.clone()))),
        ("genres".into(), Arc::new(genres.finish())),
        ("description".into(), Arc::new(StringArray::from(it.descriptions.clone()))),
    ];
    for (name, col) in &it.extra {
        icols.push((format!("extra.{name}"), Arc::new(StringArray::from(col.clone()))));
    }
    let items = batch(icols.iter().map(|(n, a)| (n.as_str(), a.clone())).collect());
    let us = &d.users;
    let mut ucols: Vec<(String, ArrayRef)> = vec![
        ("user".into(), Arc::new(UInt32Array::from_iter_values(0..us.len() as u32))),
        ("raw_id".into(), Arc::new(StringArray::from_iter_values(&us.raw_ids))),
    ];
    for (name, kind, col) in &us.features {
        let a: ArrayRef = match kind {
            FeatureKind::Categorical => Arc::new(StringArray::from(
                col.iter()
                    .map(|v| match v {
                        Some(FeatureValue::Cat(s)) => Some(s.clone()),
                        Some(FeatureValue::Num(x)) => Some(x.to_string()),
                        None => None,
                    })
                    .collect::<Vec<_>>(),
            )),
            FeatureKind::Numeric => Arc::new(Float64Array::from(
                col.iter()
                    .map(|v| match v {
                        Some(FeatureValue::Num(x)) => Some(*x),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
            )),
        };
        ucols.push((format!("f.{name}"), a));
    }
    let users = batch(ucols.iter().map(|(n, a)| (n.as_str(), a.clone())).collect());
    Ok([pq::encode(&inter)?, pq::encode(&items)?, pq::encode(&users)?])
}

/// Write a processed dataset into `root/<id>/` atomically and return it with its manifest's
/// table entries (sha256, rows) filled. If the folder already exists with the same manifest it
/// is reused; a different manifest under the same id is an error (it would mean the processing
/// code changed without a version bump).
pub fn save(mut d: Dataset, root: &Path) -> Result<Dataset> {
    let dest = root.join(&d.id);
    let [bi, bt, bu] = encode_tables(&d).map_err(pqerr(&dest))?;
    let sha = quadrec_core::hash::sha256_hex;
    d.manifest.interactions = TableFile {
        file: INTERACTIONS_FILE.into(),
        sha256: sha(&bi),
        rows: d.interactions.len() as u64,
    };
    d.manifest.items =
        TableFile { file: ITEMS_FILE.into(), sha256: sha(&bt), rows: d.items.len() as u64 };
    d.manifest.users =
        TableFile { file: USERS_FILE.into(), sha256: sha(&bu), rows: d.users.len() as u64 };
    let manifest_json = serde_json::to_vec_pretty(&d.manifest).expect("manifest serialises");
    if dest.join(MANIFEST_FILE).is_file() {
        let old = std::fs::read(dest.join(MANIFEST_FILE))
            .map_err(DataError::io(dest.join(MANIFEST_FILE)))?;
        if old == manifest_json {
            return Ok(d);
        }
        return Err(DataError::file(
            &dest,
            "a dataset with this id exists but its manifest differs; delete the folder to rebuild it",
        ));
    }
    std::fs::create_dir_all(root).map_err(DataError::io(root))?;
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-dataset-")
        .tempdir_in(root)
        .map_err(DataError::io(root))?;
    let w = |name: &str, bytes: &[u8]| -> Result<()> {
        let p = tmp.path().join(name);
        quadrec_core::fsx::write_atomic(&p, bytes).map_err(DataError::io(p))
    };
    w(INTERACTIONS_FILE, &bi)?;
    w(ITEMS_FILE, &bt)?;
    w(USERS_FILE, &bu)?;
    w(CARD_FILE, d.manifest.card.render(&d.id).as_bytes())?;
    w(MANIFEST_FILE, &manifest_json)?;
    let tmp_path = tmp.keep();
    if let Err(e) = std::fs::rename(&tmp_path, &dest) {
        let _ = std::fs::remove_dir_all(&tmp_path);
        return Err(DataError::Io { path: dest, source: e });
    }
    Ok(d)
}

/// Read a manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let p = dir.join(MANIFEST_FILE);
    let s = std::fs::read(&p).map_err(DataError::io(&p))?;
    serde_json::from_slice(&s).map_err(|e| DataError::line(&p, e.line() as u64, e.to_string()))
}

fn verified(dir: &Path, t: &TableFile) -> Result<PathBuf> {
    let p = dir.join(&t.file);
    let actual = quadrec_core::hash::sha256_file(&p).map_err(DataError::io(&p))?;
    if actual != t.sha256 {
        return Err(DataError::Checksum { path: p, expected: t.sha256.clone(), actual });
    }
    Ok(p)
}

fn col<'a>(b: &'a RecordBatch, p: &Path, name: &str) -> Result<&'a ArrayRef> {
    b.column_by_name(name).ok_or_else(|| DataError::Parquet {
        path: p.into(),
        msg: format!("missing column `{name}`"),
    })
}

/// Load a processed dataset from its folder, verifying every table's sha256.
pub fn load(dir: &Path) -> Result<Dataset> {
    let manifest = read_manifest(dir)?;
    let pi = verified(dir, &manifest.interactions)?;
    let pt = verified(dir, &manifest.items)?;
    let pu = verified(dir, &manifest.users)?;
    let mut interactions = Vec::with_capacity(manifest.interactions.rows as usize);
    for b in pq::decode_file(&pi).map_err(pqerr(&pi))? {
        let u = col(&b, &pi, "user")?.as_primitive::<UInt32Type>();
        let i = col(&b, &pi, "item")?.as_primitive::<UInt32Type>();
        let r = col(&b, &pi, "rating")?.as_primitive::<Float32Type>();
        let t = col(&b, &pi, "timestamp")?.as_primitive::<Int64Type>();
        for k in 0..b.num_rows() {
            interactions.push(Interaction {
                user: u.value(k),
                item: i.value(k),
                rating: r.value(k),
                timestamp: t.value(k),
            });
        }
    }
    let mut items = ItemTable::default();
    for b in pq::decode_file(&pt).map_err(pqerr(&pt))? {
        let raw = col(&b, &pt, "raw_id")?.as_string::<i32>();
        let title = col(&b, &pt, "title")?.as_string::<i32>();
        let year = col(&b, &pt, "year")?.as_primitive::<Int32Type>();
        let genres = col(&b, &pt, "genres")?.as_list::<i32>();
        let desc = col(&b, &pt, "description")?.as_string::<i32>();
        let base = items.raw_ids.len();
        let extra_names: Vec<String> = b
            .schema()
            .fields()
            .iter()
            .filter_map(|f| f.name().strip_prefix("extra.").map(String::from))
            .collect();
        for k in 0..b.num_rows() {
            items.raw_ids.push(raw.value(k).to_string());
            items.titles.push(title.value(k).to_string());
            items.years.push(year.is_valid(k).then(|| year.value(k)));
            let g = genres.value(k);
            let g = g.as_string::<i32>();
            items.genres.push((0..g.len()).map(|j| g.value(j).to_string()).collect());
            items.descriptions.push(desc.is_valid(k).then(|| desc.value(k).to_string()));
        }
        for name in extra_names {
            let c = col(&b, &pt, &format!("extra.{name}"))?.as_string::<i32>();
            let v = items.extra.entry(name).or_insert_with(|| vec![None; base]);
            for k in 0..b.num_rows() {
                v.push(c.is_valid(k).then(|| c.value(k).to_string()));
            }
        }
    }
    let mut users = UserTable::default();
    for b in pq::decode_file(&pu).map_err(pqerr(&pu))? {
        let raw = col(&b, &pu, "raw_id")?.as_string::<i32>();
        for k in 0..b.num_rows() {
            users.raw_ids.push(raw.value(k).to_string());
        }
        for f in b.schema().fields() {
            let Some(name) = f.name().strip_prefix("f.") else { continue };
            let a = col(&b, &pu, f.name())?;
            let (kind, vals): (FeatureKind, Vec<Option<FeatureValue>>) = match a.data_type() {
                DataType::Float64 => {
                    let c = a.as_primitive::<Float64Type>();
                    (
                        FeatureKind::Numeric,
                        (0..b.num_rows())
                            .map(|k| c.is_valid(k).then(|| FeatureValue::Num(c.value(k))))
                            .collect(),
                    )
                }
                _ => {
                    let c = a.as_string::<i32>();
                    (
                        FeatureKind::Categorical,
                        (0..b.num_rows())
                            .map(|k| {
                                c.is_valid(k).then(|| FeatureValue::Cat(c.value(k).to_string()))
                            })
                            .collect(),
                    )
                }
            };
            match users.features.iter_mut().find(|(n, _, _)| n == name) {
                Some((_, _, v)) => v.extend(vals),
                None => users.features.push((name.to_string(), kind, vals)),
            }
        }
    }
    if interactions.len() as u64 != manifest.interactions.rows
        || items.len() as u64 != manifest.items.rows
    {
        return Err(DataError::file(dir, "row counts differ from the manifest"));
    }
    Ok(Dataset { id: manifest.id.clone(), interactions, items, users, manifest })
}
