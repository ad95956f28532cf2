//! A small parser for Python literals (`ast.literal_eval` subset) as written by `str(dict)`:
//! the Amazon 2014 metadata files are one such dict per line, with single-quoted strings,
//! `True`/`False`/`None`, tuples and nested lists. Also accepts JSON (`true`/`false`/`null`,
//! double quotes), so one parser reads both. Produces `serde_json::Value`.

use serde_json::{Map, Number, Value};

/// Parse one literal; the error gives the byte offset and what was expected.
pub fn parse(s: &str) -> Result<Value, String> {
    let mut p = P { s: s.as_bytes(), src: s, i: 0 };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("trailing characters at byte {}", p.i));
    }
    Ok(v)
}

struct P<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn err<T>(&self, what: &str) -> Result<T, String> {
        if self.i >= self.s.len() {
            Err(format!("unexpected end of input (truncated line?), expected {what}"))
        } else {
            Err(format!("byte {}: expected {what}, found `{}`", self.i, self.s[self.i] as char))
        }
    }
    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > 64 {
            return Err("nesting deeper than 64".into());
        }
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => self.dict(depth),
            Some(b'[') => self.seq(b']', depth),
            Some(b'(') => self.seq(b')', depth),
            Some(b'\'') | Some(b'"') => Ok(Value::String(self.string()?)),
            Some(c) if c.is_ascii_digit() || *c == b'-' || *c == b'+' || *c == b'.' => {
                self.number()
            }
            Some(_) => {
                for (w, v) in [
                    ("True", Value::Bool(true)),
                    ("False", Value::Bool(false)),
                    ("None", Value::Null),
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.s[self.i..].starts_with(w.as_bytes()) {
                        self.i += w.len();
                        return Ok(v);
                    }
                }
                self.err("a value")
            }
            None => self.err("a value"),
        }
    }
    fn dict(&mut self, depth: usize) -> Result<Value, String> {
        self.i += 1;
        let mut m = Map::new();
        loop {
            self.ws();
            if self.s.get(self.i) == Some(&b'}') {
                self.i += 1;
                return Ok(Value::Object(m));
            }
            let k = match self.value(depth + 1)? {
                Value::String(s) => s,
                other => other.to_string(),
            };
            self.ws();
            if self.s.get(self.i) != Some(&b':') {
                return self.err("`:`");
            }
            self.i += 1;
            let v = self.value(depth + 1)?;
            m.insert(k, v);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {}
                _ => return self.err("`,` or `}`"),
            }
        }
    }
    fn seq(&mut self, close: u8, depth: usize) -> Result<Value, String> {
        self.i += 1;
        let mut v = Vec::new();
        loop {
            self.ws();
            if self.s.get(self.i) == Some(&close) {
                self.i += 1;
                return Ok(Value::Array(v));
            }
            v.push(self.value(depth + 1)?);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(c) if *c == close => {}
                _ => return self.err(if close == b']' { "`,` or `]`" } else { "`,` or `)`" }),
            }
        }
    }
    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        while self.i < self.s.len()
            && matches!(self.s[self.i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        {
            self.i += 1;
        }
        let t = &self.src[start..self.i];
        if let Ok(n) = t.parse::<i64>() {
            return Ok(Value::Number(n.into()));
        }
        match t.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => Ok(Value::Number(n)),
            None => Err(format!("byte {start}: bad number `{t}`")),
        }
    }
    fn string(&mut self) -> Result<String, String> {
        let q = self.s[self.i];
        self.i += 1;
        let mut out = String::new();
        loop {
            // Copy the run of plain characters (UTF-8 safe: we only stop at ASCII bytes).
            let start = self.i;
            while self.i < self.s.len() && self.s[self.i] != q && self.s[self.i] != b'\\' {
                self.i += 1;
            }
            out.push_str(&self.src[start..self.i]);
            match self.s.get(self.i) {
                None => return self.err("closing quote"),
                Some(&c) if c == q => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(_) => {
                    self.i += 1;
                    let Some(&e) = self.s.get(self.i) else { return self.err("escape") };
                    self.i += 1;
                    match e {
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'0' => out.push('\0'),
                        b'\\' | b'\'' | b'"' | b'/' => out.push(e as char),
                        b'x' => out.push(self.hex(2)?),
                        b'u' => out.push(self.hex(4)?),
                        b'U' => out.push(self.hex(8)?),
                        b'\n' => {}
                        _ => {
                            out.push('\\');
                            out.push(e as char);
                        }
                    }
                }
            }
        }
    }
    fn hex(&mut self, n: usize) -> Result<char, String> {
        let h = self.src.get(self.i..self.i + n).ok_or_else(|| "truncated escape".to_string())?;
        let v =
            u32::from_str_radix(h, 16).map_err(|_| format!("byte {}: bad escape `{h}`", self.i))?;
        self.i += n;
        // JSON surrogate pairs (\ud83d\ude00).
        if (0xD800..0xDC00).contains(&v) && self.s[self.i..].starts_with(b"\\u") {
            let lo =
                self.src.get(self.i + 2..self.i + 6).and_then(|h| u32::from_str_radix(h, 16).ok());
            if let Some(lo) = lo.filter(|lo| (0xDC00..0xE000).contains(lo)) {
                self.i += 6;
                return char::from_u32(0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00))
                    .ok_or_else(|| "bad surrogate".into());
            }
        }
        Ok(char::from_u32(v).unwrap_or('\u{fffd}'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_dict_with_nested_lists_and_escapes() {
        let s = r#"{'asin': '0000031852', 'title': "Girls' Ballet Tutu", 'price': 3.17, 'salesRank': {'Toys & Games': 211836}, 'categories': [['Sports & Outdoors', 'Other Sports', 'Dance']], 'x': (1, None, True), 'd': 'caf\xe9 \'q\''}"#;
        let v = parse(s).unwrap();
        assert_eq!(
            v,
            json!({"asin": "0000031852", "title": "Girls' Ballet Tutu", "price": 3.17,
                   "salesRank": {"Toys & Games": 211836},
                   "categories": [["Sports & Outdoors", "Other Sports", "Dance"]],
                   "x": [1, null, true], "d": "café 'q'"})
        );
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert!(parse("{'asin': 'B00").unwrap_err().contains("end of input"));
        assert!(parse("{'a' 1}").is_err());
    }
}
