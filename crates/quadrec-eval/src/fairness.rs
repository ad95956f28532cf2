//! Fairness and long-tail analysis: the gap of any per-user metric between user groups (groups
//! given by the caller from a side feature: gender, age band, activity level...) and long-tail
//! item sets for the `tail_share@K` metric.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result};

/// Per-group means of one metric and the largest gap between groups.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupGap {
    /// group label -> (users with a defined value, mean).
    pub groups: BTreeMap<String, (usize, f64)>,
    /// max mean - min mean over groups.
    pub gap: f64,
    /// Group with the highest mean.
    pub best: String,
    /// Group with the lowest mean.
    pub worst: String,
}

/// Gap of per-user `values` between groups; `groups[i]` labels user i (`None` = excluded).
/// NaN values (undefined for that user) are skipped. Needs >= 2 non-empty groups.
pub fn group_gap(values: &[f64], groups: &[Option<&str>]) -> Result<GroupGap> {
    if values.len() != groups.len() {
        return Err(EvalError::BadArgument {
            what: "group_gap",
            reason: format!("{} values but {} group labels", values.len(), groups.len()),
        });
    }
    let mut acc: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for (&v, g) in values.iter().zip(groups) {
        if let (Some(g), false) = (g, v.is_nan()) {
            let e = acc.entry(g.to_string()).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += v;
        }
    }
    for e in acc.values_mut() {
        e.1 /= e.0 as f64;
    }
    if acc.len() < 2 {
        return Err(EvalError::BadArgument {
            what: "group_gap",
            reason: format!("{} non-empty group(s); need 2", acc.len()),
        });
    }
    // BTreeMap order makes ties between equal means deterministic (first label wins).
    let best = acc
        .iter()
        .fold(None::<(&String, f64)>, |b, (k, v)| match b {
            Some((_, m)) if m >= v.1 => b,
            _ => Some((k, v.1)),
        })
        .unwrap();
    let worst = acc
        .iter()
        .fold(None::<(&String, f64)>, |b, (k, v)| match b {
            Some((_, m)) if m <= v.1 => b,
            _ => Some((k, v.1)),
        })
        .unwrap();
    Ok(GroupGap {
        gap: best.1 - worst.1,
        best: best.0.clone(),
        worst: worst.0.clone(),
        groups: acc,
    })
}

/// A set of long-tail items over a catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongTail {
    is_tail: Vec<bool>,
}

impl LongTail {
    /// Tail = the given items.
    pub fn from_items(n_items: u32, tail: &[u32]) -> Result<Self> {
        let mut is_tail = vec![false; n_items as usize];
        for &i in tail {
            *is_tail.get_mut(i as usize).ok_or_else(|| EvalError::BadArgument {
                what: "LongTail::from_items",
                reason: format!("item {i} out of range (n_items = {n_items})"),
            })? = true;
        }
        Ok(LongTail { is_tail })
    }

    /// Head = the `ceil(head_share * n_items)` most popular items (popularity descending, then
    /// item id ascending); tail = all others. `head_share = 0.2` is the usual 20/80 split.
    pub fn from_popularity_quantile(popularity: &[u32], head_share: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&head_share) {
            return Err(EvalError::BadArgument {
                what: "LongTail::from_popularity_quantile",
                reason: format!("head_share {head_share} not in [0, 1]"),
            });
        }
        let n = popularity.len();
        let n_head = (head_share * n as f64).ceil() as usize;
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| popularity[b].cmp(&popularity[a]).then(a.cmp(&b)));
        let mut is_tail = vec![true; n];
        for &i in &order[..n_head.min(n)] {
            is_tail[i] = false;
        }
        Ok(LongTail { is_tail })
    }

    /// Catalogue size.
    pub fn n_items(&self) -> u32 {
        self.is_tail.len() as u32
    }

    /// Whether `item` is a long-tail item.
    pub fn contains(&self, item: u32) -> bool {
        self.is_tail.get(item as usize).copied().unwrap_or(false)
    }

    /// Number of tail items.
    pub fn len(&self) -> usize {
        self.is_tail.iter().filter(|&&t| t).count()
    }

    /// No tail items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_between_groups() {
        let v = [1.0, 0.0, 0.5, f64::NAN, 0.25];
        let g = [Some("F"), Some("M"), Some("F"), Some("M"), None];
        let r = group_gap(&v, &g).unwrap();
        assert_eq!(r.groups["F"], (2, 0.75));
        assert_eq!(r.groups["M"], (1, 0.0));
        assert_eq!(r.gap, 0.75);
        assert_eq!((r.best.as_str(), r.worst.as_str()), ("F", "M"));
        assert!(group_gap(&v, &[Some("F"); 5]).is_err());
    }

    #[test]
    fn popularity_quantile_head() {
        // popularity [5, 1, 9, 1, 0]: head_share 0.4 -> ceil(2) head items {2, 0}.
        let lt = LongTail::from_popularity_quantile(&[5, 1, 9, 1, 0], 0.4).unwrap();
        assert_eq!(
            (0..5).map(|i| lt.contains(i)).collect::<Vec<_>>(),
            vec![false, true, false, true, true]
        );
        assert_eq!(lt.len(), 3);
    }
}
