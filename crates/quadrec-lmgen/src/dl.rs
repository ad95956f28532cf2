//! Damerau-Levenshtein distance (unrestricted: insertions, deletions, substitutions and
//! transpositions of adjacent characters, where a transposed pair may also be edited in
//! between; Lowrance & Wagner, 1975) and its normalised form, used to ground generated titles
//! to catalogue titles (BIGRec's string-matching variant) and to match partial titles in
//! LLMRank outputs.
//!
//! The normalised distance is `d(a, b) / max(|a|, |b|)` in characters (0 for two empty
//! strings), so it lies in `[0, 1]`: 0 = identical, 1 = nothing in common position-wise.

use std::collections::BTreeMap;

/// Unrestricted Damerau-Levenshtein distance between `a` and `b`, in Unicode scalar values.
pub fn damerau_levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    dl_chars(&a, &b)
}

/// Same as [`damerau_levenshtein`] on pre-split characters (avoids re-collecting a catalogue
/// title for every comparison).
pub fn dl_chars(a: &[char], b: &[char]) -> usize {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return n + m;
    }
    let inf = n + m;
    // d is (n + 2) x (m + 2); row/column 0 hold `inf` sentinels, row/column 1 the empty prefix.
    let w = m + 2;
    let mut d = vec![0usize; (n + 2) * w];
    d[0] = inf;
    for i in 0..=n {
        d[(i + 1) * w] = inf;
        d[(i + 1) * w + 1] = i;
    }
    for j in 0..=m {
        d[j + 1] = inf;
        d[w + j + 1] = j;
    }
    // Last row (1-based) in which each character of `a` was seen.
    let mut last_row: BTreeMap<char, usize> = BTreeMap::new();
    for i in 1..=n {
        // Last column (1-based) in this row where a[i-1] matched.
        let mut last_match_col = 0usize;
        for j in 1..=m {
            let k = last_row.get(&b[j - 1]).copied().unwrap_or(0);
            let l = last_match_col;
            let cost = if a[i - 1] == b[j - 1] {
                last_match_col = j;
                0
            } else {
                1
            };
            let sub = d[i * w + j] + cost;
            let ins = d[(i + 1) * w + j] + 1;
            let del = d[i * w + j + 1] + 1;
            // Transpose a[k-1] .. a[i-1] with b[l-1] .. b[j-1], editing what lies between.
            let trans = d[k * w + l] + (i - k - 1) + 1 + (j - l - 1);
            d[(i + 1) * w + j + 1] = sub.min(ins).min(del).min(trans);
        }
        last_row.insert(a[i - 1], i);
    }
    d[(n + 1) * w + m + 1]
}

/// `damerau_levenshtein(a, b) / max(|a|, |b|)`, 0 when both are empty.
pub fn normalised_dl(a: &str, b: &str) -> f32 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    normalised_dl_chars(&a, &b)
}

/// [`normalised_dl`] on pre-split characters.
pub fn normalised_dl_chars(a: &[char], b: &[char]) -> f32 {
    let n = a.len().max(b.len());
    if n == 0 { 0.0 } else { dl_chars(a, b) as f32 / n as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain Levenshtein (no transpositions), the reference for strings without swaps.
    fn levenshtein(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for i in 1..=a.len() {
            let mut cur = vec![i; b.len() + 1];
            for j in 1..=b.len() {
                cur[j] = (prev[j - 1] + usize::from(a[i - 1] != b[j - 1]))
                    .min(prev[j] + 1)
                    .min(cur[j - 1] + 1);
            }
            prev = cur;
        }
        prev[b.len()]
    }

    #[test]
    fn identities_written_as_formulas() {
        let words = ["", "a", "toy story", "shawshank redemption", "amélie", "se7en"];
        for s in words {
            // d(s, s) = 0; d("", s) = d(s, "") = |s|.
            assert_eq!(damerau_levenshtein(s, s), 0);
            assert_eq!(damerau_levenshtein("", s), s.chars().count());
            assert_eq!(damerau_levenshtein(s, ""), s.chars().count());
            for t in words {
                // Symmetry, bounds: | |s| - |t| | <= d <= max(|s|, |t|), d <= Levenshtein.
                let d = damerau_levenshtein(s, t);
                assert_eq!(d, damerau_levenshtein(t, s), "{s:?} {t:?}");
                let (ls, lt) = (s.chars().count(), t.chars().count());
                assert!(d >= ls.abs_diff(lt) && d <= ls.max(lt), "{s:?} {t:?}: {d}");
                assert!(d <= levenshtein(s, t));
                // Appending a suffix u costs |u|: d(s, s + u) = |u|.
                let su = format!("{s}{t}");
                assert_eq!(damerau_levenshtein(s, &su), lt, "{s:?} + {t:?}");
            }
        }
    }

    #[test]
    fn adjacent_transposition_costs_one_and_unrestricted_beats_osa() {
        // One swap of adjacent characters: DL = 1, Levenshtein = 2.
        assert_eq!(damerau_levenshtein("ab", "ba"), 1);
        assert_eq!(levenshtein("ab", "ba"), 2);
        assert_eq!(damerau_levenshtein("toy sotry", "toy story"), 1);
        // k disjoint adjacent swaps cost k.
        assert_eq!(damerau_levenshtein("abcdef", "badcfe"), 3);
        // Unrestricted DL edits between a transposed pair: "ca" -> "ac" -> "abc" = 2
        // (the restricted optimal-string-alignment distance is 3).
        assert_eq!(damerau_levenshtein("ca", "abc"), 2);
        // Substitution of k characters of a same-length string costs k.
        assert_eq!(damerau_levenshtein("kitten", "sitten"), 1);
        assert_eq!(damerau_levenshtein("kitten", "sitting"), 3);
    }

    #[test]
    fn normalised_distance_is_in_unit_interval() {
        assert_eq!(normalised_dl("", ""), 0.0);
        assert_eq!(normalised_dl("abc", "abc"), 0.0);
        assert_eq!(normalised_dl("abc", ""), 1.0);
        assert_eq!(normalised_dl("abc", "xyz"), 1.0);
        // d = 1 over max length 9.
        assert!((normalised_dl("toy sotry", "toy story") - 1.0 / 9.0).abs() < 1e-6);
        // Unicode counts characters, not bytes: one substitution over 6 characters.
        assert!((normalised_dl("amélie", "amelie") - 1.0 / 6.0).abs() < 1e-6);
    }
}
