//! A generic CSV / Parquet source described by a small TOML file (unknown keys are rejected):
//! which column is user, item, rating, timestamp, and which hold item text and user features.
//! Paths are relative to the TOML file. See `datasets/examples/*.toml`.

use crate::csvio::Csv;
use crate::error::{DataError, Result};
use crate::raw::{RawData, RawItem, SideIds};
use crate::textio::{Encoding, parse_f32, parse_id, parse_ts};
use crate::types::{FeatureKind, FeatureValue};
use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The TOML description.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericConfig {
    /// Interaction table.
    pub interactions: InteractionsConfig,
    /// Optional item table.
    pub items: Option<ItemsConfig>,
    /// Optional user table.
    pub users: Option<UsersConfig>,
}

/// How a table file is stored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Path relative to the TOML file.
    pub path: PathBuf,
    /// `csv` (default) or `parquet`.
    #[serde(default = "csv")]
    pub format: String,
    /// CSV delimiter (one character; default `,`; `\t` for tab).
    #[serde(default = "comma")]
    pub delimiter: String,
    /// `utf-8` (default) or `latin-1`.
    #[serde(default = "utf8")]
    pub encoding: String,
}

fn csv() -> String {
    "csv".into()
}
fn comma() -> String {
    ",".into()
}
fn utf8() -> String {
    "utf-8".into()
}
fn seconds() -> String {
    "s".into()
}
fn pipe() -> String {
    "|".into()
}

/// Interaction columns.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InteractionsConfig {
    /// The file.
    #[serde(flatten)]
    pub file: FileConfig,
    /// User id column.
    pub user: String,
    /// Item id column.
    pub item: String,
    /// Rating column (absent: every rating is 1.0).
    pub rating: Option<String>,
    /// Timestamp column (absent: 0, so time order = file order).
    pub timestamp: Option<String>,
    /// `s` (default) or `ms`.
    #[serde(default = "seconds")]
    pub timestamp_unit: String,
}

/// Item columns.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemsConfig {
    /// The file.
    #[serde(flatten)]
    pub file: FileConfig,
    /// Item id column.
    pub id: String,
    /// Title column.
    pub title: Option<String>,
    /// Year column.
    pub year: Option<String>,
    /// Genres / categories column.
    pub genres: Option<String>,
    /// Separator inside the genres column (default `|`).
    #[serde(default = "pipe")]
    pub genre_separator: String,
    /// Description column.
    pub description: Option<String>,
    /// Further text columns kept as extra fields.
    #[serde(default)]
    pub text: Vec<String>,
}

/// User columns.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersConfig {
    /// The file.
    #[serde(flatten)]
    pub file: FileConfig,
    /// User id column.
    pub id: String,
    /// Categorical feature columns.
    #[serde(default)]
    pub categorical: Vec<String>,
    /// Numeric feature columns.
    #[serde(default)]
    pub numeric: Vec<String>,
}

/// One row: line (CSV) or row number (Parquet), and the values by column.
type Row = (u64, Vec<Option<String>>);

/// Rows of a table as strings by column name, with line numbers (CSV) or row numbers (Parquet).
struct Table {
    path: PathBuf,
    header: Vec<String>,
    rows: Box<dyn Iterator<Item = Result<Row>>>,
}

impl Table {
    fn col(&self, name: &str) -> Result<usize> {
        self.header.iter().position(|h| h == name).ok_or_else(|| {
            DataError::field(
                &self.path,
                1,
                name,
                format!("column not found; columns are: {}", self.header.join(", ")),
            )
        })
    }
}

fn open_table(cfg_path: &Path, f: &FileConfig) -> Result<Table> {
    let path = cfg_path.parent().unwrap_or(Path::new(".")).join(&f.path);
    match f.format.as_str() {
        "csv" => {
            let delim = match f.delimiter.as_str() {
                "\\t" | "\t" => b'\t',
                d if d.len() == 1 => d.as_bytes()[0],
                d => {
                    return Err(DataError::Config {
                        path: cfg_path.into(),
                        msg: format!("delimiter `{d}` must be one byte"),
                    });
                }
            };
            let enc = match f.encoding.as_str() {
                "utf-8" | "utf8" => Encoding::Utf8,
                "latin-1" | "latin1" | "iso-8859-1" => Encoding::Latin1,
                e => {
                    return Err(DataError::Config {
                        path: cfg_path.into(),
                        msg: format!("unknown encoding `{e}` (utf-8, latin-1)"),
                    });
                }
            };
            let mut c = Csv::open(&path, delim, enc, false)?;
            let header = c.header.clone();
            let rows = std::iter::from_fn(move || match c.next() {
                Ok(Some((ln, v))) => Some(Ok((ln, v.into_iter().map(Some).collect()))),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            });
            Ok(Table { path, header, rows: Box::new(rows) })
        }
        "parquet" => {
            let batches = crate::pq::decode_file(&path)
                .map_err(|msg| DataError::Parquet { path: path.clone(), msg })?;
            let header: Vec<String> = match batches.first() {
                Some(b) => b.schema().fields().iter().map(|f| f.name().clone()).collect(),
                None => return Err(DataError::file(&path, "empty file: no rows")),
            };
            let mut out = Vec::new();
            let mut row = 0u64;
            for b in batches {
                let cols: Vec<_> = b
                    .columns()
                    .iter()
                    .map(|c| arrow::compute::cast(c, &DataType::Utf8))
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e| DataError::Parquet { path: path.clone(), msg: e.to_string() })?;
                for k in 0..b.num_rows() {
                    row += 1;
                    let v = cols.iter().map(|c| {
                        let s = c.as_string::<i32>();
                        s.is_valid(k).then(|| s.value(k).to_string())
                    });
                    out.push(Ok((row, v.collect())));
                }
            }
            Ok(Table { path, header, rows: Box::new(out.into_iter()) })
        }
        other => Err(DataError::Config {
            path: cfg_path.into(),
            msg: format!("unknown format `{other}` (csv, parquet)"),
        }),
    }
}

fn get<'a>(t: &Table, ln: u64, row: &'a [Option<String>], k: usize) -> Result<&'a str> {
    row[k].as_deref().ok_or_else(|| DataError::field(&t.path, ln, &t.header[k], "missing value"))
}

/// Load a generic source described by the TOML file at `cfg_path`.
pub fn load(cfg_path: &Path, side: SideIds) -> Result<RawData> {
    let text = std::fs::read_to_string(cfg_path).map_err(DataError::io(cfg_path))?;
    let cfg: GenericConfig = toml::from_str(&text)
        .map_err(|e| DataError::Config { path: cfg_path.into(), msg: e.to_string() })?;
    let mut raw = RawData::new("generic");
    raw.add_source(cfg_path)?;
    let ic = &cfg.interactions;
    let ms = match ic.timestamp_unit.as_str() {
        "s" => false,
        "ms" => true,
        u => {
            return Err(DataError::Config {
                path: cfg_path.into(),
                msg: format!("timestamp_unit `{u}` (s, ms)"),
            });
        }
    };
    let mut t = open_table(cfg_path, &ic.file)?;
    raw.add_source(&t.path.clone())?;
    let (cu, ci) = (t.col(&ic.user)?, t.col(&ic.item)?);
    let cr = ic.rating.as_deref().map(|c| t.col(c)).transpose()?;
    let ct = ic.timestamp.as_deref().map(|c| t.col(c)).transpose()?;
    while let Some(r) = t.rows.next() {
        let (ln, row) = r?;
        let u = parse_id(&t.path, ln, &t.header[cu], get(&t, ln, &row, cu)?)?.to_string();
        let i = parse_id(&t.path, ln, &t.header[ci], get(&t, ln, &row, ci)?)?.to_string();
        let rating = match cr {
            Some(k) => parse_f32(&t.path, ln, &t.header[k], get(&t, ln, &row, k)?)?,
            None => 1.0,
        };
        let ts = match ct {
            Some(k) => parse_ts(&t.path, ln, &t.header[k], get(&t, ln, &row, k)?)?,
            None => 0,
        };
        raw.push(&t.path, ln, &u, &i, rating, if ms { ts.div_euclid(1000) } else { ts })?;
    }
    raw.require_rows(&t.path)?;

    if let Some(ic) = &cfg.items {
        let mut t = open_table(cfg_path, &ic.file)?;
        raw.add_source(&t.path.clone())?;
        let cid = t.col(&ic.id)?;
        let opt = |c: &Option<String>| c.as_deref().map(|c| t.col(c)).transpose();
        let (ctitle, cyear, cgen, cdesc) =
            (opt(&ic.title)?, opt(&ic.year)?, opt(&ic.genres)?, opt(&ic.description)?);
        let ctext: Vec<(String, usize)> =
            ic.text.iter().map(|c| Ok((c.clone(), t.col(c)?))).collect::<Result<_>>()?;
        let mut seen = HashMap::new();
        while let Some(r) = t.rows.next() {
            let (ln, row) = r?;
            let id = parse_id(&t.path, ln, &ic.id, get(&t, ln, &row, cid)?)?.to_string();
            let val = |k: Option<usize>| {
                k.and_then(|k| row[k].as_deref()).map(str::trim).filter(|s| !s.is_empty())
            };
            let mut info =
                RawItem { title: val(ctitle).unwrap_or("").to_string(), ..Default::default() };
            if let Some(y) = val(cyear) {
                info.year = Some(y.parse::<i32>().map_err(|_| {
                    DataError::field(
                        &t.path,
                        ln,
                        ic.year.as_deref().unwrap_or("year"),
                        format!("not a year: `{y}`"),
                    )
                })?);
            }
            if let Some(g) = val(cgen) {
                info.genres = g
                    .split(ic.genre_separator.as_str())
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
            }
            info.description = val(cdesc).map(String::from);
            for (name, k) in &ctext {
                if let Some(v) = val(Some(*k)) {
                    info.extra.insert(name.clone(), v.to_string());
                }
            }
            raw.set_item(&t.path, ln, &id, info, side, &mut seen)?;
        }
    }
    if let Some(uc) = &cfg.users {
        let mut t = open_table(cfg_path, &uc.file)?;
        raw.add_source(&t.path.clone())?;
        let cid = t.col(&uc.id)?;
        let mut cols = Vec::new();
        for c in &uc.categorical {
            cols.push((c.clone(), FeatureKind::Categorical, t.col(c)?));
        }
        for c in &uc.numeric {
            cols.push((c.clone(), FeatureKind::Numeric, t.col(c)?));
        }
        raw.user_schema = cols.iter().map(|(n, k, _)| (n.clone(), *k)).collect();
        let mut seen = HashMap::new();
        while let Some(r) = t.rows.next() {
            let (ln, row) = r?;
            let id = parse_id(&t.path, ln, &uc.id, get(&t, ln, &row, cid)?)?.to_string();
            let mut vals = Vec::new();
            for (name, kind, k) in &cols {
                let v = row[*k].as_deref().map(str::trim).filter(|s| !s.is_empty());
                vals.push(match (v, kind) {
                    (None, _) => None,
                    (Some(s), FeatureKind::Categorical) => Some(FeatureValue::Cat(s.to_string())),
                    (Some(s), FeatureKind::Numeric) => {
                        Some(FeatureValue::Num(parse_f32(&t.path, ln, name, s)? as f64))
                    }
                });
            }
            raw.set_user(&t.path, ln, &id, vals, side, &mut seen)?;
        }
    }
    Ok(raw)
}
