//! Hallucination rate of generated outputs: share of a user's outputs that match no catalogue
//! item under the recorded grounding method.

use super::{Compute, KRule, MetricDef, MetricKind};
use crate::generation::GenerationCounts;

/// Table entry.
pub const DEF: MetricDef = MetricDef {
    name: "hallucination_rate",
    kind: MetricKind::Generation,
    k: KRule::Forbidden,
    about: "share of outputs that match no catalogue item",
    needs_popularity: false,
    needs_long_tail: false,
    higher_is_better: false,
    reads_top_list: false,
    compute: Compute::Generation(|c: &GenerationCounts| c.rate(c.hallucinated)),
};
