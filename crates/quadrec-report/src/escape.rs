//! Escaping of every string that comes from data (titles, ids, method names, error texts)
//! before it enters HTML or Markdown. Renderers never interpolate a data string unescaped.

/// Escape text for HTML element content and double- or single-quoted attribute values.
pub fn html(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// Escape text for a GitHub-flavoured Markdown table cell or heading: Markdown punctuation is
/// backslash-escaped (pipes cannot end the cell, backticks cannot open code), `&`, `<` and `>`
/// become entities (no raw HTML or entity gets through), and line breaks become `<br>` so a
/// multi-line error stays inside its cell. Quotes stay literal: without `<` no tag or attribute
/// can open, and the params columns (JSON) stay readable in the raw file.
pub fn markdown(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    o.push_str("<br>");
                }
            }
            '\n' => o.push_str("<br>"),
            // Data never starts a line (cells open with `| `, headings and list items with a
            // prefix), so line-start markers (`#`, `-`, `+`, `1.`) need no escape.
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                o.push('\\');
                o.push(c);
            }
            _ => o.push(c),
        }
    }
    o
}

/// One line for a terminal table: control characters (newlines, escapes that could drive the
/// terminal) become visible `\n`, `\u{1b}`.
pub fn terminal(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push(' '),
            c if c.is_control() => o.push_str(&c.escape_unicode().to_string()),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str =
        "a|b`c<script>alert(\"x\")</script>&amp;'q'\nline2 **bold** [l](http://x)";

    #[test]
    fn html_has_no_raw_markup() {
        let e = html(HOSTILE);
        assert!(!e.contains('<') && !e.contains('>') && !e.contains('"') && !e.contains('\''));
        assert!(e.contains("&lt;script&gt;") && e.contains("&amp;amp;"));
    }

    #[test]
    fn markdown_cell_cannot_break_out() {
        let e = markdown(HOSTILE);
        assert!(!e.contains('\n'));
        assert_eq!(e.matches('<').count(), e.matches("<br>").count());
        assert!(!e.contains("<script"));
        // every pipe and backtick is escaped
        for (i, c) in e.char_indices() {
            if c == '|' || c == '`' || c == '*' || c == '[' {
                assert_eq!(&e[i - 1..i], "\\", "unescaped {c} in {e}");
            }
        }
        assert!(e.contains("<br>line2"));
        // quotes stay literal; `&` is still an entity so `&amp;` in data shows as typed
        assert!(e.contains("alert(\"x\")") && e.contains("&amp;amp;"));
        assert_eq!(markdown(r#"{"k":1}"#), r#"{"k":1}"#);
    }

    #[test]
    fn terminal_is_one_line() {
        let e = terminal("a\nb\u{1b}[31m");
        assert_eq!(e, "a\\nb\\u{1b}[31m");
    }
}
