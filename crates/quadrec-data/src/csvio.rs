//! Quoted CSV reading (MovieLens CSV, BookCrossing, generic sources) on top of the `csv` crate:
//! header check, exact field count, per-field decoding in the file's encoding, and errors that
//! name file, line and field.

use crate::error::{DataError, Result};
use crate::textio::{Encoding, decode, open};
use std::path::{Path, PathBuf};

/// A CSV reader that yields decoded records with their 1-based line numbers.
pub struct Csv {
    path: PathBuf,
    rdr: csv::Reader<Box<dyn std::io::Read>>,
    enc: Encoding,
    /// Column names from the header row.
    pub header: Vec<String>,
    rec: csv::ByteRecord,
}

impl Csv {
    /// Open `path` with `delim`, reading the header row. `escape` enables backslash escapes
    /// inside quotes (BookCrossing).
    pub fn open(path: &Path, delim: u8, enc: Encoding, escape: bool) -> Result<Csv> {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delim)
            .has_headers(true)
            .flexible(true)
            .escape(if escape { Some(b'\\') } else { None })
            .from_reader(open(path)?);
        let hb = rdr.byte_headers().map_err(|e| csv_err(path, 1, e))?.clone();
        if hb.is_empty() || (hb.len() == 1 && hb[0].is_empty()) {
            return Err(DataError::file(path, "empty file: expected a header row"));
        }
        let mut header = Vec::new();
        for f in hb.iter() {
            let s = decode(f, enc).map_err(|m| DataError::line(path, 1, m))?;
            header.push(s.trim_start_matches('\u{feff}').trim().to_string());
        }
        Ok(Csv { path: path.to_path_buf(), rdr, enc, header, rec: csv::ByteRecord::new() })
    }

    /// Fail unless the header is exactly `names` (names the first differing column).
    pub fn expect_header(&self, names: &[&str]) -> Result<()> {
        for (k, n) in names.iter().enumerate() {
            match self.header.get(k) {
                Some(h) if h == n => {}
                Some(h) => {
                    return Err(DataError::field(
                        &self.path,
                        1,
                        *n,
                        format!(
                            "header column {} is `{h}`, expected `{n}` (wrong separator or wrong file?)",
                            k + 1
                        ),
                    ));
                }
                None => {
                    return Err(DataError::field(
                        &self.path,
                        1,
                        *n,
                        format!(
                            "header has {} columns; column `{n}` is missing (wrong separator?)",
                            self.header.len()
                        ),
                    ));
                }
            }
        }
        if self.header.len() > names.len() {
            return Err(DataError::line(
                &self.path,
                1,
                format!(
                    "header has {} columns, expected {} ({})",
                    self.header.len(),
                    names.len(),
                    names.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// The next record as decoded strings (exactly as many fields as the header), with its line.
    pub fn next(&mut self) -> Result<Option<(u64, Vec<String>)>> {
        loop {
            let ok = self.rdr.read_byte_record(&mut self.rec).map_err(|e| {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                csv_err(&self.path, line, e)
            })?;
            if !ok {
                return Ok(None);
            }
            let line = self.rec.position().map(|p| p.line()).unwrap_or(0);
            if self.rec.len() == 1 && self.rec[0].is_empty() {
                continue;
            }
            let n = self.header.len();
            if self.rec.len() < n {
                return Err(DataError::field(
                    &self.path,
                    line,
                    &self.header[self.rec.len()],
                    format!(
                        "missing: expected {n} fields, found {} (truncated line or wrong separator?)",
                        self.rec.len()
                    ),
                ));
            }
            if self.rec.len() > n {
                return Err(DataError::line(
                    &self.path,
                    line,
                    format!(
                        "expected {n} fields ({}), found {} (extra columns or unquoted separator)",
                        self.header.join(", "),
                        self.rec.len()
                    ),
                ));
            }
            let mut out = Vec::with_capacity(n);
            for (k, f) in self.rec.iter().enumerate() {
                let s = decode(f, self.enc)
                    .map_err(|m| DataError::field(&self.path, line, &self.header[k], m))?;
                out.push(s.into_owned());
            }
            return Ok(Some((line, out)));
        }
    }
}

fn csv_err(path: &Path, line: u64, e: csv::Error) -> DataError {
    match e.kind() {
        csv::ErrorKind::Io(_) => DataError::IoAt {
            path: path.into(),
            line,
            source: std::io::Error::other(e.to_string()),
        },
        _ => DataError::line(path, line, e.to_string()),
    }
}
