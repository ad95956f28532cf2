//! A trie over the token ids of catalogue titles, for constrained decoding: at every step the
//! decoder may only pick a child of the current node, and every title's token sequence ends
//! with an end-of-answer token, so a finished path always spells exactly one catalogue title
//! (the variant of title generation that cannot hallucinate).
//!
//! Several items can share a title (MovieLens has a few duplicate titles); a leaf keeps all of
//! them, lowest id first.

use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
struct Node {
    children: BTreeMap<u32, usize>,
    /// Items whose token sequence ends here (only at the end token).
    items: Vec<u32>,
}

/// Token-id trie of item titles.
#[derive(Clone, Debug)]
pub struct TitleTrie {
    nodes: Vec<Node>,
    n_sequences: usize,
}

impl TitleTrie {
    /// Build from `(item, token ids)` pairs; each sequence should end with the end token.
    /// Empty sequences are skipped.
    pub fn new<'a>(seqs: impl IntoIterator<Item = (u32, &'a [u32])>) -> Self {
        let mut t = TitleTrie { nodes: vec![Node::default()], n_sequences: 0 };
        for (item, seq) in seqs {
            if seq.is_empty() {
                continue;
            }
            let mut cur = 0;
            for &tok in seq {
                cur = match t.nodes[cur].children.get(&tok) {
                    Some(&c) => c,
                    None => {
                        t.nodes.push(Node::default());
                        let c = t.nodes.len() - 1;
                        t.nodes[cur].children.insert(tok, c);
                        c
                    }
                };
            }
            let items = &mut t.nodes[cur].items;
            if let Err(pos) = items.binary_search(&item) {
                items.insert(pos, item);
            }
            t.n_sequences += 1;
        }
        t
    }

    /// The root node.
    pub fn root(&self) -> usize {
        0
    }

    /// Number of sequences inserted.
    pub fn n_sequences(&self) -> usize {
        self.n_sequences
    }

    /// Allowed next tokens at `node`, ascending.
    pub fn allowed(&self, node: usize) -> impl Iterator<Item = u32> + '_ {
        self.nodes[node].children.keys().copied()
    }

    /// The child reached by `tok`, if allowed.
    pub fn step(&self, node: usize, tok: u32) -> Option<usize> {
        self.nodes[node].children.get(&tok).copied()
    }

    /// Items whose full sequence ends at `node` (empty unless the node is a leaf of a title).
    pub fn items_at(&self, node: usize) -> &[u32] {
        &self.nodes[node].items
    }

    /// Whether `seq` is a complete inserted sequence; returns its items.
    pub fn lookup(&self, seq: &[u32]) -> Option<&[u32]> {
        let mut cur = 0;
        for &t in seq {
            cur = self.step(cur, t)?;
        }
        let it = self.items_at(cur);
        (!it.is_empty()).then_some(it)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_spell_inserted_sequences_only() {
        let seqs: Vec<(u32, Vec<u32>)> =
            vec![(0, vec![5, 6, 9]), (1, vec![5, 7, 9]), (2, vec![5, 6, 8, 9]), (3, vec![5, 7, 9])];
        let t = TitleTrie::new(seqs.iter().map(|(i, s)| (*i, s.as_slice())));
        assert_eq!(t.n_sequences(), 4);
        assert_eq!(t.allowed(t.root()).collect::<Vec<_>>(), vec![5]);
        let n5 = t.step(0, 5).unwrap();
        assert_eq!(t.allowed(n5).collect::<Vec<_>>(), vec![6, 7]);
        assert!(t.step(n5, 8).is_none());
        // Duplicate titles keep both items, lowest first; prefixes are not complete.
        assert_eq!(t.lookup(&[5, 7, 9]), Some(&[1u32, 3][..]));
        assert_eq!(t.lookup(&[5, 6]), None);
        assert_eq!(t.lookup(&[5, 6, 8, 9]), Some(&[2u32][..]));
    }
}
