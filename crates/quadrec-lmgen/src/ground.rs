//! Grounding generated text to catalogue items (BIGRec's "grounding" step): every generated
//! title is mapped to catalogue items by a recorded method, giving (a) a similarity to EVERY
//! item, so a full ranking exists, and (b) the single grounded item, or `None` when nothing is
//! within the threshold (counted as a hallucination by the runner).
//!
//! - [`Grounding::Dl`]: similarity `1 - normalised Damerau-Levenshtein distance` between the
//!   normalised generated title and each normalised catalogue title ([`normalise_title`]).
//! - [`Grounding::Embedding`]: cosine similarity between the MiniLM embedding of the generated
//!   text and the (cached, L2-normalised) MiniLM embeddings of the item texts; BIGRec grounds
//!   with the L2 distance of LLaMA embeddings, which ranks unit vectors identically.

use crate::dl::normalised_dl_chars;
use quadrec_data::ItemTable;
use serde::{Deserialize, Serialize};

/// How generated text is matched to catalogue items (a recorded param).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grounding {
    /// Normalised Damerau-Levenshtein distance on normalised titles.
    Dl,
    /// MiniLM nearest neighbour (cosine).
    Embedding,
}

/// A title in matching form: the trailing `(year)` dropped, a trailing article moved to the
/// front (`"Shawshank Redemption, The"` -> `"the shawshank redemption"`, the MovieLens
/// convention), lowercase, every run of non-alphanumeric characters one space, trimmed.
pub fn normalise_title(t: &str) -> String {
    let mut s = t.trim().to_string();
    // Drop one trailing "(...)" group that holds a year, e.g. "(1995)".
    if let Some(open) = s.rfind('(')
        && s.ends_with(')')
    {
        let inner = &s[open + 1..s.len() - 1];
        if inner.len() == 4 && inner.chars().all(|c| c.is_ascii_digit()) {
            s.truncate(open);
        }
    }
    let trimmed = s.trim_end();
    for art in ["The", "A", "An", "Les", "La", "Le", "Il", "Das", "Der", "Die", "El"] {
        let suffix = format!(", {art}");
        if trimmed.len() > suffix.len() && trimmed.ends_with(&suffix) {
            s = format!("{art} {}", &trimmed[..trimmed.len() - suffix.len()]);
            break;
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            out.push(c);
            space = false;
        } else {
            space = true;
        }
    }
    out
}

/// The normalised titles of a catalogue as character vectors (items without a title use
/// `item <raw id>`, which generated text will rarely match).
pub fn catalogue_titles(items: &ItemTable) -> Vec<Vec<char>> {
    (0..items.len() as u32)
        .map(|i| {
            let t = items.title(i);
            let t = if t.is_empty() { format!("item {}", items.raw_id(i)) } else { t.to_string() };
            normalise_title(&t).chars().collect()
        })
        .collect()
}

/// `1 - normalised DL distance` of `text` (normalised here) to every catalogue title.
pub fn dl_similarities(text: &str, titles: &[Vec<char>]) -> Vec<f32> {
    let q: Vec<char> = normalise_title(text).chars().collect();
    titles.iter().map(|t| 1.0 - normalised_dl_chars(&q, t)).collect()
}

/// Cosine similarity of a unit vector `q` (`[dim]`) to every row of `rows` (`[n, dim]`, unit rows).
pub fn cosine_similarities(q: &[f32], rows: &[f32], dim: usize) -> Vec<f32> {
    rows.chunks(dim).map(|r| r.iter().zip(q).map(|(a, b)| a * b).sum()).collect()
}

/// The grounded item of a similarity row: the most similar item (lowest id on ties) when its
/// similarity is at least `threshold`, else `None` (hallucinated).
pub fn ground(sims: &[f32], threshold: f32) -> Option<u32> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &s) in sims.iter().enumerate() {
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((i, s));
        }
    }
    best.filter(|&(_, s)| s >= threshold).map(|(i, _)| i as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_handles_years_articles_and_punctuation() {
        assert_eq!(normalise_title("Shawshank Redemption, The (1994)"), "the shawshank redemption");
        assert_eq!(normalise_title("The Shawshank Redemption"), "the shawshank redemption");
        assert_eq!(normalise_title("  Toy Story (1995) "), "toy story");
        assert_eq!(normalise_title("Se7en (1995)"), "se7en");
        assert_eq!(normalise_title("Star Wars: Episode IV"), "star wars episode iv");
        // A parenthesised non-year stays.
        assert_eq!(normalise_title("Kolya (Kolja)"), "kolya kolja");
        assert_eq!(normalise_title(""), "");
    }

    #[test]
    fn grounding_threshold_separates_near_matches_from_hallucinations() {
        let mut t = ItemTable::with_raw_ids(vec!["1".into(), "2".into(), "3".into()]);
        t.titles = vec![
            "Toy Story (1995)".into(),
            "Shawshank Redemption, The (1994)".into(),
            "Heat (1995)".into(),
        ];
        let titles = catalogue_titles(&t);
        // Exact (after normalisation): similarity 1 -> grounded at any threshold <= 1.
        let s = dl_similarities("The Shawshank Redemption (1994)", &titles);
        assert_eq!(s[1], 1.0);
        assert_eq!(ground(&s, 1.0), Some(1));
        // One typo in 9 characters: 1 - 1/9 ~ 0.889 -> grounded at 0.8, not at 0.9.
        let s = dl_similarities("Toy Sotry", &titles);
        assert!((s[0] - (1.0 - 1.0 / 9.0)).abs() < 1e-6);
        assert_eq!(ground(&s, 0.8), Some(0));
        assert_eq!(ground(&s, 0.9), None);
        // A made-up title is far from everything: hallucinated at the default-style threshold.
        let s = dl_similarities("The Matrix Reloaded", &titles);
        assert!(s.iter().all(|&x| x < 0.5), "{s:?}");
        assert_eq!(ground(&s, 0.66), None);
        // Ties go to the lowest id; an empty row grounds nothing.
        assert_eq!(ground(&[0.9, 0.9], 0.5), Some(0));
        assert_eq!(ground(&[], 0.0), None);
    }

    #[test]
    fn cosine_of_unit_rows() {
        let rows = [1.0, 0.0, 0.0, 1.0, 0.6, 0.8];
        assert_eq!(cosine_similarities(&[0.6, 0.8], &rows, 2), vec![0.6, 0.8, 1.0]);
    }
}
