//! The tie policy and the per-user ranking summary that every ranking metric reads.
//!
//! # Tie policy
//! Tied scores are broken uniformly at random, and every ranking accuracy metric is the EXACT
//! expectation of the metric over that random tie-breaking (McSherry & Najork, "Computing
//! Information Retrieval Performance Measures Efficiently in the Presence of Tied Scores",
//! ECIR 2008). Consequences, all tested:
//! - a constant scorer gets exactly the value of a uniformly random ranking (never more);
//! - without ties the usual deterministic values are recovered;
//! - nothing depends on where the target sits in a candidate list or in the catalogue.
//!
//! Only the relevant items' tie groups matter for accuracy: a [`TieGroup`] records how many
//! candidates score strictly higher than a relevant item (`above`), how many candidates share its
//! score (`size`, including itself) and how many of those are relevant (`relevant`). Within a
//! group of `m` positions holding `r` relevant items, each position is relevant with probability
//! `r/m`, and two distinct positions both with probability `r(r-1)/(m(m-1))`; groups are
//! independent. Additive metrics (hits, DCG) follow by linearity; HR uses the hypergeometric
//! probability of at least one hit; MRR uses the distribution of the first relevant position;
//! AP uses the pairwise probabilities.
//!
//! Concrete top-K lists (for exposure metrics and TREC export) are one draw of the same uniform
//! order: ties are ordered by a key `splitmix64(tie_seed ^ (user << 32 | item))`, a bijection of
//! (user, item), so the order depends on item ids and the recorded seed only.

use crate::error::{EvalError, Result};

/// Name of the tie policy, recorded in every report and Parquet file.
pub const TIE_POLICY: &str = "expected-over-uniform-random-ties/v1";

/// Bit pattern used by the evaluators to mark masked (seen) entries in a score row. A NaN with
/// this payload is "masked"; any other NaN is a scorer bug and is reported.
pub(crate) const MASK_BITS: u32 = 0x7fc0_5eed;

/// A masked score.
pub(crate) fn masked() -> f32 {
    f32::from_bits(MASK_BITS)
}

/// The tie-break key of `item` for `user`: larger key wins a tie.
#[inline]
pub fn tie_key(tie_seed: u64, user: u32, item: u32) -> u64 {
    let mut z = tie_seed ^ ((u64::from(user) << 32) | u64::from(item));
    // splitmix64 finaliser: a bijection on u64, so keys of distinct (user, item) never collide.
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One group of tied candidates that holds at least one relevant item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TieGroup {
    /// Candidates with a strictly higher score (so the group occupies 1-based positions
    /// `above+1 ..= above+size`).
    pub above: u64,
    /// Candidates sharing this score, relevant ones included (>= 1).
    pub size: u64,
    /// Relevant candidates among them (1..=size).
    pub relevant: u64,
}

impl TieGroup {
    /// Positions of this group at or before cutoff `k`.
    #[inline]
    fn overlap(&self, k: u64) -> u64 {
        (self.above + self.size).min(k).saturating_sub(self.above)
    }
}

/// Everything the ranking metrics need about one user's ranking.
#[derive(Clone, Debug, PartialEq)]
pub struct UserRanking {
    /// Dense user id.
    pub user: u32,
    /// Number of relevant items, INCLUDING relevant items absent from the candidates (they count
    /// in Recall/NDCG/MAP denominators and can never be hit).
    pub n_relevant: u64,
    /// Number of rankable candidates (after masking).
    pub n_candidates: u64,
    /// Tie groups holding relevant items, sorted by `above` (best first), disjoint.
    pub groups: Vec<TieGroup>,
    /// One draw of the concrete top list, best first: (item, score). Length = min(depth, candidates).
    pub top: Vec<(u32, f32)>,
}

/// Positions with a precomputed discount (the first pages of any ranking).
const DISCOUNT_TABLE_LEN: usize = 1024;

/// `DISCOUNTS[p] = 1 / log2(p + 1)` for p < [`DISCOUNT_TABLE_LEN`], built once per process so
/// that NDCG does not call `log2` per user; the entries are the same f64 values the formula
/// gives (same expression), so results do not depend on whether the table was used.
static DISCOUNTS: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();

#[inline]
fn discount_formula(pos: u64) -> f64 {
    1.0 / ((pos + 1) as f64).log2()
}

/// 1 / log2(pos + 1), the DCG discount of 1-based position `pos`.
#[inline]
pub(crate) fn discount(pos: u64) -> f64 {
    let t =
        DISCOUNTS.get_or_init(|| (0..DISCOUNT_TABLE_LEN as u64).map(discount_formula).collect());
    match t.get(pos as usize) {
        Some(&d) => d,
        None => discount_formula(pos),
    }
}

impl UserRanking {
    /// Ranking of an explicit list without ties (generated lists): position i holds `items[i]`.
    /// Items must be distinct; relevant items absent from the list are misses.
    pub fn from_list(user: u32, items: &[u32], targets: &[u32]) -> Self {
        let mut groups: Vec<TieGroup> = items
            .iter()
            .enumerate()
            .filter(|(_, it)| targets.contains(it))
            .map(|(i, _)| TieGroup { above: i as u64, size: 1, relevant: 1 })
            .collect();
        groups.sort_by_key(|g| g.above);
        UserRanking {
            user,
            n_relevant: targets.len() as u64,
            n_candidates: items.len() as u64,
            groups,
            top: items.iter().map(|&i| (i, f32::NAN)).collect(),
        }
    }

    /// Expected number of relevant items in the top `k`.
    pub fn expected_hits(&self, k: u64) -> f64 {
        self.groups.iter().map(|g| g.relevant as f64 * g.overlap(k) as f64 / g.size as f64).sum()
    }

    /// Probability that at least one relevant item is in the top `k`.
    pub fn prob_any_hit(&self, k: u64) -> f64 {
        // Only the best relevant group matters: if it is wholly inside the cutoff there is a
        // hit; if it straddles the cutoff, every later group lies beyond it.
        let Some(g) = self.groups.first().filter(|g| g.above < k) else { return 0.0 };
        let j = g.overlap(k);
        let (m, r) = (g.size, g.relevant);
        if j == m || m - r < j {
            return 1.0;
        }
        // 1 - P(no relevant among the first j of m positions) = 1 - C(m-r, j) / C(m, j).
        let mut p_none = 1.0f64;
        for i in 0..j {
            p_none *= (m - r - i) as f64 / (m - i) as f64;
        }
        1.0 - p_none
    }

    /// Expected DCG@k with binary gains.
    pub fn expected_dcg(&self, k: u64) -> f64 {
        let mut dcg = 0.0;
        for g in &self.groups {
            if g.above >= k {
                break;
            }
            let end = (g.above + g.size).min(k);
            let s: f64 = (g.above + 1..=end).map(discount).sum();
            dcg += s * g.relevant as f64 / g.size as f64;
        }
        dcg
    }

    /// Ideal DCG@k: all min(R, k) first positions relevant.
    pub fn ideal_dcg(&self, k: u64) -> f64 {
        (1..=self.n_relevant.min(k)).map(discount).sum()
    }

    /// Expected reciprocal rank of the first relevant item (0 if it is after `cutoff`).
    pub fn expected_reciprocal_rank(&self, cutoff: Option<u64>) -> f64 {
        let Some(g) = self.groups.first() else { return 0.0 };
        let k = cutoff.unwrap_or(u64::MAX);
        if g.above >= k {
            return 0.0;
        }
        // J = position of the first relevant item inside the group (1-based).
        // Survival S(j) = P(J > j) = prod_{i<j} (m-r-i)/(m-i); P(J = j) = S(j-1) - S(j).
        let (m, r) = (g.size, g.relevant);
        let last = (m - r + 1).min(k - g.above);
        let mut surv = 1.0f64;
        let mut e = 0.0;
        for j in 1..=last {
            let next = if j - 1 < m - r {
                surv * (m - r - (j - 1)) as f64 / (m - (j - 1)) as f64
            } else {
                0.0
            };
            e += (surv - next) / (g.above + j) as f64;
            surv = next;
        }
        e
    }

    /// Expected sum over the top `k` positions of rel(pos) * precision@pos (the AP numerator).
    pub fn expected_ap_numerator(&self, k: u64) -> f64 {
        let mut total = 0.0;
        let mut rel_before = 0.0; // expected relevant count in earlier groups
        for g in &self.groups {
            if g.above >= k {
                break;
            }
            let (m, r) = (g.size as f64, g.relevant as f64);
            let p1 = r / m;
            let p2 = if g.size > 1 { r * (r - 1.0) / (m * (m - 1.0)) } else { 0.0 };
            for o in 0..g.overlap(k) {
                let pos = (g.above + o + 1) as f64;
                // E[rel(pos) * (rel(pos) + sum_{earlier} rel)] / pos
                total += (p1 + p1 * rel_before + o as f64 * p2) / pos;
            }
            rel_before += r;
        }
        total
    }
}

/// Input of [`rank_row`]: one user's scores over candidates, with masked entries already set.
pub(crate) struct RowInput<'a> {
    pub user: u32,
    /// Scores, masked entries = [`masked`].
    pub scores: &'a [f32],
    /// Candidate item ids aligned with `scores`; `None` means position = item id (full ranking).
    pub items: Option<&'a [u32]>,
    /// Positions in `scores` of the relevant items present among the candidates.
    pub target_pos: &'a [usize],
    /// Total relevant items (present or not).
    pub n_relevant: u64,
    /// Masked entries written by the evaluator.
    pub n_masked: usize,
    /// Depth of the concrete top list to keep.
    pub depth: usize,
    /// Seed of the tie-break keys.
    pub tie_seed: u64,
}

/// Per-thread buffers of [`rank_row`], reused across rows so that ranking a row allocates only
/// its results (small catalogues make per-row allocations a visible share of the time).
pub(crate) struct Scratch {
    /// Candidate (score, position) pairs of the threshold-buffer top-K path (deep lists).
    buf: Vec<(f32, u32)>,
    /// Block maxima of the top-K lower bound.
    maxima: Vec<f32>,
    /// Sort keys (score order, position) of the block-bound top-K selection.
    keys: Vec<u64>,
    /// Block maxima keys, then indices of the blocks to revisit.
    blocks: Vec<u32>,
    /// Positions of the scores at or above the bound in the revisited blocks.
    hits: Vec<u32>,
    /// Block maxima keys (score order << 32 | block) of the bound selection.
    cand: Vec<u64>,
    /// Bounds of the previous two rows (the selection's guess; -inf before any row).
    guess: (f32, f32),
    /// Rows whose bound was selected among the maxima at or above the guess / among all maxima.
    #[cfg(test)]
    guess_stats: [usize; 2],
    /// `maxima` already holds this row's block maxima (computed in the fused counting pass).
    maxima_ready: bool,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            buf: Vec::new(),
            maxima: Vec::new(),
            keys: Vec::new(),
            blocks: Vec::new(),
            hits: Vec::new(),
            cand: Vec::new(),
            guess: (f32::NEG_INFINITY, f32::NEG_INFINITY),
            maxima_ready: false,
            #[cfg(test)]
            guess_stats: [0; 2],
        }
    }
}

impl UserRanking {
    /// An empty ranking whose vectors are reused by [`rank_row_into`].
    pub(crate) fn empty() -> Self {
        UserRanking { user: 0, n_relevant: 0, n_candidates: 0, groups: Vec::new(), top: Vec::new() }
    }
}

/// Rank one row: count, for each distinct relevant score, the candidates above and tied; select
/// the concrete top `depth` by partial selection (see [`top_k`]; O(n), no sort of the row).
/// `scratch` is reused across rows of one thread.
pub(crate) fn rank_row(inp: &RowInput<'_>, scratch: &mut Scratch) -> Result<UserRanking> {
    let mut out = UserRanking::empty();
    rank_row_into(inp, scratch, &mut out)?;
    Ok(out)
}

/// [`rank_row`] into a reused [`UserRanking`] (its `groups` and `top` keep their capacity, so
/// ranking a row allocates nothing once the thread's buffers have grown).
pub(crate) fn rank_row_into(
    inp: &RowInput<'_>,
    scratch: &mut Scratch,
    out: &mut UserRanking,
) -> Result<()> {
    let s = inp.scores;
    let item_at = |p: usize| -> u32 { inp.items.map_or(p as u32, |it| it[p]) };

    // NaN check fused into the vectorised counting pass below: masked entries are our NaNs.
    let mut n_nan = usize::MAX;

    if let Some(p) = inp.target_pos.iter().find(|&&p| s[p].is_nan()) {
        return Err(EvalError::NanScore { user: inp.user, item: item_at(*p) });
    }
    let groups = &mut out.groups;
    groups.clear();
    scratch.maxima_ready = false;
    if let &[p] = inp.target_pos {
        // One relevant item present (leave-one-out): one counting pass, no intermediate lists;
        // when a top list is wanted, the same pass also takes the block maxima of the top-K
        // bound (one sweep over the row instead of two).
        let (above, size, nan) = match block_len(s.len(), inp.depth) {
            Some(block) => {
                scratch.maxima_ready = true;
                count_pass_maxima(s, s[p], block, &mut scratch.maxima)
            }
            None => count_pass(s, s[p]),
        };
        groups.push(TieGroup { above, size, relevant: 1 });
        n_nan = nan;
    } else {
        rank_groups(inp, groups, &mut n_nan);
    }

    if n_nan == usize::MAX {
        n_nan = s.iter().map(|x| x.is_nan() as usize).sum::<usize>(); // no targets present
    }
    if n_nan != inp.n_masked {
        let p = s.iter().position(|x| x.is_nan() && x.to_bits() != MASK_BITS).unwrap_or(0);
        return Err(EvalError::NanScore { user: inp.user, item: item_at(p) });
    }
    out.user = inp.user;
    out.n_relevant = inp.n_relevant;
    out.n_candidates = (s.len() - n_nan) as u64;
    out.top.clear();
    top_k(inp, scratch, &mut out.top);
    Ok(())
}

/// Full-ranking fast path for one target with seen items to mask (leave-one-out): the row is
/// read sequentially FIRST (counting against the target's score; this also brings it into L1),
/// then the seen items are masked (random accesses, now cache hits) while their contributions
/// are taken back out of the counts; finally the top list. Same results and errors as masking
/// first and calling [`rank_row_into`] (tested). Returns (entries masked, seen targets skipped).
pub(crate) fn rank_row_mask_single(
    user: u32,
    row: &mut [f32],
    target: u32,
    seen: &[u32],
    depth: usize,
    tie_seed: u64,
    scratch: &mut Scratch,
    out: &mut UserRanking,
) -> Result<(usize, u64)> {
    let p = target as usize;
    let t = row[p];
    // Runtime dispatch (`pulp`): the pass is compiled for the best vector ISA of the CPU
    // (AVX2 on x86-64-v3) besides the SSE2 baseline; integer counts, so identical results.
    let (mut above, mut size, nan) = pulp::Arch::new().dispatch(|| count_pass(row, t));
    let (mut n_masked, mut collisions, mut nan_seen) = (0usize, 0u64, 0usize);
    for &si in seen {
        if si == target {
            collisions += 1; // a target is never masked
            continue;
        }
        let x = &mut row[si as usize];
        if x.to_bits() != MASK_BITS {
            nan_seen += usize::from(x.is_nan());
            above -= u64::from(*x > t);
            size -= u64::from(*x == t);
            *x = masked();
            n_masked += 1;
        }
    }
    let inp = RowInput {
        user,
        scores: row,
        items: None,
        target_pos: &[p],
        n_relevant: 1,
        n_masked,
        depth,
        tie_seed,
    };
    if t.is_nan() {
        return Err(EvalError::NanScore { user, item: target });
    }
    // NaNs left after masking = scorer NaNs outside the seen items (or a scorer NaN carrying
    // the mask payload): reported like `rank_row_into` does.
    if nan != nan_seen {
        let q = row.iter().position(|x| x.is_nan() && x.to_bits() != MASK_BITS).unwrap_or(0);
        return Err(EvalError::NanScore { user, item: q as u32 });
    }
    out.groups.clear();
    out.groups.push(TieGroup { above, size, relevant: 1 });
    out.user = user;
    out.n_relevant = 1;
    out.n_candidates = (inp.scores.len() - n_masked) as u64;
    out.top.clear();
    scratch.maxima_ready = false;
    top_k(&inp, scratch, &mut out.top);
    Ok((n_masked, collisions))
}

/// Tie groups of several relevant items (any number of distinct scores); sets `n_nan` when the
/// row was scanned.
fn rank_groups(inp: &RowInput<'_>, groups: &mut Vec<TieGroup>, n_nan: &mut usize) {
    let s = inp.scores;
    // Distinct relevant scores, best first.
    let mut tscores: Vec<f32> = inp.target_pos.iter().map(|&p| s[p]).collect();
    tscores.sort_by(|a, b| b.total_cmp(a));
    let mut distinct: Vec<(f32, u64)> = Vec::new(); // (score, relevant count)
    for &t in &tscores {
        match distinct.last_mut() {
            Some((v, c)) if *v == t => *c += 1,
            _ => distinct.push((t, 1)),
        }
    }
    if distinct.len() <= 8 {
        for &(t, r) in &distinct {
            let (above, size, nan) = count_pass(s, t);
            *n_nan = nan;
            groups.push(TieGroup { above, size, relevant: r });
        }
    } else {
        *n_nan = s.iter().map(|x| x.is_nan() as usize).sum::<usize>();
        // Many targets: one pass with a binary search over the ascending distinct scores.
        let asc: Vec<f32> = distinct.iter().rev().map(|d| d.0).collect();
        let mut greater_hist = vec![0u64; asc.len() + 1];
        let mut eq = vec![0u64; asc.len()];
        for &x in s {
            if x.is_nan() {
                continue;
            }
            let j = asc.partition_point(|&v| v < x); // x > asc[i] for all i < j
            greater_hist[j] += 1;
            if j < asc.len() && asc[j] == x {
                eq[j] += 1;
            }
        }
        // above(asc[i]) = #x with j(x) > i, but x == asc[i] lands at j = i and is not above.
        let mut suffix = 0u64;
        let mut above_asc = vec![0u64; asc.len()];
        for i in (0..asc.len()).rev() {
            suffix += greater_hist[i + 1];
            above_asc[i] = suffix;
        }
        for (d, &(_, r)) in distinct.iter().enumerate() {
            let i = asc.len() - 1 - d;
            groups.push(TieGroup { above: above_asc[i], size: eq[i], relevant: r });
        }
    }
}

/// One branch-free pass (LLVM vectorises it): candidates strictly above `t`, equal to `t`, and
/// NaN (NaN compares false). u32 lane counters keep the SIMD lanes narrow. Always inlined, so
/// that it is vectorised for the features of a `pulp` dispatch around its call.
#[inline(always)]
fn count_pass(s: &[f32], t: f32) -> (u64, u64, usize) {
    let (mut above, mut eq, mut nan) = (0u64, 0u64, 0usize);
    for c in s.chunks(1 << 20) {
        let (mut a, mut e, mut n) = (0u32, 0u32, 0u32);
        for &x in c {
            a += (x > t) as u32;
            e += (x == t) as u32;
            n += x.is_nan() as u32;
        }
        above += u64::from(a);
        eq += u64::from(e);
        nan += n as usize;
    }
    (above, eq, nan)
}

/// [`count_pass`] fused with the block maxima of [`top_k_block_bound`] (same layout: lane
/// columns of tiles of `8 * block` scores, then one block for the remainder). Per-lane u32
/// counters: a lane sees at most n / 8 scores.
fn count_pass_maxima(s: &[f32], t: f32, block: usize, maxima: &mut Vec<f32>) -> (u64, u64, usize) {
    let tile = 8 * block;
    maxima.clear();
    let (mut a, mut e, mut nn) = ([0u32; 8], [0u32; 8], [0u32; 8]);
    for ti in s.chunks_exact(tile) {
        let mut acc = [f32::NEG_INFINITY; 8];
        for c in ti.chunks_exact(8) {
            for j in 0..8 {
                let x = c[j];
                acc[j] = if x > acc[j] { x } else { acc[j] };
                a[j] += (x > t) as u32;
                e[j] += (x == t) as u32;
                nn[j] += x.is_nan() as u32;
            }
        }
        maxima.extend_from_slice(&acc);
    }
    let rest = &s[s.len() / tile * tile..];
    let (mut above, mut eq, mut nan) = (0u64, 0u64, 0usize);
    for j in 0..8 {
        above += u64::from(a[j]);
        eq += u64::from(e[j]);
        nan += nn[j] as usize;
    }
    if !rest.is_empty() {
        let (ra, re, rn) = count_pass(rest, t);
        above += ra;
        eq += re;
        nan += rn;
        maxima.push(rest.iter().fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m }));
    }
    (above, eq, nan)
}

/// Block length of [`top_k_block_bound`] for a row of `n` scores and depth `k`, or `None` when
/// the row has fewer than `k` blocks (then [`top_k`] uses a heap or a threshold buffer).
fn block_len(n: usize, k: usize) -> Option<usize> {
    if k == 0 {
        return None;
    }
    // Small blocks keep the bound tight (about K blocks, ~K + a few scores, are revisited); the
    // selection among the n / block maxima is on u32 keys, cheaper than another pass over the row
    // up to a few thousand blocks, hence the growth with n / K.
    let block = ((n / (64 * k)) & !7).clamp(16, 1024);
    // Blocks: 8 per whole tile of 8 * block scores, plus the remainder.
    let n_blocks = 8 * (n / (8 * block)) + usize::from(!n.is_multiple_of(8 * block));
    (n_blocks >= k).then_some(block)
}

/// Depth up to which [`top_k`] uses a bounded heap when the block-max bound does not apply.
const HEAP_MAX_DEPTH: usize = 256;

/// Concrete top-`depth` list (one seeded draw of the tie order), best first. Partial selection,
/// never a sort of the row:
/// - usual case (row long enough): a lower bound of the K-th best score from block maxima (the
///   K-th largest of the maxima of >= K blocks: those K blocks hold >= K scores at or above it),
///   then only the blocks whose maximum reaches the bound (about K of them) are scanned;
/// - short rows: a bounded min-heap (small K) or a threshold buffer with `select_nth_unstable_by`.
fn top_k(inp: &RowInput<'_>, scratch: &mut Scratch, out: &mut Vec<(u32, f32)>) {
    let k = inp.depth;
    if k == 0 {
        return;
    }
    if let Some(block) = block_len(inp.scores.len(), k) {
        top_k_block_bound(inp, scratch, block, out);
    } else if k <= HEAP_MAX_DEPTH {
        top_k_heap(inp, out);
    } else {
        top_k_select(inp, &mut scratch.buf, out);
    }
}

fn top_k_block_bound(
    inp: &RowInput<'_>,
    scratch: &mut Scratch,
    block: usize,
    out: &mut Vec<(u32, f32)>,
) {
    let (k, user, seed, s) = (inp.depth, inp.user, inp.tie_seed, inp.scores);
    let item_at = |p: u32| -> u32 { inp.items.map_or(p, |it| it[p as usize]) };
    let Scratch { keys, maxima, blocks, hits, cand, guess: scratch_guess, maxima_ready, .. } =
        scratch;
    // Blocks are lane columns of tiles: a tile is `block` consecutive runs of 8 scores, and
    // block (tile, lane) holds the scores at tile + 8 r + lane, r < block. So all 8 maxima of a
    // tile come from element-wise maxima of its runs (vectorised, no horizontal reduction); the
    // remainder after the last whole tile (< 8 block scores) is one more block. NaN never wins.
    let tile = 8 * block;
    let n_tiles = s.len() / tile;
    let rest = &s[n_tiles * tile..];
    if !std::mem::take(maxima_ready) {
        // Runtime dispatch as for the count pass; every lane sees its scores in the same order
        // whatever the vector width, so the maxima are identical.
        pulp::Arch::new().dispatch(|| block_maxima(s, tile, maxima));
    }
    // K-th largest block maximum: a lower bound of the K-th best score. Selection on u64 keys
    // (score order << 32 | block), among the maxima at or above a guess when at least K of them
    // are: every maximum below the guess ranks strictly below every maximum at or above it, so
    // the K-th largest is the same as over all maxima, from a shorter selection. The guess is the
    // lower of the previous two rows' bounds (rows of one scorer have similar score
    // distributions); when fewer than K maxima reach it, all maxima are selected from. Only the
    // cost depends on the guess, never the bound (tested).
    let guess = scratch_guess.0.min(scratch_guess.1);
    if cand.len() < maxima.len() {
        cand.resize(maxima.len(), 0);
    }
    let cb: &mut [u64] = cand.as_mut_slice();
    let mut nc = 0usize;
    for (b, &m) in maxima.iter().enumerate() {
        cb[nc] = (u64::from(desc_key(m)) << 32) | b as u64;
        nc += usize::from(m >= guess);
    }
    let guess_missed = nc < k;
    if nc < k {
        for (b, &m) in maxima.iter().enumerate() {
            cb[b] = (u64::from(desc_key(m)) << 32) | b as u64;
        }
        nc = maxima.len();
    }
    let cb = &mut cb[..nc];
    cb.select_nth_unstable(k - 1);
    let bound = from_desc_key((cb[k - 1] >> 32) as u32);
    *scratch_guess = (scratch_guess.1, bound);
    // Blocks that may hold a score >= bound (all among the candidates: bound >= guess), compacted
    // branch-free.
    blocks.clear();
    blocks.resize(nc, 0);
    let mut nb = 0usize;
    for &c in cb.iter() {
        let b = c as u32;
        blocks[nb] = b;
        nb += usize::from(maxima[b as usize] >= bound);
    }
    // Branch-free collection inside those blocks: every position is written at `len`, which
    // only advances on a hit (NaN = masked fails `>=`); sort keys are built for the hits only
    // (about K + a few of the ~K * block scores visited). `hits` holds >= n entries (sized once
    // per thread).
    if hits.len() < s.len() {
        hits.resize(s.len(), 0);
    }
    // A local slice keeps the buffer's pointer and length in registers (through `&mut Vec` the
    // compiler reloads them after every store).
    let hb: &mut [u32] = hits.as_mut_slice();
    let mut len = 0usize;
    for &b in &blocks[..nb] {
        let b = b as usize;
        if b < 8 * n_tiles {
            let start = (b / 8) * tile + b % 8;
            // The lane column: `block` scores at start + 8 r (slice ends inside its tile).
            for (r, &x) in s[start..start + tile - 7].iter().step_by(8).enumerate() {
                hb[len] = (start + 8 * r) as u32;
                len += usize::from(x >= bound);
            }
        } else {
            let off = n_tiles * tile;
            for (p, &x) in rest.iter().enumerate() {
                hb[len] = (off + p) as u32;
                len += usize::from(x >= bound);
            }
        }
    }
    // A key sorts ascending in `total_cmp`-descending score order, then by position.
    keys.clear();
    keys.extend(
        hb[..len].iter().map(|&p| (u64::from(desc_key(s[p as usize])) << 32) | u64::from(p)),
    );
    let mut sel: &mut [u64] = &mut keys[..];
    // Long buffers (heavy ties at the bound): select the K-th first, keeping every entry tied
    // with it (the tie-break below may move any of them into the list).
    if sel.len() > 4 * k {
        sel.select_nth_unstable(k - 1);
        let kth = sel[k - 1] >> 32;
        let mut m = k;
        for i in k..sel.len() {
            if sel[i] >> 32 == kth {
                sel.swap(m, i);
                m += 1;
            }
        }
        sel = &mut sel[..m];
    }
    sel.sort_unstable();
    // Runs of equal scores reaching into the first K: order by tie key (larger key wins).
    let mut i = 0;
    while i < k.min(sel.len()) {
        let hi = sel[i] >> 32;
        let j = i + sel[i..].iter().take_while(|&&x| x >> 32 == hi).count();
        if j - i > 1 {
            sel[i..j].sort_unstable_by_key(|&x| {
                std::cmp::Reverse(tie_key(seed, user, item_at(x as u32)))
            });
        }
        i = j;
    }
    out.extend(sel.iter().take(k).map(|&x| (item_at(x as u32), s[(x as u32) as usize])));
    #[cfg(test)]
    {
        scratch.guess_stats[usize::from(guess_missed)] += 1;
    }
    #[cfg(not(test))]
    let _ = guess_missed;
}

/// Maxima of the lane-column blocks of [`top_k_block_bound`] (NaN never wins).
#[inline(always)]
fn block_maxima(s: &[f32], tile: usize, maxima: &mut Vec<f32>) {
    maxima.clear();
    for t in s.chunks_exact(tile) {
        let mut acc = [f32::NEG_INFINITY; 8];
        for c in t.chunks_exact(8) {
            for j in 0..8 {
                acc[j] = if c[j] > acc[j] { c[j] } else { acc[j] };
            }
        }
        maxima.extend_from_slice(&acc);
    }
    let rest = &s[s.len() / tile * tile..];
    if !rest.is_empty() {
        maxima.push(rest.iter().fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m }));
    }
}

/// Sort key of a non-NaN score: ascending keys = descending scores in `f32::total_cmp` order.
#[inline]
fn desc_key(x: f32) -> u32 {
    let b = x.to_bits();
    // total_cmp's monotone map: flip all bits of negatives, set the sign bit of positives.
    let asc = if b >> 31 == 1 { !b } else { b | 0x8000_0000 };
    !asc
}

/// Inverse of [`desc_key`].
#[inline]
fn from_desc_key(key: u32) -> f32 {
    let asc = !key;
    f32::from_bits(if asc >> 31 == 1 { asc & 0x7fff_ffff } else { !asc })
}

const CHUNK: usize = 16;

/// Heap entry ordered by (score, tie key): larger = better.
#[derive(Clone, Copy, PartialEq)]
struct Entry {
    score: f32,
    key: u64,
    pos: u32,
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.score.total_cmp(&o.score).then(self.key.cmp(&o.key))
    }
}

fn top_k_heap(inp: &RowInput<'_>, out: &mut Vec<(u32, f32)>) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let (k, user, seed) = (inp.depth, inp.user, inp.tie_seed);
    let item_at = |p: u32| -> u32 { inp.items.map_or(p, |it| it[p as usize]) };
    let entry = |x: f32, p: u32| Entry { score: x, key: tie_key(seed, user, item_at(p)), pos: p };
    let mut heap: BinaryHeap<Reverse<Entry>> = BinaryHeap::with_capacity(k + 1);
    let s = inp.scores;
    // Fill with the first k rankable scores (NaN = masked is skipped).
    let mut p = 0usize;
    while p < s.len() && heap.len() < k {
        if !s[p].is_nan() {
            heap.push(Reverse(entry(s[p], p as u32)));
        }
        p += 1;
    }
    if heap.len() == k {
        // Score of the worst kept entry: only scores >= thr can enter.
        let mut thr = heap.peek().expect("heap is full").0.score;
        let mut consider = |p: usize, x: f32, thr: &mut f32| {
            // NaN fails `>=`.
            if x >= *thr {
                let e = entry(x, p as u32);
                let mut worst = heap.peek_mut().expect("heap is full");
                if e > worst.0 {
                    *worst = Reverse(e);
                    drop(worst);
                    *thr = heap.peek().expect("heap is full").0.score;
                }
            }
        };
        // Unaligned head up to a chunk boundary, then vectorised chunk pre-checks.
        let head_end = p.div_ceil(CHUNK) * CHUNK;
        while p < head_end.min(s.len()) {
            consider(p, s[p], &mut thr);
            p += 1;
        }
        for (ci, chunk) in s[p..].chunks(CHUNK).enumerate() {
            if chunk.iter().map(|&x| (x >= thr) as u32).sum::<u32>() == 0 {
                continue;
            }
            for (j, &x) in chunk.iter().enumerate() {
                consider(p + ci * CHUNK + j, x, &mut thr);
            }
        }
    }
    let mut v: Vec<Entry> = heap.into_iter().map(|r| r.0).collect();
    v.sort_unstable_by(|a, b| b.cmp(a));
    out.extend(v.into_iter().map(|e| (item_at(e.pos), e.score)));
}

fn top_k_select(inp: &RowInput<'_>, buf: &mut Vec<(f32, u32)>, out: &mut Vec<(u32, f32)>) {
    let k = inp.depth;
    let (user, seed) = (inp.user, inp.tie_seed);
    let item_at = |p: u32| -> u32 { inp.items.map_or(p, |it| it[p as usize]) };
    // a before b: higher score, then higher tie key.
    let better = |a: &(f32, u32), b: &(f32, u32)| -> std::cmp::Ordering {
        b.0.total_cmp(&a.0)
            .then_with(|| tie_key(seed, user, item_at(b.1)).cmp(&tie_key(seed, user, item_at(a.1))))
    };
    let cap = 4 * k;
    buf.clear();
    let mut thr = f32::NEG_INFINITY;
    for (ci, chunk) in inp.scores.chunks(CHUNK).enumerate() {
        if chunk.iter().map(|&x| (x >= thr) as u32).sum::<u32>() == 0 {
            continue;
        }
        for (j, &x) in chunk.iter().enumerate() {
            // NaN (masked) fails `>=`; ties with the threshold stay in (they may win the tie-break).
            if x >= thr {
                buf.push((x, (ci * CHUNK + j) as u32));
                if buf.len() == cap {
                    buf.select_nth_unstable_by(k - 1, better);
                    buf.truncate(k);
                    thr = buf.iter().map(|e| e.0).fold(f32::INFINITY, f32::min);
                }
            }
        }
    }
    if buf.len() > k {
        buf.select_nth_unstable_by(k - 1, better);
        buf.truncate(k);
    }
    buf.sort_unstable_by(better);
    out.extend(buf.iter().map(|&(x, p)| (item_at(p), x)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(scores: &[f32], targets: &[usize], depth: usize) -> UserRanking {
        let inp = RowInput {
            user: 3,
            scores,
            items: None,
            target_pos: targets,
            n_relevant: targets.len() as u64,
            n_masked: 0,
            depth,
            tie_seed: 9,
        };
        rank_row(&inp, &mut Scratch::default()).unwrap()
    }

    #[test]
    fn groups_count_above_and_ties() {
        // scores: item 0..5 = [0.5, 0.9, 0.5, 0.1, 0.5]; target 2 (0.5): above = 1 (0.9), size 3.
        let r = rank(&[0.5, 0.9, 0.5, 0.1, 0.5], &[2], 5);
        assert_eq!(r.groups, vec![TieGroup { above: 1, size: 3, relevant: 1 }]);
        assert_eq!(r.top[0].0, 1);
        assert_eq!(r.top.len(), 5);
        assert_eq!(r.top[4].0, 3);
    }

    #[test]
    fn many_targets_path_matches_few_targets_path() {
        // 12 distinct target scores force the binary-search path; compare to per-target counts.
        let scores: Vec<f32> = (0..200).map(|i| ((i * 37) % 50) as f32).collect();
        let targets: Vec<usize> = (0..24).map(|i| i * 7).collect();
        let r = rank(&scores, &targets, 0);
        for g in &r.groups {
            let t = scores
                .iter()
                .copied()
                .find(|&x| scores.iter().filter(|&&y| y > x).count() as u64 == g.above);
            let t = t.unwrap();
            assert_eq!(g.size, scores.iter().filter(|&&y| y == t).count() as u64);
            let rel = targets.iter().filter(|&&p| scores[p] == t).count() as u64;
            assert_eq!(g.relevant, rel);
        }
        assert_eq!(r.groups.iter().map(|g| g.relevant).sum::<u64>(), 24);
    }

    #[test]
    fn top_k_matches_full_sort() {
        let scores: Vec<f32> =
            (0..5000u32).map(|i| ((i.wrapping_mul(2654435761)) % 1000) as f32).collect();
        let r = rank(&scores, &[0], 30);
        let mut all: Vec<(u32, f32)> =
            scores.iter().enumerate().map(|(i, &x)| (i as u32, x)).collect();
        all.sort_by(|a, b| {
            b.1.total_cmp(&a.1).then_with(|| tie_key(9, 3, b.0).cmp(&tie_key(9, 3, a.0)))
        });
        assert_eq!(r.top, all[..30].to_vec());
    }

    #[test]
    fn heap_and_select_paths_agree_with_full_sort_under_ties() {
        // Few distinct values: long tie groups straddle every cutoff.
        let scores: Vec<f32> =
            (0..3000u32).map(|i| ((i.wrapping_mul(2654435761)) % 7) as f32).collect();
        let mut all: Vec<(u32, f32)> =
            scores.iter().enumerate().map(|(i, &x)| (i as u32, x)).collect();
        all.sort_by(|a, b| {
            b.1.total_cmp(&a.1).then_with(|| tie_key(9, 3, b.0).cmp(&tie_key(9, 3, a.0)))
        });
        // n = 3000: block-bound path for small depths, heap / select paths for deep lists.
        for depth in [1, 7, 20, 187, 256, 257, 1000] {
            let r = rank(&scores, &[0], depth);
            assert_eq!(r.top, all[..depth].to_vec(), "depth {depth}");
        }
        // Short rows (fewer than 8 * depth scores) take the heap path.
        let short = &scores[..100];
        let mut all: Vec<(u32, f32)> =
            short.iter().enumerate().map(|(i, &x)| (i as u32, x)).collect();
        all.sort_by(|a, b| {
            b.1.total_cmp(&a.1).then_with(|| tie_key(9, 3, b.0).cmp(&tie_key(9, 3, a.0)))
        });
        for depth in [13, 20, 100] {
            assert_eq!(rank(short, &[0], depth).top, all[..depth].to_vec(), "short, depth {depth}");
        }
    }

    #[test]
    fn block_bound_path_skips_masked_entries() {
        let mut scores: Vec<f32> = (0..400u32).map(|i| ((i * 7919) % 401) as f32).collect();
        let mut n_masked = 0;
        for i in (0..400).step_by(3) {
            scores[i] = masked();
            n_masked += 1;
        }
        let inp = RowInput {
            user: 3,
            scores: &scores,
            items: None,
            target_pos: &[1],
            n_relevant: 1,
            n_masked,
            depth: 10,
            tie_seed: 9,
        };
        let r = rank_row(&inp, &mut Scratch::default()).unwrap();
        let mut all: Vec<(u32, f32)> = scores
            .iter()
            .enumerate()
            .filter(|(_, x)| !x.is_nan())
            .map(|(i, &x)| (i as u32, x))
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1));
        assert_eq!(r.top, all[..10].to_vec());
        assert_eq!(r.n_candidates, 400 - n_masked as u64);
    }

    #[test]
    fn every_top_k_path_matches_full_sort_on_random_rows() {
        // Row lengths around the tile size (8 * 16) and its multiples, with remainders; few
        // distinct values (tie groups straddle the cutoff) and masked entries.
        let mut state = 0x9E37_79B9u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        for &n in &[20usize, 127, 128, 129, 300, 1682, 2049] {
            for &distinct in &[3u32, 50, 100_000] {
                let mut scores: Vec<f32> = (0..n).map(|_| (next() % distinct) as f32).collect();
                let mut n_masked = 0;
                for x in scores.iter_mut() {
                    if next() % 5 == 0 {
                        *x = masked();
                        n_masked += 1;
                    }
                }
                let mut all: Vec<(u32, f32)> = scores
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| !x.is_nan())
                    .map(|(i, &x)| (i as u32, x))
                    .collect();
                all.sort_by(|a, b| {
                    b.1.total_cmp(&a.1).then_with(|| tie_key(9, 3, b.0).cmp(&tie_key(9, 3, a.0)))
                });
                for depth in [1, 5, 20, 64, 100] {
                    let inp = RowInput {
                        user: 3,
                        scores: &scores,
                        items: None,
                        target_pos: &[],
                        n_relevant: 1,
                        n_masked,
                        depth,
                        tie_seed: 9,
                    };
                    let r = rank_row(&inp, &mut Scratch::default()).unwrap();
                    let want = &all[..depth.min(all.len())];
                    assert_eq!(r.top, want, "n {n}, distinct {distinct}, depth {depth}");
                }
            }
        }
    }

    #[test]
    fn fused_single_target_path_matches_reference_on_random_rows() {
        // One target per row: the counting pass also takes the top-K block maxima. Compare with
        // direct counts and a full sort, reusing ONE scratch and ONE ranking across all rows (as
        // the evaluator does) so that stale state would show.
        let mut state = 0x1234_5678u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        let (mut scratch, mut out) = (Scratch::default(), UserRanking::empty());
        let mut checked_fused = 0;
        for &n in &[127usize, 128, 129, 300, 1682, 2049] {
            for &distinct in &[3u32, 50, 100_000] {
                for depth in [0usize, 1, 5, 20, 64, 100] {
                    let mut scores: Vec<f32> =
                        (0..n).map(|_| (next() % distinct) as f32 - 7.0).collect();
                    let target = next() as usize % n;
                    let mut n_masked = 0;
                    for (i, x) in scores.iter_mut().enumerate() {
                        if i != target && next() % 5 == 0 {
                            *x = masked();
                            n_masked += 1;
                        }
                    }
                    let inp = RowInput {
                        user: 3,
                        scores: &scores,
                        items: None,
                        target_pos: &[target],
                        n_relevant: 1,
                        n_masked,
                        depth,
                        tie_seed: 9,
                    };
                    rank_row_into(&inp, &mut scratch, &mut out).unwrap();
                    let t = scores[target];
                    let above = scores.iter().filter(|&&x| x > t).count() as u64;
                    let size = scores.iter().filter(|&&x| x == t).count() as u64;
                    assert_eq!(out.groups, vec![TieGroup { above, size, relevant: 1 }]);
                    assert_eq!(out.n_candidates, (n - n_masked) as u64);
                    let mut all: Vec<(u32, f32)> = scores
                        .iter()
                        .enumerate()
                        .filter(|(_, x)| !x.is_nan())
                        .map(|(i, &x)| (i as u32, x))
                        .collect();
                    all.sort_by(|a, b| {
                        b.1.total_cmp(&a.1)
                            .then_with(|| tie_key(9, 3, b.0).cmp(&tie_key(9, 3, a.0)))
                    });
                    assert_eq!(
                        out.top,
                        all[..depth.min(all.len())].to_vec(),
                        "n {n} depth {depth}"
                    );
                    checked_fused += usize::from(block_len(n, depth).is_some());
                }
            }
        }
        assert!(checked_fused >= 30, "{checked_fused}"); // the fused path was exercised
    }

    #[test]
    fn bound_guess_never_changes_the_ranking() {
        // Leave-one-out rows (count, then mask) through the block-bound top-K with ONE scratch:
        // consecutive rows alternate between score ranges (the previous rows' bound is then far
        // too high or far too low as a guess), with ties, +0.0 / -0.0, -inf and masked entries.
        // Tie groups = direct counts, top list = full sort, and both selection paths are taken.
        let mut state = 0x00C0_FFEE_u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        let (mut scratch, mut out) = (Scratch::default(), UserRanking::empty());
        for row_i in 0..120u32 {
            let n = [1682usize, 2049, 4000][row_i as usize % 3];
            let distinct = [5u32, 200, 1_000_000][(row_i / 3) as usize % 3];
            let shift = if row_i % 2 == 0 { 1000.0 } else { -1000.0 };
            let mut row: Vec<f32> = (0..n)
                .map(|_| match next() % 50 {
                    0 => 0.0,
                    1 => -0.0,
                    2 => f32::NEG_INFINITY,
                    _ => (next() % distinct) as f32 * 0.5 + shift,
                })
                .collect();
            let target = next() % n as u32;
            let mut seen: Vec<u32> = (0..next() % 300).map(|_| next() % n as u32).collect();
            seen.push(target); // a seen target is never masked
            let mut want_row = row.clone();
            for &si in &seen {
                if si != target {
                    want_row[si as usize] = masked();
                }
            }
            let depth = [1usize, 20, 50][row_i as usize % 3];
            let (n_masked, collisions) = rank_row_mask_single(
                row_i,
                &mut row,
                target,
                &seen,
                depth,
                3,
                &mut scratch,
                &mut out,
            )
            .unwrap();
            assert_eq!(collisions, seen.iter().filter(|&&s| s == target).count() as u64);
            assert_eq!(n_masked, want_row.iter().filter(|x| x.is_nan()).count());
            let t = want_row[target as usize];
            let above = want_row.iter().filter(|&&x| x > t).count() as u64;
            let size = want_row.iter().filter(|&&x| x == t).count() as u64;
            assert_eq!(out.groups, vec![TieGroup { above, size, relevant: 1 }]);
            let mut all: Vec<(u32, f32)> = want_row
                .iter()
                .enumerate()
                .filter(|(_, x)| !x.is_nan())
                .map(|(i, &x)| (i as u32, x))
                .collect();
            all.sort_by(|a, b| {
                b.1.total_cmp(&a.1)
                    .then_with(|| tie_key(3, row_i, b.0).cmp(&tie_key(3, row_i, a.0)))
            });
            assert_eq!(out.top, all[..depth].to_vec(), "row {row_i}");
        }
        let [used, missed] = scratch.guess_stats;
        assert!(used >= 20 && missed >= 20, "guess used {used}, missed {missed}");
    }

    #[test]
    fn discount_table_equals_formula() {
        for p in [1u64, 2, 3, 10, 1023, 1024, 1025, 5000] {
            assert_eq!(discount(p).to_bits(), (1.0 / ((p + 1) as f64).log2()).to_bits());
        }
    }

    #[test]
    fn untied_single_target_formulas() {
        // target at 1-based rank 3 of 10, no ties.
        let scores: Vec<f32> = (0..10).map(|i| 10.0 - i as f32).collect();
        let r = rank(&scores, &[2], 10);
        assert_eq!(r.expected_hits(2), 0.0);
        assert_eq!(r.expected_hits(3), 1.0);
        assert_eq!(r.prob_any_hit(3), 1.0);
        assert!((r.expected_dcg(5) - 1.0 / 4f64.log2()).abs() < 1e-15);
        assert!((r.expected_reciprocal_rank(None) - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(r.expected_reciprocal_rank(Some(2)), 0.0);
    }

    #[test]
    fn nan_is_reported_with_item() {
        let inp = RowInput {
            user: 4,
            scores: &[0.1, f32::NAN, masked()],
            items: None,
            target_pos: &[0],
            n_relevant: 1,
            n_masked: 1,
            depth: 2,
            tie_seed: 0,
        };
        let e = rank_row(&inp, &mut Scratch::default()).unwrap_err();
        assert!(matches!(e, EvalError::NanScore { user: 4, item: 1 }), "{e}");
    }
}
