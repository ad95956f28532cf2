//! Parsing a closed-set ranking written by a language model (LLMRank).
//!
//! The model is shown `n` numbered candidates (`[1] Title`, ...) and asked to write the numbers
//! in order of preference. Small models write anything: numbers with or without brackets,
//! titles instead of numbers, partial titles, repeats, numbers outside `1..=n`, prose, or
//! nothing. The parser splits the output into segments (lines, commas, semicolons, `>`), and
//! reads each segment as, in this order:
//! 1. a candidate whose normalised title equals the segment (after stripping a leading index);
//! 2. a leading index `k` (`3`, `[3]`, `3.`, `3)`, `#3`, `3:`) with `1 <= k <= n`;
//! 3. a partial title: the unique candidate whose normalised title contains the segment (at
//!    least 4 characters) or is contained in it, else the nearest candidate title by normalised
//!    Damerau-Levenshtein distance if that distance is at most [`PARTIAL_TITLE_MAX_DL`];
//!
//! otherwise the segment is counted as out of range (it had a number) or unparsed. Repeated
//! candidates are counted and skipped. [`fill`] then appends the candidates the model did not
//! name in a recorded fallback order, so every call yields a full permutation.

use crate::dl::normalised_dl;
use crate::ground::normalise_title;

/// Largest normalised DL distance at which a segment is read as a (misspelt) candidate title.
pub const PARTIAL_TITLE_MAX_DL: f32 = 0.25;

/// What the parser found in one output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Candidate positions (0-based, into the presented list) in the model's order, unique.
    pub order: Vec<usize>,
    /// Segments naming a candidate already named.
    pub duplicates: usize,
    /// Segments with a number outside `1..=n` that matched no title either.
    pub out_of_range: usize,
    /// Non-empty segments that matched nothing.
    pub unparsed: usize,
    /// Every non-empty segment in output order: the candidate it named (repeats included) or
    /// `None` (out of range / unparsed). The generation metrics read this.
    pub segments: Vec<Option<usize>>,
}

impl Parsed {
    /// The output named no candidate at all (a parse failure: the whole ranking is fallback).
    pub fn failed(&self) -> bool {
        self.order.is_empty()
    }
}

/// Leading index of a segment: optional `[`/`#`/`(`, digits, then end or a separator.
/// Returns the number and the rest of the segment after the separator.
fn leading_index(seg: &str) -> Option<(usize, &str)> {
    let s = seg.trim_start_matches(['[', '#', '(', ' ', '*', '-']);
    let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || digits > 6 {
        return None;
    }
    let rest = &s[digits..];
    // "3", "3.", "3)", "3]", "3:", "3 -", "3 Title" are indices; "3D" or "101 Dalmatians" is
    // read as an index only if nothing else matches (the caller tries titles first).
    let ok = rest.is_empty()
        || rest.starts_with(['.', ')', ']', ':', ' ', '-', '\t'])
        || !rest.starts_with(|c: char| c.is_alphanumeric());
    ok.then(|| {
        (s[..digits].parse().ok())
            .map(|k| (k, rest.trim_start_matches(['.', ')', ']', ':', ' ', '-', '\t'])))
    })
    .flatten()
}

/// Match a segment to a candidate title (exact normalised, containment, or close DL).
fn match_title(seg: &str, titles: &[String]) -> Option<usize> {
    let s = normalise_title(seg);
    if s.is_empty() {
        return None;
    }
    if let Some(i) = titles.iter().position(|t| *t == s) {
        return Some(i);
    }
    if s.chars().count() >= 4 {
        let hits: Vec<usize> = (0..titles.len())
            .filter(|&i| {
                !titles[i].is_empty() && (titles[i].contains(&s) || s.contains(&titles[i]))
            })
            .collect();
        if hits.len() == 1 {
            return Some(hits[0]);
        }
    }
    let mut best: Option<(usize, f32)> = None;
    for (i, t) in titles.iter().enumerate() {
        let d = normalised_dl(&s, t);
        if best.is_none_or(|(_, b)| d < b) {
            best = Some((i, d));
        }
    }
    best.filter(|&(_, d)| d <= PARTIAL_TITLE_MAX_DL).map(|(i, _)| i)
}

/// The text of an output that was cut by the token budget, without its last segment when it
/// has more than one (the cut may have split a number, `1` of `12`, or a title). Outputs
/// without a separator are kept whole.
pub fn drop_truncated_tail(text: &str) -> &str {
    match text.rfind(['\n', ',', ';', '>']) {
        Some(k) => &text[..k],
        None => text,
    }
}

/// Parse `text` against the `titles` of the presented candidates (in presented order).
pub fn parse_ranking(text: &str, titles: &[String]) -> Parsed {
    let n = titles.len();
    let norm: Vec<String> = titles.iter().map(|t| normalise_title(t)).collect();
    let mut seen = vec![false; n];
    let mut p = Parsed::default();
    for seg in text.split(['\n', ',', ';', '>']) {
        let seg = seg.trim();
        if seg.is_empty() {
            continue;
        }
        let idx = leading_index(seg);
        // 1. exact title (with or without a leading index), 2. index, 3. partial title.
        let exact = idx
            .and_then(|(_, rest)| {
                let r = normalise_title(rest);
                norm.iter().position(|t| !r.is_empty() && *t == r)
            })
            .or_else(|| {
                let s = normalise_title(seg);
                norm.iter().position(|t| !s.is_empty() && *t == s)
            });
        let hit = exact
            .or_else(|| idx.and_then(|(k, _)| (1..=n).contains(&k).then(|| k - 1)))
            .or_else(|| match idx {
                Some((_, rest)) if !rest.is_empty() => match_title(rest, &norm),
                Some(_) => None,
                None => match_title(seg, &norm),
            });
        p.segments.push(hit);
        match hit {
            Some(i) if seen[i] => p.duplicates += 1,
            Some(i) => {
                seen[i] = true;
                p.order.push(i);
            }
            None if idx.is_some() => p.out_of_range += 1,
            None => p.unparsed += 1,
        }
    }
    p
}

/// A full permutation: the parsed order, then every other position in `fallback` order
/// (`fallback` must be a permutation of `0..n`).
pub fn fill(parsed: &[usize], fallback: &[usize]) -> Vec<usize> {
    let mut seen = vec![false; fallback.len()];
    let mut out = Vec::with_capacity(fallback.len());
    for &i in parsed.iter().chain(fallback) {
        if !seen[i] {
            seen[i] = true;
            out.push(i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles() -> Vec<String> {
        [
            "Toy Story (1995)",
            "Shawshank Redemption, The (1994)",
            "Heat (1995)",
            "101 Dalmatians (1996)",
            "Se7en (1995)",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    #[test]
    fn a_truncated_output_loses_its_cut_segment_only() {
        assert_eq!(drop_truncated_tail("3, 1, 1"), "3, 1");
        assert_eq!(drop_truncated_tail("3, 1,"), "3, 1");
        assert_eq!(drop_truncated_tail("3\n5\nHea"), "3\n5");
        assert_eq!(drop_truncated_tail("The best is Heat"), "The best is Heat");
        assert_eq!(drop_truncated_tail(""), "");
        // After the cut the parser sees the complete numbers only.
        assert_eq!(parse_ranking(drop_truncated_tail("3, 1, 1"), &titles()).order, vec![2, 0]);
    }

    #[test]
    fn clean_index_lists_in_any_common_format() {
        let t = titles();
        for text in
            ["3, 1, 2, 5, 4", "[3] [1]\n2\n5.\n4)", "3 > 1 > 2 > 5 > 4", "#3; #1; #2; #5; #4"]
        {
            let p = parse_ranking(text, &t);
            // "[3] [1]" is one segment: its leading index wins and "[1]" is not a title.
            if text.starts_with('[') {
                assert_eq!(p.order, vec![2, 1, 4, 3], "{text}");
            } else {
                assert_eq!(p.order, vec![2, 0, 1, 4, 3], "{text}");
            }
            assert_eq!((p.duplicates, p.out_of_range), (0, 0), "{text}");
        }
        let p = parse_ranking("1. Toy Story\n2. Heat", &t);
        // An index followed by a title: the exact title wins over the index.
        assert_eq!(p.order, vec![0, 2]);
    }

    #[test]
    fn empty_output_is_a_failure_filled_by_fallback() {
        let t = titles();
        for text in ["", "   \n\n", "I cannot rank these movies."] {
            let p = parse_ranking(text, &t);
            assert!(p.failed(), "{text:?}");
            assert_eq!(fill(&p.order, &[4, 3, 2, 1, 0]), vec![4, 3, 2, 1, 0]);
        }
        assert_eq!(parse_ranking("I cannot rank these movies.", &t).unparsed, 1);
    }

    #[test]
    fn duplicates_are_counted_and_skipped() {
        let p = parse_ranking("2, 2, 1, 2, Heat, 3", &titles());
        assert_eq!(p.order, vec![1, 0, 2]);
        assert_eq!(p.duplicates, 3);
        assert_eq!(p.segments, vec![Some(1), Some(1), Some(0), Some(1), Some(2), Some(2)]);
        assert_eq!(fill(&p.order, &[0, 1, 2, 3, 4]), vec![1, 0, 2, 3, 4]);
    }

    #[test]
    fn out_of_range_indices_are_counted() {
        let p = parse_ranking("0, 6, 21, 5, 99999999", &titles());
        assert_eq!(p.order, vec![4]);
        // 0, 6 and 21 are out of range; the 8-digit number is not read as an index at all.
        assert_eq!(p.out_of_range, 3);
        assert_eq!(p.unparsed, 1);
        assert_eq!(p.segments, vec![None, None, None, Some(4), None]);
    }

    #[test]
    fn partial_and_misspelt_titles_are_matched() {
        let t = titles();
        // Containment: "Shawshank" names exactly one candidate.
        let p = parse_ranking(
            "Shawshank\nThe Shawshank Redemption (1994)\nToy Sotry\n101 Dalmatians",
            &t,
        );
        assert_eq!(p.order, vec![1, 0, 3]);
        assert_eq!(p.duplicates, 1);
        // "101 Dalmatians" is a title (exact), not index 101.
        assert_eq!(p.out_of_range, 0);
        // Too short to be a partial title, no number: unparsed.
        let p = parse_ranking("He", &t);
        assert!(p.failed());
    }

    #[test]
    fn fill_yields_a_permutation() {
        let f = fill(&[3, 1], &[0, 1, 2, 3, 4]);
        assert_eq!(f, vec![3, 1, 0, 2, 4]);
        let mut s = f.clone();
        s.sort();
        assert_eq!(s, vec![0, 1, 2, 3, 4]);
    }
}
