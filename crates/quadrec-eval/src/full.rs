//! Full-ranking evaluation over the whole catalogue.
//!
//! Users are processed in blocks: the scorer callback fills one `[block, n_items]` row-major
//! buffer (the only users x items matrix that ever exists), then the rows are ranked in
//! parallel with rayon: seen items masked, relevant items' tie groups counted in vectorised
//! passes, the concrete top-K selected with a threshold buffer and `select_nth_unstable_by`
//! (O(n_items) per user, no sort of the row). Memory = one block + per-user values + top lists:
//! 100K users x 50K items with the default block (<= 64M scores = 256 MiB) stays well under 1 GiB.
//!
//! Masking: with `mask_seen`, every item in a query's `seen` list is removed from that user's
//! ranking, EXCEPT the user's own targets (a target is never masked; such collisions are counted
//! in [`EvalFlags::targets_also_seen`]).

use rayon::prelude::*;

use crate::aggregate::{Collector, check_ranking_metrics, top_depth, user_values_into};
use crate::error::{EvalError, Result};
use crate::metrics::{MetricContext, MetricSpec};
use crate::ranking::{
    MASK_BITS, RowInput, Scratch, TIE_POLICY, UserRanking, masked, rank_row_into,
    rank_row_mask_single,
};
use crate::results::{EvalFlags, EvalReport};

/// One user's full-ranking query.
#[derive(Clone, Copy, Debug)]
pub struct FullRankingQuery<'a> {
    /// Dense user id (passed to the scorer).
    pub user: u32,
    /// Relevant items (non-empty, distinct, < n_items).
    pub targets: &'a [u32],
    /// Items to mask (train items for validation; train + valid for test).
    pub seen: &'a [u32],
}

/// Options of [`evaluate_full`].
#[derive(Clone, Copy, Debug)]
pub struct FullRankingOptions {
    /// Mask `seen` items (recorded in the report flags).
    pub mask_seen: bool,
    /// Users per scored block; 0 = automatic (about 64M scores per block, at most 4096 users).
    pub block_users: usize,
    /// Seed of the concrete tie order of top lists.
    pub tie_seed: u64,
    /// Keep top lists at least this deep (e.g. 100 for TREC export). Otherwise lists are only as
    /// deep as the exposure metrics need (none for accuracy-only evaluations: no top-K work).
    pub keep_top: usize,
}

impl Default for FullRankingOptions {
    fn default() -> Self {
        FullRankingOptions { mask_seen: true, block_users: 0, tie_seed: 0, keep_top: 0 }
    }
}

/// Users per block so that a block holds about 64M scores (256 MiB of f32).
pub fn auto_block_users(n_items: u32) -> usize {
    ((64usize << 20) / (n_items.max(1) as usize)).clamp(1, 4096)
}

/// Evaluate full ranking. `score_block(users, out)` must fill `out` (`[users.len(), n_items]`,
/// row-major) with scores; higher = better; NaN is an error, -inf ranks last. `out` holds
/// unspecified values on entry (the block buffer is reused across calls, see
/// [`REUSE_MAX_SCORES`]): the scorer must write every entry.
pub fn evaluate_full<E>(
    queries: &[FullRankingQuery<'_>],
    n_items: u32,
    metrics: &[MetricSpec],
    ctx: &MetricContext<'_>,
    opts: &FullRankingOptions,
    mut score_block: impl FnMut(&[u32], &mut [f32]) -> std::result::Result<(), E>,
) -> Result<EvalReport>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let ctx = MetricContext { n_items, ..*ctx };
    check_ranking_metrics(metrics, &ctx, "full-ranking", &[])?;
    for q in queries {
        validate(q, n_items)?;
    }
    let mut also_seen = 0u64;
    let depth = top_depth(metrics, opts.keep_top);
    let n = n_items as usize;
    let block = if opts.block_users == 0 { auto_block_users(n_items) } else { opts.block_users };
    let block = block.min(queries.len().max(1));
    let mut buf = ScoreBuffer::take(block * n);
    let mut col = Collector::new(metrics);
    col.reserve(queries.len(), queries.len().saturating_mul(depth.min(n)));
    let n_cols = col.n_per_user();
    // Strides >= 1 so that every parallel slice has one chunk per task even when there are no
    // per-user columns or no top lists (zipped parallel iterators stop at the shortest).
    let (vs, ts) = (n_cols.max(1), depth.max(1));
    // Per-block outputs, written in place by the parallel ranking (no per-user allocation):
    // metric values [block, n_cols] row-major, top lists [block, depth] with their lengths,
    // seen-target collisions and errors per user.
    let mut vals = vec![0f64; block * vs];
    let mut tops = vec![(0u32, 0f32); block * ts];
    let mut out: Vec<RowOut> = (0..block).map(|_| RowOut::default()).collect();
    let mut users = Vec::with_capacity(block);
    for qs in queries.chunks(block) {
        let m = qs.len();
        users.clear();
        users.extend(qs.iter().map(|q| q.user));
        let rows = &mut buf[..m * n];
        score_block(&users, rows)
            .map_err(|e| EvalError::Scorer { first_user: qs[0].user, source: e.into() })?;
        // Tasks of USERS_PER_TASK users: each reuses one thread-local scratch and ranking. With
        // one rayon thread (or one task) the tasks run inline on the calling thread: handing the
        // block to the pool's single worker only adds a cross-thread wake-up per block.
        let env = TaskEnv {
            n,
            mask_seen: opts.mask_seen,
            tie_seed: opts.tie_seed,
            depth,
            metrics,
            ctx: &ctx,
            vs,
            ts,
            n_cols,
        };
        if rayon::current_num_threads() == 1 || m <= USERS_PER_TASK {
            let mut state = RankState::take();
            for ((((rows, vals), tops), outs), qs) in rows
                .chunks_mut(USERS_PER_TASK * n)
                .zip(vals[..m * vs].chunks_mut(USERS_PER_TASK * vs))
                .zip(tops[..m * ts].chunks_mut(USERS_PER_TASK * ts))
                .zip(out[..m].chunks_mut(USERS_PER_TASK))
                .zip(qs.chunks(USERS_PER_TASK))
            {
                rank_task(&env, &mut state, rows, vals, tops, outs, qs);
            }
        } else {
            rows.par_chunks_mut(USERS_PER_TASK * n)
                .zip(vals[..m * vs].par_chunks_mut(USERS_PER_TASK * vs))
                .zip(tops[..m * ts].par_chunks_mut(USERS_PER_TASK * ts))
                .zip(out[..m].par_chunks_mut(USERS_PER_TASK))
                .zip(qs.par_chunks(USERS_PER_TASK))
                .for_each_init(RankState::take, |state, ((((rows, vals), tops), outs), qs)| {
                    rank_task(&env, state, rows, vals, tops, outs, qs)
                });
        }
        // Errors are reported for the first failing user in query order (deterministic).
        for (i, o) in out[..m].iter_mut().enumerate() {
            if let Some(e) = o.err.take() {
                return Err(*e);
            }
            also_seen += o.collisions;
            let t = &tops[i * ts..i * ts + o.top_len as usize];
            col.push(qs[i].user, &vals[i * vs..i * vs + n_cols], t);
        }
    }
    let flags = EvalFlags {
        view: "full".into(),
        masked_seen: opts.mask_seen,
        tie_policy: TIE_POLICY.into(),
        tie_seed: opts.tie_seed,
        n_items,
        n_users: queries.len(),
        targets_also_seen: also_seen,
    };
    Ok(col.finish(flags, &ctx))
}

/// What every ranking task of one [`evaluate_full`] call shares.
struct TaskEnv<'a> {
    n: usize,
    mask_seen: bool,
    tie_seed: u64,
    depth: usize,
    metrics: &'a [MetricSpec],
    ctx: &'a MetricContext<'a>,
    /// Strides of the per-user value and top-list rows, and the number of value columns.
    vs: usize,
    ts: usize,
    n_cols: usize,
}

/// Rank one task's users (rows `[users, n]`) into their value rows, top lists and outcomes.
fn rank_task(
    env: &TaskEnv<'_>,
    state: &mut RankState,
    rows: &mut [f32],
    vals: &mut [f64],
    tops: &mut [(u32, f32)],
    outs: &mut [RowOut],
    qs: &[FullRankingQuery<'_>],
) {
    let &TaskEnv { n, mask_seen, tie_seed, depth, metrics, ctx, vs, ts, n_cols } = env;
    let (scratch, r) = state.parts();
    for (i, (row, q)) in rows.chunks_mut(n).zip(qs).enumerate() {
        let o = &mut outs[i];
        *o = RowOut::default();
        if let (true, &[t]) = (mask_seen, q.targets) {
            // Leave-one-out: count first, then mask (see rank_row_mask_single).
            match rank_row_mask_single(q.user, row, t, q.seen, depth, tie_seed, scratch, r) {
                Ok((_, collisions)) => o.collisions = collisions,
                Err(e) => {
                    o.err = Some(Box::new(e));
                    continue;
                }
            }
            user_values_into(r, metrics, ctx, &mut vals[i * vs..i * vs + n_cols]);
            tops[i * ts..i * ts + r.top.len()].copy_from_slice(&r.top);
            o.top_len = r.top.len() as u32;
            continue;
        }
        let (n_masked, collisions) = if mask_seen { mask_row(row, q) } else { (0, 0) };
        o.collisions = collisions;
        // Target positions = item ids; on the stack for the usual short lists.
        let mut small = [0usize; 8];
        let long: Vec<usize>;
        let pos: &[usize] = if q.targets.len() <= small.len() {
            for (p, &t) in small.iter_mut().zip(q.targets) {
                *p = t as usize;
            }
            &small[..q.targets.len()]
        } else {
            long = q.targets.iter().map(|&t| t as usize).collect();
            &long
        };
        let inp = RowInput {
            user: q.user,
            scores: row,
            items: None,
            target_pos: pos,
            n_relevant: q.targets.len() as u64,
            n_masked,
            depth,
            tie_seed,
        };
        if let Err(e) = rank_row_into(&inp, scratch, r) {
            o.err = Some(Box::new(e));
            continue;
        }
        user_values_into(r, metrics, ctx, &mut vals[i * vs..i * vs + n_cols]);
        tops[i * ts..i * ts + r.top.len()].copy_from_slice(&r.top);
        o.top_len = r.top.len() as u32;
    }
}

fn validate(q: &FullRankingQuery<'_>, n_items: u32) -> Result<()> {
    let bad = |reason: String| Err(EvalError::BadInput { user: q.user, reason });
    if q.targets.is_empty() {
        return bad("no target items".into());
    }
    if let Some(t) = q.targets.iter().find(|&&t| t >= n_items) {
        return bad(format!("target item {t} out of range (n_items = {n_items})"));
    }
    // Branch-free count first (vectorised; this runs for every seen item of every user), the
    // offending item is only looked up when there is one.
    if q.seen.iter().map(|&s| u32::from(s >= n_items)).sum::<u32>() != 0 {
        let s = q.seen.iter().find(|&&s| s >= n_items).expect("counted above");
        return bad(format!("seen item {s} out of range (n_items = {n_items})"));
    }
    // Duplicates: pairwise for short lists (the usual 1-10 targets, no allocation), sorted copy
    // otherwise.
    let dup = if q.targets.len() <= 16 {
        q.targets.iter().enumerate().find(|&(i, t)| q.targets[..i].contains(t)).map(|(_, &t)| t)
    } else {
        let mut t = q.targets.to_vec();
        t.sort_unstable();
        t.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
    };
    if let Some(t) = dup {
        return bad(format!("target item {t} listed twice"));
    }
    Ok(())
}

/// Score buffers of at most this many f32 (32 MiB) are kept by the calling thread between calls
/// of [`evaluate_full`], so that repeated evaluations (validation every epoch, benchmarks) do not
/// zero a fresh block buffer each time; larger blocks (big catalogues, where zeroing is a small
/// share of the ranking work) are freed at the end of the call as before.
pub const REUSE_MAX_SCORES: usize = 8 << 20;

thread_local! {
    static SCORE_BUF: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The block buffer, taken from the thread's cache and given back on drop (every return path,
/// errors included). A scorer that calls [`evaluate_full`] itself gets a fresh buffer.
struct ScoreBuffer(Vec<f32>);

impl ScoreBuffer {
    fn take(len: usize) -> Self {
        let mut v = SCORE_BUF.with(|b| std::mem::take(&mut *b.borrow_mut()));
        if v.len() < len {
            v.resize(len, 0.0);
        }
        ScoreBuffer(v)
    }
}

impl std::ops::Deref for ScoreBuffer {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl std::ops::DerefMut for ScoreBuffer {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

impl Drop for ScoreBuffer {
    fn drop(&mut self) {
        if self.0.len() <= REUSE_MAX_SCORES {
            let v = std::mem::take(&mut self.0);
            // `try_with`: the thread-local may already be gone during thread teardown.
            let _ = SCORE_BUF.try_with(|b| {
                if let Ok(mut b) = b.try_borrow_mut()
                    && b.len() < v.len()
                {
                    *b = v;
                }
            });
        }
    }
}

/// Mask seen items (not targets); returns (entries masked, seen targets skipped).
fn mask_row(row: &mut [f32], q: &FullRankingQuery<'_>) -> (usize, u64) {
    let (mut n, mut c) = (0usize, 0u64);
    for &s in q.seen {
        if q.targets.contains(&s) {
            c += 1;
        } else if row[s as usize].to_bits() != MASK_BITS {
            row[s as usize] = masked();
            n += 1;
        }
    }
    (n, c)
}

thread_local! {
    static RANK_STATE: std::cell::RefCell<Option<(Scratch, UserRanking)>> =
        const { std::cell::RefCell::new(None) };
}

/// A thread's ranking buffers ([`Scratch`], one [`UserRanking`]), kept between rayon jobs and
/// between calls: `for_each_init` runs its init once per job split, and fresh buffers would be
/// allocated and sized (row-length vectors) each time. Given back on drop.
struct RankState(Option<(Scratch, UserRanking)>);

impl RankState {
    fn take() -> Self {
        let kept = RANK_STATE.try_with(|c| c.try_borrow_mut().ok().and_then(|mut b| b.take()));
        RankState(Some(
            kept.ok().flatten().unwrap_or_else(|| (Scratch::default(), UserRanking::empty())),
        ))
    }

    fn parts(&mut self) -> (&mut Scratch, &mut UserRanking) {
        let (s, r) = self.0.as_mut().expect("present until dropped");
        (s, r)
    }
}

impl Drop for RankState {
    fn drop(&mut self) {
        let v = self.0.take();
        let _ = RANK_STATE.try_with(|c| {
            if let Ok(mut b) = c.try_borrow_mut() {
                *b = v;
            }
        });
    }
}

/// Users ranked by one rayon task (amortises task overhead; small enough to balance threads).
const USERS_PER_TASK: usize = 16;

/// Per-user outcome of the parallel ranking besides metric values and the top list.
#[derive(Default)]
struct RowOut {
    /// Seen items that were targets (never masked).
    collisions: u64,
    /// Length of the top list written (< depth when fewer candidates remain).
    top_len: u32,
    /// The user's error, if any (boxed: keeps the per-user record small).
    err: Option<Box<EvalError>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::parse_metrics;

    #[test]
    fn masking_and_blocks_do_not_change_results() {
        // 3 users x 6 items; score = item id (item 5 best). User 0: target 3, seen {5, 4}: after
        // masking the target is rank 1. User 1: target 0 (worst), seen {}: rank 6.
        let m = parse_metrics(&["hr@1", "mrr", "ndcg@3"]).unwrap();
        let qs = [
            FullRankingQuery { user: 0, targets: &[3], seen: &[5, 4] },
            FullRankingQuery { user: 1, targets: &[0], seen: &[] },
            FullRankingQuery { user: 2, targets: &[2, 4], seen: &[4, 1] },
        ];
        let scorer = |u: &[u32], out: &mut [f32]| -> std::result::Result<(), std::io::Error> {
            for (r, _) in out.chunks_mut(6).zip(u) {
                for (i, x) in r.iter_mut().enumerate() {
                    *x = i as f32;
                }
            }
            Ok(())
        };
        let ctx = MetricContext::default();
        let a = evaluate_full(
            &qs,
            6,
            &m,
            &ctx,
            &FullRankingOptions { block_users: 1, keep_top: 3, ..Default::default() },
            scorer,
        )
        .unwrap();
        let b = evaluate_full(
            &qs,
            6,
            &m,
            &ctx,
            &FullRankingOptions { block_users: 7, ..Default::default() },
            scorer,
        )
        .unwrap();
        assert_eq!(a.per_user, b.per_user);
        assert_eq!(a.per_user.column("hr@1").unwrap(), &[1.0, 0.0, 0.0]);
        // user 1: rank 6 -> 1/6; user 2: target 4 is seen but never masked, so rank 2 (after 5)
        // and target 2 rank 4 (5, 4, 3 above it; item 1 masked): MRR = 1/2.
        assert_eq!(a.per_user.column("mrr").unwrap(), &[1.0, 1.0 / 6.0, 0.5]);
        assert_eq!(a.flags.targets_also_seen, 1);
        let top0 = a.top.as_ref().unwrap().get(0).1.to_vec();
        assert_eq!(top0, vec![3, 2, 1]);
    }

    #[test]
    fn parallel_block_path_equals_per_user_reference() {
        // 70 users (several 16-user tasks, a partial last task and block) x 300 items with few
        // distinct scores (ties), seen lists with duplicates and seen targets, 1-3 targets per
        // user. Reference: mask by hand, rank each row alone (`rank_row`), metric functions one
        // by one; top lists by a full sort; exposure metrics from those lists.
        use crate::metrics::Compute;
        use crate::ranking::{rank_row, tie_key};
        let (n_users, n_items) = (70u32, 300u32);
        let mut state = 77u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        let scores: Vec<f32> =
            (0..n_users * n_items).map(|_| (next() % 40) as f32 * 0.25 - 3.0).collect();
        let mut targets: Vec<Vec<u32>> = Vec::new();
        let mut seen: Vec<Vec<u32>> = Vec::new();
        for _ in 0..n_users {
            let mut t: Vec<u32> = Vec::new();
            while t.len() < 1 + (next() % 3) as usize {
                let i = next() % n_items;
                if !t.contains(&i) {
                    t.push(i);
                }
            }
            let mut sn: Vec<u32> = (0..next() % 60).map(|_| next() % n_items).collect();
            sn.push(t[0]); // a seen target: never masked
            targets.push(t);
            seen.push(sn);
        }
        let qs: Vec<FullRankingQuery> = (0..n_users as usize)
            .map(|u| FullRankingQuery { user: u as u32, targets: &targets[u], seen: &seen[u] })
            .collect();
        let pop: Vec<u32> = (0..n_items).map(|i| i % 17).collect();
        let ctx = MetricContext { n_items, item_popularity: Some(&pop), long_tail: None };
        let names = [
            "hr@5",
            "recall@10",
            "precision@3",
            "ndcg@20",
            "mrr",
            "mrr@7",
            "map@10",
            "avg_pop@10",
            "coverage@5",
            "coverage@20",
            "gini@20",
        ];
        let m = parse_metrics(&names).unwrap();
        let scorer = |u: &[u32], out: &mut [f32]| -> std::result::Result<(), std::io::Error> {
            for (r, &u) in out.chunks_mut(n_items as usize).zip(u) {
                let o = u as usize * n_items as usize;
                r.copy_from_slice(&scores[o..o + n_items as usize]);
            }
            Ok(())
        };
        // Every block size on one rayon thread (tasks inline on the caller) and on two (tasks
        // in the pool): the same reference values either way.
        for (block, threads) in [0, 7, 16, 33].into_iter().flat_map(|b| [(b, 1), (b, 2)]) {
            let opts = FullRankingOptions {
                block_users: block,
                tie_seed: 5,
                keep_top: 25,
                ..Default::default()
            };
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let rep =
                pool.install(|| evaluate_full(&qs, n_items, &m, &ctx, &opts, scorer)).unwrap();
            let top = rep.top.as_ref().unwrap();
            let collisions: usize =
                qs.iter().map(|q| q.seen.iter().filter(|s| q.targets.contains(s)).count()).sum();
            assert!(collisions >= n_users as usize);
            assert_eq!(rep.flags.targets_also_seen, collisions as u64);
            for (u, q) in qs.iter().enumerate() {
                let mut row = scores[u * n_items as usize..(u + 1) * n_items as usize].to_vec();
                let mut n_masked = 0;
                for &s in q.seen {
                    if !q.targets.contains(&s) && !row[s as usize].is_nan() {
                        row[s as usize] = masked();
                        n_masked += 1;
                    }
                }
                let pos: Vec<usize> = q.targets.iter().map(|&t| t as usize).collect();
                let inp = RowInput {
                    user: q.user,
                    scores: &row,
                    items: None,
                    target_pos: &pos,
                    n_relevant: pos.len() as u64,
                    n_masked,
                    depth: 25,
                    tie_seed: 5,
                };
                let r = rank_row(&inp, &mut Scratch::default()).unwrap();
                for spec in &m {
                    if let Compute::PerUser(f) = spec.def.compute {
                        let want = f(&r, spec.k, &ctx).unwrap_or(f64::NAN);
                        let got = rep.per_user.column(&spec.name()).unwrap()[u];
                        assert_eq!(got.to_bits(), want.to_bits(), "user {u} {}", spec.name());
                    }
                }
                let mut all: Vec<(u32, f32)> = row
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| !x.is_nan())
                    .map(|(i, &x)| (i as u32, x))
                    .collect();
                all.sort_by(|a, b| {
                    b.1.total_cmp(&a.1)
                        .then_with(|| tie_key(5, q.user, b.0).cmp(&tie_key(5, q.user, a.0)))
                });
                let (uid, items, _) = top.get(u);
                assert_eq!(uid, q.user);
                let want: Vec<u32> = all[..25].iter().map(|e| e.0).collect();
                assert_eq!(items, &want[..], "user {u}");
            }
            // Exposure metrics from the lists, by hand.
            let value = |name: &str| rep.summary.iter().find(|s| s.metric == name).unwrap().value;
            for k in [5usize, 20] {
                let mut c = vec![0u64; n_items as usize];
                for u in 0..qs.len() {
                    for &i in &top.get(u).1[..k] {
                        c[i as usize] += 1;
                    }
                }
                let cov = c.iter().filter(|&&x| x > 0).count() as f64 / f64::from(n_items);
                assert_eq!(value(&format!("coverage@{k}")), cov);
                if k == 20 {
                    assert_eq!(value("gini@20"), crate::metrics::gini_index(&c));
                }
            }
        }
    }

    #[test]
    fn reused_score_buffer_and_nested_calls_give_identical_reports() {
        // Leave-one-out queries over 2,000 items (the block-bound top-K path): the report must
        // not depend on what an earlier call left in this thread's reused block buffer (a call
        // with other scores and a larger catalogue runs first), nor on a call made from inside a
        // scorer (which gets its own buffer); top lists equal a full sort of the masked rows.
        use crate::ranking::tie_key;
        let (n_users, n_items) = (37u32, 2000u32);
        let mut state = 5u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        let scores: Vec<f32> =
            (0..n_users * n_items).map(|_| (next() % 500) as f32 * 0.125).collect();
        let targets: Vec<u32> = (0..n_users).map(|_| next() % n_items).collect();
        let seen: Vec<Vec<u32>> =
            (0..n_users).map(|_| (0..next() % 200).map(|_| next() % n_items).collect()).collect();
        let qs: Vec<FullRankingQuery> = (0..n_users as usize)
            .map(|u| FullRankingQuery {
                user: u as u32,
                targets: std::slice::from_ref(&targets[u]),
                seen: &seen[u],
            })
            .collect();
        let pop: Vec<u32> = (0..n_items).map(|i| i % 13).collect();
        let ctx = MetricContext { n_items, item_popularity: Some(&pop), long_tail: None };
        let m = parse_metrics(&["hr@20", "ndcg@10", "mrr", "map@20", "coverage@20", "gini@10"])
            .unwrap();
        let opts = FullRankingOptions { block_users: 10, tie_seed: 2, ..Default::default() };
        let scorer = |u: &[u32], out: &mut [f32]| -> std::result::Result<(), std::io::Error> {
            for (r, &u) in out.chunks_mut(n_items as usize).zip(u) {
                let o = u as usize * n_items as usize;
                r.copy_from_slice(&scores[o..o + n_items as usize]);
            }
            Ok(())
        };
        // A first call leaves other values (and masked entries) in a larger buffer.
        let wide: Vec<FullRankingQuery> =
            qs.iter().map(|q| FullRankingQuery { targets: &[1], ..*q }).collect();
        evaluate_full(&wide, 3000, &m, &MetricContext::default(), &opts, |_, out| {
            out.fill(7.0);
            Ok::<(), std::io::Error>(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let a = evaluate_full(&qs, n_items, &m, &ctx, &opts, scorer).unwrap();
        let b = evaluate_full(&qs, n_items, &m, &ctx, &opts, scorer).unwrap();
        let mut nested = None;
        evaluate_full(&qs[..3], n_items, &m, &ctx, &opts, |u, out| {
            if nested.is_none() {
                nested = Some(evaluate_full(&qs, n_items, &m, &ctx, &opts, scorer).unwrap());
            }
            scorer(u, out)
        })
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(Some(&a), nested.as_ref());
        let top = a.top.as_ref().unwrap();
        for (u, q) in qs.iter().enumerate() {
            let mut row = scores[u * n_items as usize..(u + 1) * n_items as usize].to_vec();
            for &s in q.seen {
                if s != q.targets[0] {
                    row[s as usize] = f32::NAN;
                }
            }
            let mut all: Vec<(u32, f32)> = row
                .iter()
                .enumerate()
                .filter(|(_, x)| !x.is_nan())
                .map(|(i, &x)| (i as u32, x))
                .collect();
            all.sort_by(|x, y| {
                y.1.total_cmp(&x.1)
                    .then_with(|| tie_key(2, q.user, y.0).cmp(&tie_key(2, q.user, x.0)))
            });
            let want: Vec<u32> = all[..20].iter().map(|e| e.0).collect();
            assert_eq!(top.get(u).1, &want[..], "user {u}");
        }
    }

    #[test]
    fn nan_at_a_seen_item_is_masked_like_any_seen_score() {
        // Single-target path (count first, then mask): a scorer NaN at a seen item is masked,
        // exactly as a finite score there would be; duplicates and a seen target are handled.
        let m = parse_metrics(&["mrr", "ndcg@3"]).unwrap();
        let ctx = MetricContext::default();
        let run = |x2: f32| {
            let q = [FullRankingQuery { user: 1, targets: &[0], seen: &[2, 2, 0, 4] }];
            let sc = move |_: &[u32], out: &mut [f32]| -> std::result::Result<(), std::io::Error> {
                out.copy_from_slice(&[0.5, 0.9, x2, 0.5, 0.7, 0.1]);
                Ok(())
            };
            let o = FullRankingOptions { keep_top: 6, ..Default::default() };
            evaluate_full(&q, 6, &m, &ctx, &o, sc).unwrap()
        };
        let (a, b) = (run(f32::NAN), run(2.0));
        assert_eq!(a.per_user, b.per_user);
        assert_eq!(a.top, b.top);
        // candidates {0, 1, 3, 5}: target 0 (0.5) is tied with item 3 below item 1 (0.9):
        // positions 2..=3, expected RR = (1/2 + 1/3) / 2.
        assert_eq!(a.per_user.column("mrr").unwrap(), &[(0.5 + 1.0 / 3.0) / 2.0]);
        assert_eq!(a.flags.targets_also_seen, 1);
        assert_eq!(a.top.as_ref().unwrap().get(0).1.len(), 4);
    }

    #[test]
    fn first_failing_user_in_query_order_is_reported() {
        // NaN scores for users 40 and 5 (different parallel tasks): user 5 is reported.
        let m = parse_metrics(&["hr@1"]).unwrap();
        let qs: Vec<FullRankingQuery> =
            (0..50).map(|u| FullRankingQuery { user: u, targets: &[0], seen: &[] }).collect();
        let nan = |u: &[u32], out: &mut [f32]| -> std::result::Result<(), std::io::Error> {
            for (r, &u) in out.chunks_mut(4).zip(u) {
                r.fill(1.0);
                if u == 40 || u == 5 {
                    r[3] = f32::NAN;
                }
            }
            Ok(())
        };
        let e = evaluate_full(&qs, 4, &m, &MetricContext::default(), &Default::default(), nan)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "user 5: score of item 3 is NaN");
    }

    #[test]
    fn bad_inputs_are_named() {
        let m = parse_metrics(&["hr@1"]).unwrap();
        let ctx = MetricContext::default();
        let ok = |_: &[u32], _: &mut [f32]| -> std::result::Result<(), std::io::Error> { Ok(()) };
        let e = evaluate_full(
            &[FullRankingQuery { user: 7, targets: &[9], seen: &[] }],
            5,
            &m,
            &ctx,
            &Default::default(),
            ok,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("user 7") && e.contains("target item 9"), "{e}");
        let nan = |_: &[u32], out: &mut [f32]| -> std::result::Result<(), std::io::Error> {
            out.fill(0.0);
            out[2] = f32::NAN;
            Ok(())
        };
        let e = evaluate_full(
            &[FullRankingQuery { user: 3, targets: &[0], seen: &[1] }],
            5,
            &m,
            &ctx,
            &Default::default(),
            nan,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "user 3: score of item 2 is NaN");
        let fail = |_: &[u32], _: &mut [f32]| Err(std::io::Error::other("model exploded"));
        let e = evaluate_full(
            &[FullRankingQuery { user: 3, targets: &[0], seen: &[] }],
            5,
            &m,
            &ctx,
            &Default::default(),
            fail,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("model exploded"), "{e}");
        let auc = parse_metrics(&["auc"]).unwrap();
        assert!(evaluate_full(&[], 5, &auc, &ctx, &Default::default(), ok).is_err());
    }
}
