//! Line-oriented reading of native files: gzip detection, encodings (UTF-8 strict, Latin-1),
//! `\r\n` handling, 1-based line numbers, and typed field parsers whose errors name the field.

use crate::error::{DataError, Result};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Text encoding of a source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8; invalid sequences are an error naming the line.
    Utf8,
    /// ISO-8859-1: every byte is the code point of the same value (never fails).
    Latin1,
    /// UTF-8 where valid, else the line is read as Latin-1 (files of uncertain encoding).
    Utf8OrLatin1,
}

/// Open a file, transparently decompressing gzip (by magic bytes, not by name).
pub fn open(path: &Path) -> Result<Box<dyn Read>> {
    let mut f = std::fs::File::open(path).map_err(DataError::io(path))?;
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut f, &mut magic).map_err(DataError::io(path))?;
    use std::io::Seek;
    f.seek(std::io::SeekFrom::Start(0)).map_err(DataError::io(path))?;
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, f))))
    } else {
        Ok(Box::new(f))
    }
}

fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let k = f.read(&mut buf[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    Ok(n)
}

/// Decode bytes in `enc`; `Err` carries a message for a line error.
pub fn decode(
    bytes: &[u8],
    enc: Encoding,
) -> std::result::Result<std::borrow::Cow<'_, str>, String> {
    match enc {
        Encoding::Utf8 => std::str::from_utf8(bytes).map(std::borrow::Cow::Borrowed).map_err(|e| {
            format!(
                "invalid UTF-8 at byte {} of the line (is the file Latin-1 encoded?)",
                e.valid_up_to()
            )
        }),
        Encoding::Utf8OrLatin1 => match std::str::from_utf8(bytes) {
            Ok(s) => Ok(std::borrow::Cow::Borrowed(s)),
            Err(_) => decode(bytes, Encoding::Latin1),
        },
        Encoding::Latin1 => {
            if bytes.is_ascii() {
                Ok(std::borrow::Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default()))
            } else {
                Ok(std::borrow::Cow::Owned(bytes.iter().map(|&b| b as char).collect()))
            }
        }
    }
}

/// Reads lines with their 1-based numbers.
pub struct Lines {
    path: PathBuf,
    reader: BufReader<Box<dyn Read>>,
    buf: Vec<u8>,
    line: u64,
    enc: Encoding,
}

impl Lines {
    /// Open `path` (gzip or plain) for line reading in `enc`.
    pub fn open(path: &Path, enc: Encoding) -> Result<Self> {
        Ok(Lines {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(1 << 16, open(path)?),
            buf: Vec::with_capacity(256),
            line: 0,
            enc,
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next line (without `\n` / `\r\n`) and its number, or `None` at end of file.
    /// Blank lines are returned too (callers skip them).
    pub fn next_line(&mut self) -> Result<Option<(u64, std::borrow::Cow<'_, str>)>> {
        self.buf.clear();
        let n = self.reader.read_until(b'\n', &mut self.buf).map_err(|source| DataError::IoAt {
            path: self.path.clone(),
            line: self.line + 1,
            source,
        })?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        let line = self.line;
        let s = decode(&self.buf, self.enc).map_err(|m| DataError::line(&self.path, line, m))?;
        Ok(Some((line, s)))
    }
}

/// Split `s` by `sep` into exactly `names.len()` fields, or fail naming the first missing field
/// (or the count of extra fields).
pub fn split_exact<'a>(
    path: &Path,
    line: u64,
    s: &'a str,
    sep: &str,
    names: &[&str],
) -> Result<Vec<&'a str>> {
    let parts: Vec<&str> = s.split(sep).collect();
    if parts.len() < names.len() {
        let sep_name = match sep {
            "\t" => "a tab".to_string(),
            other => format!("`{other}`"),
        };
        return Err(DataError::field(
            path,
            line,
            names[parts.len()],
            format!(
                "missing: expected {} fields separated by {sep_name}, found {} (truncated line or wrong separator?)",
                names.len(),
                parts.len()
            ),
        ));
    }
    if parts.len() > names.len() {
        return Err(DataError::line(
            path,
            line,
            format!(
                "expected {} fields ({}), found {} (extra columns)",
                names.len(),
                names.join(", "),
                parts.len()
            ),
        ));
    }
    Ok(parts)
}

/// Parse a rating (finite float).
pub fn parse_f32(path: &Path, line: u64, field: &str, s: &str) -> Result<f32> {
    match s.trim().parse::<f32>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(DataError::field(path, line, field, format!("not a number: `{s}`"))),
    }
}

/// Parse an integer timestamp; a float with no fractional part (`8.8125e8`, `881250949.0`) is
/// accepted because RecBole atomic files type timestamps as `float`.
pub fn parse_ts(path: &Path, line: u64, field: &str, s: &str) -> Result<i64> {
    let t = s.trim();
    if let Ok(v) = t.parse::<i64>() {
        return Ok(v);
    }
    match t.parse::<f64>() {
        Ok(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e18 => Ok(x as i64),
        _ => Err(DataError::field(path, line, field, format!("not an integer timestamp: `{s}`"))),
    }
}

/// A non-empty id field.
pub fn parse_id<'a>(path: &Path, line: u64, field: &str, s: &'a str) -> Result<&'a str> {
    let t = s.trim();
    if t.is_empty() {
        return Err(DataError::field(path, line, field, "empty id"));
    }
    Ok(t)
}

/// Split a MovieLens title "Toy Story (1995)" into ("Toy Story", Some(1995)). Titles without a
/// trailing "(YYYY)" are returned unchanged.
pub fn split_title_year(title: &str) -> (String, Option<i32>) {
    let t = title.trim();
    if t.len() >= 6 && t.ends_with(')') {
        let open = t.len() - 6;
        if t.as_bytes()[open] == b'('
            && let Ok(y) = t[open + 1..t.len() - 1].parse::<i32>()
        {
            return (t[..open].trim_end().to_string(), Some(y));
        }
    }
    (t.to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_year() {
        assert_eq!(split_title_year("Toy Story (1995)"), ("Toy Story".into(), Some(1995)));
        assert_eq!(split_title_year("Heat"), ("Heat".into(), None));
        assert_eq!(split_title_year("Babe (a) (1995) "), ("Babe (a)".into(), Some(1995)));
    }

    #[test]
    fn latin1_decodes_every_byte() {
        assert_eq!(decode(b"Caf\xe9", Encoding::Latin1).unwrap(), "Café");
        assert!(decode(b"Caf\xe9", Encoding::Utf8).is_err());
    }
}
