//! Deterministic id helpers: numeric-aware ordering of raw id strings, and date formatting.

use std::cmp::Ordering;

/// Numeric-aware comparison of raw ids: if both parse as unsigned integers (no sign, no leading
/// `+`) they compare as numbers ("2" < "10"), numbers sort before non-numbers, and everything
/// else compares as bytes. Equal numeric values with different spellings ("07" vs "7") fall
/// back to byte order so the order stays total.
pub fn numeric_aware_cmp(a: &str, b: &str) -> Ordering {
    match (parse_uint(a), parse_uint(b)) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

fn parse_uint(s: &str) -> Option<u128> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `YYYY-MM-DD` (UTC) of a Unix time in seconds (civil-from-days, Howard Hinnant's algorithm).
pub fn unix_to_date(t: i64) -> String {
    let z = t.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_sort_as_numbers() {
        let mut v = vec!["10", "2", "b", "1", "a", "02"];
        v.sort_by(|a, b| numeric_aware_cmp(a, b));
        assert_eq!(v, vec!["1", "02", "2", "10", "a", "b"]);
    }

    #[test]
    fn dates() {
        assert_eq!(unix_to_date(0), "1970-01-01");
        assert_eq!(unix_to_date(881_250_949), "1997-12-04");
    }
}
