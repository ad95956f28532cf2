//! Duplicate rate of generated outputs: share of a user's outputs that ground to an item already
//! output earlier in the same list.

use super::{Compute, KRule, MetricDef, MetricKind};
use crate::generation::GenerationCounts;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "duplicate_rate",
    kind: MetricKind::Generation,
    k: KRule::Forbidden,
    about: "share of outputs repeating an earlier output's item",
    needs_popularity: false,
    needs_long_tail: false,
    higher_is_better: false,
    reads_top_list: false,
    compute: Compute::Generation(|c: &GenerationCounts| c.rate(c.duplicate)),
};
