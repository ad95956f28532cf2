//! Evaluation of generative recommenders: each output has already been grounded to a catalogue
//! item (or to nothing) by a versioned grounding method whose name is recorded in the report
//! (`view = "generation:<method>"`). Invalid and duplicate outputs are COUNTED, never dropped:
//! every output is exactly one of valid / hallucinated / duplicate / seen. Ranking metrics
//! (`ndcg@10`, ...) read the list of valid outputs in generation order (no ties).

use crate::aggregate::{Collector, check_ranking_metrics, top_depth, user_values};
use crate::error::{EvalError, Result};
use crate::metrics::{Compute, MetricContext, MetricKind, MetricSpec};
use crate::ranking::{TIE_POLICY, UserRanking};
use crate::results::{EvalFlags, EvalReport};

/// One user's generated outputs.
#[derive(Clone, Copy, Debug)]
pub struct GenerationUser<'a> {
    /// Dense user id.
    pub user: u32,
    /// Grounded outputs in generation order (`None` = matched no catalogue item).
    pub outputs: &'a [Option<u32>],
    /// Relevant items.
    pub targets: &'a [u32],
    /// Items that count as already seen (an output equal to one is not valid).
    pub seen: &'a [u32],
}

/// Counts of one user's outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenerationCounts {
    /// All outputs.
    pub outputs: u64,
    /// New, unseen catalogue items.
    pub valid: u64,
    /// Matched no catalogue item.
    pub hallucinated: u64,
    /// Repeated an earlier output's item.
    pub duplicate: u64,
    /// A seen item (first occurrence).
    pub seen: u64,
}

impl GenerationCounts {
    /// `x / outputs`, undefined with no outputs.
    pub fn rate(&self, x: u64) -> Option<f64> {
        (self.outputs > 0).then(|| x as f64 / self.outputs as f64)
    }
}

/// Classify outputs; returns counts and the valid items in order.
pub fn classify(g: &GenerationUser<'_>) -> (GenerationCounts, Vec<u32>) {
    let mut c = GenerationCounts { outputs: g.outputs.len() as u64, ..Default::default() };
    let mut emitted: Vec<u32> = Vec::new();
    let mut valid = Vec::new();
    for o in g.outputs {
        match o {
            None => c.hallucinated += 1,
            Some(i) if emitted.contains(i) => c.duplicate += 1,
            Some(i) => {
                emitted.push(*i);
                if g.seen.contains(i) {
                    c.seen += 1;
                } else {
                    c.valid += 1;
                    valid.push(*i);
                }
            }
        }
    }
    (c, valid)
}

/// Evaluate generated lists with generation metrics and ranking/exposure metrics.
pub fn evaluate_generation(
    users: &[GenerationUser<'_>],
    n_items: u32,
    metrics: &[MetricSpec],
    ctx: &MetricContext<'_>,
    grounding: &str,
) -> Result<EvalReport> {
    let ctx = MetricContext { n_items, ..*ctx };
    check_ranking_metrics(metrics, &ctx, "generation", &[MetricKind::Generation])?;
    let depth = top_depth(metrics, 0);
    let mut col = Collector::new(metrics);
    for g in users {
        if let Some(i) = g.outputs.iter().flatten().find(|&&i| i >= n_items) {
            return Err(EvalError::BadInput {
                user: g.user,
                reason: format!("output item {i} out of range (n_items = {n_items})"),
            });
        }
        let (counts, valid) = classify(g);
        let r = UserRanking::from_list(g.user, &valid, g.targets);
        let rank_vals = user_values(&r, metrics, &ctx);
        let mut rv = rank_vals.into_iter();
        let vals: Vec<f64> = metrics
            .iter()
            .filter_map(|m| match m.def.compute {
                Compute::PerUser(_) => rv.next(),
                Compute::Generation(f) => Some(f(&counts).unwrap_or(f64::NAN)),
                _ => None,
            })
            .collect();
        let top: Vec<(u32, f32)> = valid.iter().take(depth).map(|&i| (i, f32::NAN)).collect();
        col.push(g.user, &vals, &top);
    }
    let flags = EvalFlags {
        view: format!("generation:{grounding}"),
        masked_seen: true,
        tie_policy: TIE_POLICY.into(),
        tie_seed: 0,
        n_items,
        n_users: users.len(),
        targets_also_seen: 0,
    };
    Ok(col.finish(flags, &ctx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::parse_metrics;

    #[test]
    fn rates_partition_outputs_and_rank_valid_list() {
        // outputs: 3 (valid), None (hallucinated), 3 (duplicate), 5 (seen), 7 (valid target).
        let outs = [Some(3), None, Some(3), Some(5), Some(7)];
        let g = [GenerationUser { user: 1, outputs: &outs, targets: &[7], seen: &[5] }];
        let m =
            parse_metrics(&["valid_rate", "hallucination_rate", "duplicate_rate", "mrr", "hr@1"])
                .unwrap();
        let r = evaluate_generation(&g, 10, &m, &MetricContext::default(), "exact-id/v1").unwrap();
        assert_eq!(r.value("valid_rate"), Some(0.4));
        assert_eq!(r.value("hallucination_rate"), Some(0.2));
        assert_eq!(r.value("duplicate_rate"), Some(0.2));
        // valid list [3, 7]: target at rank 2.
        assert_eq!(r.value("mrr"), Some(0.5));
        assert_eq!(r.value("hr@1"), Some(0.0));
        assert_eq!(r.flags.view, "generation:exact-id/v1");
    }
}
