//! Valid-item rate of generated outputs: share of a user's outputs that ground to a catalogue
//! item, are not a repeat of an earlier output, and are not a masked (seen) item. With the
//! hallucination, duplicate and seen rates it sums to 1.

use super::{Compute, KRule, MetricDef, MetricKind};
use crate::generation::GenerationCounts;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "valid_rate",
    kind: MetricKind::Generation,
    k: KRule::Forbidden,
    about: "share of outputs that are new, unseen catalogue items",
    needs_popularity: false,
    needs_long_tail: false,
    higher_is_better: true,
    reads_top_list: false,
    compute: Compute::Generation(|c: &GenerationCounts| c.rate(c.valid)),
};
