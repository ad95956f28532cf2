//! Text for prompts: one line per item, a block per user history, and prompt templates whose
//! sha256 is part of the provenance of every cell that uses them.
//!
//! Templates use `{name}` placeholders; rendering fails on a missing or unused value, so a
//! template edit cannot silently drop the history or the target. Literal braces are written
//! `{{` and `}}`.

use quadrec_core::hash::sha256_hex;
use quadrec_data::ItemTable;
use std::collections::BTreeMap;

/// How an item is written inside a prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryStyle {
    /// Title only (`Toy Story (1995)`).
    Title,
    /// Title and genres (`Toy Story (1995) [Animation, Children's, Comedy]`).
    TitleGenres,
}

/// One item as prompt text. Items without a title are written `item <raw id>`.
pub fn item_line(items: &ItemTable, item: u32, style: HistoryStyle) -> String {
    let title = items.title(item);
    let mut s =
        if title.is_empty() { format!("item {}", items.raw_id(item)) } else { title.to_string() };
    if let Some(y) = items.year(item)
        && !s.contains(&format!("({y})"))
    {
        s.push_str(&format!(" ({y})"));
    }
    if style == HistoryStyle::TitleGenres && !items.genres(item).is_empty() {
        s.push_str(&format!(" [{}]", items.genres(item).join(", ")));
    }
    s
}

/// The last `max_items` items of `history` (oldest first), one per line, as
/// `"- <item line>"` or `"- <item line>: 4/5"` when a rating is known for it.
/// `rating_of(item)` returns the user's train rating of an item, if any.
pub fn history_block(
    items: &ItemTable,
    history: &[u32],
    max_items: usize,
    style: HistoryStyle,
    rating_of: impl Fn(u32) -> Option<f32>,
) -> String {
    let start = history.len().saturating_sub(max_items);
    let mut lines = Vec::with_capacity(history.len() - start);
    for &i in &history[start..] {
        let line = item_line(items, i, style);
        lines.push(match rating_of(i) {
            Some(r) => format!("- {line}: {}/5", fmt_rating(r)),
            None => format!("- {line}"),
        });
    }
    lines.join("\n")
}

fn fmt_rating(r: f32) -> String {
    if r.fract() == 0.0 { format!("{}", r as i64) } else { format!("{r:.1}") }
}

/// A template could not be rendered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    /// The template names a value that was not given.
    #[error("prompt template `{template}`: no value for placeholder `{{{name}}}`")]
    Missing {
        /// Template name.
        template: String,
        /// Placeholder.
        name: String,
    },
    /// A value was given that the template does not use.
    #[error("prompt template `{template}`: value `{name}` is not used by the template")]
    Unused {
        /// Template name.
        template: String,
        /// Value name.
        name: String,
    },
    /// An unmatched brace.
    #[error("prompt template `{template}`: unmatched brace at byte {at}")]
    Brace {
        /// Template name.
        template: String,
        /// Byte offset.
        at: usize,
    },
}

/// A named prompt template (`{placeholder}` syntax).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptTemplate {
    /// Stable name (key of the provenance map), e.g. `"yesno/v1"`.
    pub name: &'static str,
    /// Template text.
    pub text: &'static str,
}

impl PromptTemplate {
    /// sha256 of the template text.
    pub fn sha256(&self) -> String {
        sha256_hex(self.text.as_bytes())
    }

    /// Fill every placeholder; every value must be used.
    pub fn render(&self, values: &[(&str, &str)]) -> Result<String, TemplateError> {
        let map: BTreeMap<&str, &str> = values.iter().copied().collect();
        let mut used = BTreeMap::new();
        let mut out = String::with_capacity(self.text.len() + 256);
        let b = self.text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'{' if b.get(i + 1) == Some(&b'{') => {
                    out.push('{');
                    i += 2;
                }
                b'}' if b.get(i + 1) == Some(&b'}') => {
                    out.push('}');
                    i += 2;
                }
                b'{' => {
                    let end = self.text[i + 1..].find('}').ok_or_else(|| TemplateError::Brace {
                        template: self.name.into(),
                        at: i,
                    })?;
                    let name = &self.text[i + 1..i + 1 + end];
                    let v = map.get(name).ok_or_else(|| TemplateError::Missing {
                        template: self.name.into(),
                        name: name.into(),
                    })?;
                    out.push_str(v);
                    used.insert(name, ());
                    i += end + 2;
                }
                b'}' => return Err(TemplateError::Brace { template: self.name.into(), at: i }),
                _ => {
                    // Copy one UTF-8 character.
                    let ch = self.text[i..].chars().next().expect("in bounds");
                    out.push(ch);
                    i += ch.len_utf8();
                }
            }
        }
        if let Some(k) = map.keys().find(|k| !used.contains_key(*k)) {
            return Err(TemplateError::Unused { template: self.name.into(), name: (*k).into() });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> ItemTable {
        let mut t = ItemTable::with_raw_ids(vec!["10".into(), "11".into(), "12".into()]);
        t.titles[0] = "Toy Story (1995)".into();
        t.years[0] = Some(1995);
        t.genres[0] = vec!["Animation".into(), "Comedy".into()];
        t.titles[1] = "Amélie".into();
        t.years[1] = Some(2001);
        t
    }

    #[test]
    fn item_lines_do_not_repeat_the_year_and_fall_back_to_raw_ids() {
        let t = items();
        assert_eq!(item_line(&t, 0, HistoryStyle::Title), "Toy Story (1995)");
        assert_eq!(
            item_line(&t, 0, HistoryStyle::TitleGenres),
            "Toy Story (1995) [Animation, Comedy]"
        );
        assert_eq!(item_line(&t, 1, HistoryStyle::TitleGenres), "Amélie (2001)");
        assert_eq!(item_line(&t, 2, HistoryStyle::Title), "item 12");
    }

    #[test]
    fn history_block_keeps_the_most_recent_items_with_known_ratings() {
        let t = items();
        let h = history_block(&t, &[2, 0, 1], 2, HistoryStyle::Title, |i| (i == 0).then_some(4.0));
        assert_eq!(h, "- Toy Story (1995): 4/5\n- Amélie (2001)");
    }

    #[test]
    fn templates_render_and_refuse_missing_or_unused_values() {
        let tpl = PromptTemplate { name: "t/v1", text: "History:\n{history}\nItem: {item} {{x}}" };
        assert_eq!(
            tpl.render(&[("history", "- a"), ("item", "b")]).unwrap(),
            "History:\n- a\nItem: b {x}"
        );
        assert_eq!(
            tpl.render(&[("history", "- a")]).unwrap_err(),
            TemplateError::Missing { template: "t/v1".into(), name: "item".into() }
        );
        assert!(matches!(
            tpl.render(&[("history", "a"), ("item", "b"), ("extra", "c")]),
            Err(TemplateError::Unused { .. })
        ));
        let bad = PromptTemplate { name: "bad", text: "x } y" };
        assert!(matches!(bad.render(&[]), Err(TemplateError::Brace { at: 2, .. })));
        assert_eq!(tpl.sha256().len(), 64);
    }
}
