//! The trie of valid semantic-ID tuples and the beam search over it.
//!
//! Beam search runs level by level for a batch of independent queries in lock-step (so that the
//! model is called once per level for all queries' beams). With a trie (constrained decoding,
//! as in TIGER's inference), a prefix is only extended by codes that lead to at least one item,
//! so every finished beam is a catalogue item. Without a trie (unconstrained), every code of the
//! level is allowed and a finished tuple may match no item (an invalid output).
//!
//! Scores are the model's own log-probabilities, not renormalised over the allowed children:
//! a finished beam's score is the exact log-probability of its tuple under the model.
//!
//! The search also records the log-probability of every prefix it EXPANDED (all children of
//! every beam at every level), which gives a deterministic full-catalogue score: see
//! [`BeamOutput::tiered_score`].

use std::collections::BTreeMap;

/// Offset between depth tiers of [`BeamOutput::tiered_score`]; larger than any tuple
/// log-probability we clamp to.
pub const TIER: f32 = 1.0e4;
/// Log-probabilities are clamped to `>= -LOGP_FLOOR` before tiering.
pub const LOGP_FLOOR: f32 = 9.0e3;

/// A trie over fixed-width tuples; node 0 is the root.
#[derive(Clone, Debug, PartialEq)]
pub struct Trie {
    width: usize,
    /// Per node: sorted (code, child node).
    children: Vec<Vec<(u32, u32)>>,
    /// Per node: its depth.
    depth: Vec<u8>,
    /// Per leaf node: its item (u32::MAX for inner nodes).
    item: Vec<u32>,
    /// Per item: the node path from depth 1 to the leaf.
    paths: Vec<Vec<u32>>,
    /// Per node: items in its subtree.
    leaves: Vec<u32>,
}

impl Trie {
    /// Build from row-major `[n_items, width]` tuples, which must be unique.
    pub fn new(codes: &[u32], width: usize) -> Result<Trie, String> {
        let n = codes.len() / width.max(1);
        let mut children: Vec<BTreeMap<u32, u32>> = vec![BTreeMap::new()];
        let mut depth = vec![0u8];
        let mut item = vec![u32::MAX];
        let mut paths = Vec::with_capacity(n);
        for i in 0..n {
            let t = &codes[i * width..(i + 1) * width];
            let mut node = 0usize;
            let mut path = Vec::with_capacity(width);
            for (d, &c) in t.iter().enumerate() {
                let next = match children[node].get(&c) {
                    Some(&x) => x as usize,
                    None => {
                        let x = children.len();
                        children.push(BTreeMap::new());
                        depth.push((d + 1) as u8);
                        item.push(u32::MAX);
                        children[node].insert(c, x as u32);
                        x
                    }
                };
                node = next;
                path.push(node as u32);
            }
            if item[node] != u32::MAX {
                return Err(format!("items {} and {i} share the tuple {t:?}", item[node]));
            }
            item[node] = i as u32;
            paths.push(path);
        }
        let mut leaves = vec![0u32; children.len()];
        for p in &paths {
            leaves[0] += 1;
            for &x in p {
                leaves[x as usize] += 1;
            }
        }
        Ok(Trie {
            leaves,
            width,
            children: children.into_iter().map(|m| m.into_iter().collect()).collect(),
            depth,
            item,
            paths,
        })
    }

    /// Tuple width.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of nodes (root included).
    pub fn n_nodes(&self) -> usize {
        self.children.len()
    }

    /// Child of `node` by `code`.
    pub fn child(&self, node: u32, code: u32) -> Option<u32> {
        let ch = &self.children[node as usize];
        ch.binary_search_by_key(&code, |&(c, _)| c).ok().map(|k| ch[k].1)
    }

    /// Children `(code, node)` of `node`, by code.
    pub fn children(&self, node: u32) -> &[(u32, u32)] {
        &self.children[node as usize]
    }

    /// Item of a full tuple, if any.
    pub fn lookup(&self, tuple: &[u32]) -> Option<u32> {
        if tuple.len() != self.width {
            return None;
        }
        let mut node = 0u32;
        for &c in tuple {
            node = self.child(node, c)?;
        }
        let it = self.item[node as usize];
        (it != u32::MAX).then_some(it)
    }

    /// Node path (depth 1..=width) of `item`.
    pub fn path(&self, item: u32) -> &[u32] {
        &self.paths[item as usize]
    }
}

/// A live beam: prefix, log-probability, trie node (`None` once it left the trie).
type LiveBeam = (Vec<u32>, f32, Option<u32>);
/// A step request: (query index, prefix).
pub type Request = (usize, Vec<u32>);

/// One finished beam.
#[derive(Clone, Debug, PartialEq)]
pub struct Beam {
    /// The generated tuple.
    pub tuple: Vec<u32>,
    /// Its log-probability under the model.
    pub logp: f32,
    /// The catalogue item it names (`None` = invalid, possible only without a trie).
    pub item: Option<u32>,
}

/// Result of a beam search for one query.
#[derive(Clone, Debug, PartialEq)]
pub struct BeamOutput {
    /// Finished beams, best first (ties by tuple order).
    pub beams: Vec<Beam>,
    /// Log-probability of every trie node whose prefix was expanded (NaN = not reached).
    pub node_logp: Vec<f32>,
}

impl BeamOutput {
    /// Full-catalogue score of `item`: with `d` = depth of the deepest prefix of the item's
    /// tuple whose log-probability the search computed and `lp` that log-probability,
    /// `score = lp - (width - d) * TIER`. Items whose whole tuple was reached get their exact
    /// tuple log-probability; the others rank below all of them, ordered by how deep the beam
    /// followed them and then by the log-probability of that prefix (ties stay ties). The
    /// first level is always expanded in full, so every item has `d >= 1`.
    pub fn tiered_score(&self, trie: &Trie, item: u32) -> f32 {
        let path = trie.path(item);
        for d in (0..path.len()).rev() {
            let lp = self.node_logp[path[d] as usize];
            if !lp.is_nan() {
                let gap = (path.len() - 1 - d) as f32;
                return lp.max(-LOGP_FLOOR) - gap * TIER;
            }
        }
        -(path.len() as f32) * TIER - LOGP_FLOOR
    }
}

/// Beam search for `n_queries` queries in lock-step.
///
/// `banned[q]` (constrained search only): items query `q` must not generate (e.g. its
/// history, which the ranking protocol masks anyway); a child is allowed only while its subtree
/// holds an item that is not banned, so the beam spends its width on new items. Empty = none.
///
/// `level_sizes[l]` is the vocabulary of tuple position `l`. `step(requests)` receives
/// `(query, prefix)` pairs (prefix length = current level) and must return, per request, the
/// log-probabilities of the next code over `level_sizes[level]` values. `constrained` uses the
/// trie to prune children; the trie is always used to name items and record node log-probs.
pub fn beam_search(
    n_queries: usize,
    trie: &Trie,
    level_sizes: &[usize],
    beams: usize,
    constrained: bool,
    banned: &[Vec<u32>],
    mut step: impl FnMut(&[Request]) -> Vec<Vec<f32>>,
) -> Vec<BeamOutput> {
    let width = level_sizes.len();
    // Per query: banned items below each node.
    let blocked: Vec<BTreeMap<u32, u32>> = (0..n_queries)
        .map(|q| {
            let mut m = BTreeMap::new();
            if let Some(items) = banned.get(q) {
                let mut items = items.clone();
                items.sort_unstable();
                items.dedup();
                for i in items {
                    for &x in trie.path(i) {
                        *m.entry(x).or_insert(0) += 1;
                    }
                }
            }
            m
        })
        .collect();
    assert_eq!(width, trie.width(), "level sizes must match the trie width");
    let beams = beams.max(1);
    // Per query: live beams (prefix, logp, trie node or None once off-trie).
    let mut live: Vec<Vec<LiveBeam>> = vec![vec![(Vec::new(), 0.0, Some(0))]; n_queries];
    let mut node_logp = vec![vec![f32::NAN; trie.n_nodes()]; n_queries];
    node_logp.iter_mut().for_each(|v| v[0] = 0.0);
    for level in 0..width {
        let requests: Vec<Request> = live
            .iter()
            .enumerate()
            .flat_map(|(q, bs)| bs.iter().map(move |(p, _, _)| (q, p.clone())))
            .collect();
        if requests.is_empty() {
            break;
        }
        let lps = step(&requests);
        assert_eq!(lps.len(), requests.len(), "step must answer every request");
        let mut k = 0usize;
        for (q, bs) in live.iter_mut().enumerate() {
            let mut cand: Vec<LiveBeam> = Vec::new();
            for (prefix, lp, node) in bs.iter() {
                let dist = &lps[k];
                k += 1;
                assert_eq!(dist.len(), level_sizes[level], "log-probs of level {level}");
                let mut push = |code: u32, child: Option<u32>| {
                    let v = lp + dist[code as usize];
                    if let Some(c) = child {
                        node_logp[q][c as usize] = v;
                    }
                    let mut p = prefix.clone();
                    p.push(code);
                    cand.push((p, v, child));
                };
                match (constrained, node) {
                    (true, Some(n)) => {
                        for &(code, child) in trie.children(*n) {
                            let b = blocked[q].get(&child).copied().unwrap_or(0);
                            if (code as usize) < dist.len() && trie.leaves[child as usize] > b {
                                push(code, Some(child));
                            }
                        }
                    }
                    (true, None) => unreachable!("constrained beams never leave the trie"),
                    (false, _) => {
                        for code in 0..dist.len() as u32 {
                            push(code, node.and_then(|n| trie.child(n, code)));
                        }
                    }
                }
            }
            // Best first; NaN-free by construction of log-softmax; ties by tuple order.
            cand.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            cand.truncate(beams);
            *bs = cand;
        }
    }
    live.into_iter()
        .zip(node_logp)
        .map(|(bs, node_logp)| BeamOutput {
            beams: bs
                .into_iter()
                .map(|(tuple, logp, _)| {
                    let item = trie.lookup(&tuple);
                    Beam { tuple, logp, item }
                })
                .collect(),
            node_logp,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn random_codes(n: usize, sizes: &[usize], seed: u64) -> Vec<u32> {
        // Distinct tuples from a simple LCG over the product space.
        let mut set = BTreeSet::new();
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let space: usize = sizes.iter().product();
        while set.len() < n.min(space) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let mut v = (x >> 11) as usize;
            let t: Vec<u32> = sizes
                .iter()
                .map(|&s| {
                    let c = (v % s) as u32;
                    v /= s;
                    c
                })
                .collect();
            set.insert(t);
        }
        set.into_iter().flatten().collect()
    }

    /// A deterministic pseudo-random log-softmax per (query, prefix).
    fn oracle(sizes: &[usize], salt: u64) -> impl FnMut(&[Request]) -> Vec<Vec<f32>> {
        let sizes = sizes.to_vec();
        move |reqs: &[(usize, Vec<u32>)]| {
            reqs.iter()
                .map(|(q, p)| {
                    let mut h = salt ^ (*q as u64).wrapping_mul(0x9E3779B97F4A7C15);
                    for &c in p {
                        h = (h ^ c as u64).wrapping_mul(0x100000001B3);
                    }
                    let logits: Vec<f32> = (0..sizes[p.len()])
                        .map(|j| {
                            let y = (h ^ j as u64).wrapping_mul(0xD6E8FEB86659FD93);
                            ((y >> 40) as f32 / (1u64 << 24) as f32) * 8.0
                        })
                        .collect();
                    let m = logits.iter().cloned().fold(f32::MIN, f32::max);
                    let z = logits.iter().map(|l| (l - m).exp()).sum::<f32>().ln() + m;
                    logits.iter().map(|l| l - z).collect()
                })
                .collect()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Constrained beams are always catalogue items, distinct, sorted by log-prob, and
        /// their log-prob is the sum of the per-level log-probs of their tuple.
        #[test]
        fn constrained_beams_are_always_valid(
            n in 1usize..60, s0 in 1usize..6, s1 in 1usize..6, s2 in 1usize..4,
            beams in 1usize..25, seed in 0u64..1000, salt in 0u64..1000,
        ) {
            let sizes = [s0, s1, s2];
            let codes = random_codes(n, &sizes, seed);
            let trie = Trie::new(&codes, 3).unwrap();
            let n_items = codes.len() / 3;
            let out = beam_search(2, &trie, &sizes, beams, true, &[], oracle(&sizes, salt));
            let mut check = oracle(&sizes, salt);
            for o in &out {
                prop_assert_eq!(o.beams.len(), beams.min(n_items));
                let mut seen = BTreeSet::new();
                for w in o.beams.windows(2) {
                    prop_assert!(w[0].logp >= w[1].logp);
                }
                for b in &o.beams {
                    let item = b.item.expect("constrained beam must be an item");
                    prop_assert_eq!(trie.lookup(&b.tuple), Some(item));
                    prop_assert!(seen.insert(item));
                    prop_assert!(o.tiered_score(&trie, item) == b.logp.max(-LOGP_FLOOR));
                }
            }
            // Exact log-prob of the first query's best beam, recomputed level by level.
            let b = &out[0].beams[0];
            let mut lp = 0f32;
            for l in 0..3 {
                lp += check(&[(0, b.tuple[..l].to_vec())])[0][b.tuple[l] as usize];
            }
            prop_assert!((lp - b.logp).abs() < 1e-4);
        }

        /// Banned items are never generated by a constrained search, and it still fills its
        /// beams with the other items.
        #[test]
        fn banned_items_are_never_generated(
            n in 2usize..60, beams in 1usize..25, seed in 0u64..1000, salt in 0u64..1000,
            ban_mask in 0u64..u64::MAX,
        ) {
            let sizes = [5usize, 4, 3];
            let codes = random_codes(n, &sizes, seed);
            let trie = Trie::new(&codes, 3).unwrap();
            let n_items = codes.len() / 3;
            let ban: Vec<u32> = (0..n_items as u32).filter(|i| ban_mask >> (i % 64) & 1 == 1).collect();
            let out = beam_search(1, &trie, &sizes, beams, true, std::slice::from_ref(&ban), oracle(&sizes, salt));
            let got: Vec<u32> = out[0].beams.iter().map(|b| b.item.unwrap()).collect();
            prop_assert!(got.iter().all(|i| !ban.contains(i)));
            prop_assert_eq!(got.len(), beams.min(n_items - ban.len()));
        }

        /// Unconstrained search with the full product space reachable: finished tuples that
        /// are not items are reported as invalid (None), never mapped to an item.
        #[test]
        fn unconstrained_beams_flag_invalid_tuples(
            n in 1usize..20, beams in 1usize..30, seed in 0u64..1000, salt in 0u64..1000,
        ) {
            let sizes = [4usize, 4, 2];
            let codes = random_codes(n, &sizes, seed);
            let trie = Trie::new(&codes, 3).unwrap();
            let out = beam_search(1, &trie, &sizes, beams, false, &[], oracle(&sizes, salt));
            for b in &out[0].beams {
                let valid = codes.chunks(3).any(|t| t == b.tuple.as_slice());
                prop_assert_eq!(b.item.is_some(), valid);
            }
        }
    }

    #[test]
    fn trie_rejects_duplicate_tuples_and_tiers_order_items() {
        assert!(Trie::new(&[0, 1, 0, 1], 2).is_err());
        let codes = [0, 0, 0, 1, 1, 0, 2, 0];
        let trie = Trie::new(&codes, 2).unwrap();
        assert_eq!(trie.lookup(&[1, 0]), Some(2));
        assert_eq!(trie.lookup(&[1, 1]), None);
        // One beam: only the best first-level prefix is expanded to full tuples.
        let sizes = [3usize, 2];
        let out = beam_search(1, &trie, &sizes, 1, true, &[], |reqs| {
            reqs.iter()
                .map(|(_, p)| if p.is_empty() { vec![-0.1, -3.0, -2.5] } else { vec![-0.2, -1.8] })
                .collect()
        });
        let s: Vec<f32> = (0..4).map(|i| out[0].tiered_score(&trie, i)).collect();
        assert!((s[0] - (-0.3)).abs() < 1e-6 && (s[1] - (-1.9)).abs() < 1e-6);
        // Items 2 and 3 were reached only at depth 1: one tier below, ordered by prefix lp.
        assert!((s[2] - (-3.0 - TIER)).abs() < 1e-2 && (s[3] - (-2.5 - TIER)).abs() < 1e-2);
        assert!(s[3] > s[2] && s[1] > s[3]);
    }
}
