//! Evaluation within per-user candidate lists (sampled 1+N negatives, closed-set candidates).
//!
//! Scores come from a per-user callback over the candidate items. The ranking uses the same tie
//! policy as full ranking; tie-break keys depend on item ids, so the result never depends on
//! where the target sits in the list (tested by shuffling). Targets absent from the candidate
//! list count as relevant-but-missed (Recall/NDCG denominators include them). The candidate list
//! IS the rankable set: no masking happens here (the view that built it decides).

use rayon::prelude::*;

use crate::aggregate::{Collector, check_ranking_metrics, top_depth, user_values};
use crate::error::{EvalError, Result};
use crate::metrics::{MetricContext, MetricSpec};
use crate::ranking::{RowInput, Scratch, TIE_POLICY, rank_row};
use crate::results::{EvalFlags, EvalReport};

/// One user's candidate-list query.
#[derive(Clone, Copy, Debug)]
pub struct CandidateQuery<'a> {
    /// Dense user id.
    pub user: u32,
    /// Relevant items (non-empty, distinct).
    pub targets: &'a [u32],
    /// Candidate items (distinct, < n_items), in any order.
    pub candidates: &'a [u32],
}

/// Users scored per parallel ranking batch.
const BATCH: usize = 4096;

/// Evaluate ranking within candidate lists. `score(user, items, out)` fills `out[i]` with the
/// score of `items[i]`.
pub fn evaluate_candidates<E>(
    queries: &[CandidateQuery<'_>],
    n_items: u32,
    metrics: &[MetricSpec],
    ctx: &MetricContext<'_>,
    tie_seed: u64,
    keep_top: usize,
    mut score: impl FnMut(u32, &[u32], &mut [f32]) -> std::result::Result<(), E>,
) -> Result<EvalReport>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let ctx = MetricContext { n_items, ..*ctx };
    check_ranking_metrics(metrics, &ctx, "candidate-list", &[])?;
    let depth = top_depth(metrics, keep_top);
    let mut col = Collector::new(metrics);
    for qs in queries.chunks(BATCH) {
        let mut offsets = vec![0usize];
        let mut targets_pos: Vec<Vec<usize>> = Vec::with_capacity(qs.len());
        for q in qs {
            targets_pos.push(validate(q, n_items)?);
            offsets.push(offsets.last().unwrap() + q.candidates.len());
        }
        let mut buf = vec![0f32; *offsets.last().unwrap()];
        for (i, q) in qs.iter().enumerate() {
            score(q.user, q.candidates, &mut buf[offsets[i]..offsets[i + 1]])
                .map_err(|e| EvalError::Scorer { first_user: q.user, source: e.into() })?;
        }
        let ranked: Vec<Result<Ranked>> = (0..qs.len())
            .into_par_iter()
            .map_init(Scratch::default, |scratch, i| {
                let q = &qs[i];
                let inp = RowInput {
                    user: q.user,
                    scores: &buf[offsets[i]..offsets[i + 1]],
                    items: Some(q.candidates),
                    target_pos: &targets_pos[i],
                    n_relevant: q.targets.len() as u64,
                    n_masked: 0,
                    depth,
                    tie_seed,
                };
                let r = rank_row(&inp, scratch)?;
                Ok((q.user, user_values(&r, metrics, &ctx), r.top))
            })
            .collect();
        for r in ranked {
            let (u, v, top) = r?;
            col.push(u, &v, &top);
        }
    }
    let flags = EvalFlags {
        view: "candidates".into(),
        masked_seen: false,
        tie_policy: TIE_POLICY.into(),
        tie_seed,
        n_items,
        n_users: queries.len(),
        targets_also_seen: 0,
    };
    Ok(col.finish(flags, &ctx))
}

/// Check a query; return the positions of its targets in the candidate list.
fn validate(q: &CandidateQuery<'_>, n_items: u32) -> Result<Vec<usize>> {
    let bad = |reason: String| EvalError::BadInput { user: q.user, reason };
    if q.targets.is_empty() {
        return Err(bad("no target items".into()));
    }
    let mut c: Vec<(u32, usize)> = q.candidates.iter().enumerate().map(|(p, &i)| (i, p)).collect();
    c.sort_unstable();
    if let Some(w) = c.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(bad(format!("candidate item {} listed twice", w[0].0)));
    }
    if let Some(&(i, _)) = c.last().filter(|(i, _)| *i >= n_items) {
        return Err(bad(format!("candidate item {i} out of range (n_items = {n_items})")));
    }
    let mut t = q.targets.to_vec();
    t.sort_unstable();
    if let Some(w) = t.windows(2).find(|w| w[0] == w[1]) {
        return Err(bad(format!("target item {} listed twice", w[0])));
    }
    Ok(q.targets
        .iter()
        .filter_map(|t| c.binary_search_by_key(t, |e| e.0).ok().map(|j| c[j].1))
        .collect())
}

/// One ranked user: (user, per-user metric values, top list).
type Ranked = (u32, Vec<f64>, Vec<(u32, f32)>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::parse_metrics;

    #[test]
    fn target_position_does_not_matter_under_ties() {
        // All candidates tied: every metric equals its random expectation wherever the target is.
        let m = parse_metrics(&["hr@2", "ndcg@3", "mrr", "map@4"]).unwrap();
        let ctx = MetricContext::default();
        let lists: [&[u32]; 3] = [&[7, 1, 2, 3, 4], &[1, 2, 7, 3, 4], &[1, 2, 3, 4, 7]];
        let mut vals = Vec::new();
        for l in lists {
            let q = [CandidateQuery { user: 0, targets: &[7], candidates: l }];
            let r = evaluate_candidates(
                &q,
                10,
                &m,
                &ctx,
                1,
                0,
                |_, _, out: &mut [f32]| -> std::result::Result<(), std::io::Error> {
                    out.fill(0.5);
                    Ok(())
                },
            )
            .unwrap();
            vals.push(r.per_user.columns.clone());
        }
        assert_eq!(vals[0], vals[1]);
        assert_eq!(vals[0], vals[2]);
        let hr2 = vals[0][0].1[0];
        assert!((hr2 - 2.0 / 5.0).abs() < 1e-15);
        let mrr = vals[0][2].1[0];
        assert!((mrr - (1.0 + 0.5 + 1.0 / 3.0 + 0.25 + 0.2) / 5.0).abs() < 1e-15);
    }

    #[test]
    fn absent_target_is_a_miss_and_counts_in_recall() {
        let m = parse_metrics(&["recall@5"]).unwrap();
        let q = [CandidateQuery { user: 2, targets: &[1, 9], candidates: &[1, 2, 3] }];
        let r = evaluate_candidates(
            &q,
            10,
            &m,
            &MetricContext::default(),
            0,
            0,
            |_, items: &[u32], out: &mut [f32]| -> std::result::Result<(), std::io::Error> {
                for (o, &i) in out.iter_mut().zip(items) {
                    *o = -(i as f32);
                }
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(r.value("recall@5"), Some(0.5));
        let dup = [CandidateQuery { user: 2, targets: &[1], candidates: &[1, 1] }];
        let e = evaluate_candidates(
            &dup,
            10,
            &m,
            &MetricContext::default(),
            0,
            0,
            |_, _, _: &mut [f32]| -> std::result::Result<(), std::io::Error> { Ok(()) },
        );
        assert!(e.unwrap_err().to_string().contains("listed twice"));
    }
}
