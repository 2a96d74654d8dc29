//! Model inputs for one cell: token ids, segments and the graph the attention mask is built from.
//!
//! The mask is never stored densely (a 160-position cell would need 25,600 booleans); it is
//! derived on demand from the compact node structure, the same way for training and serving.

use sha2::{Digest, Sha256};

/// Segment id of [CLS] and code positions.
pub const SEGMENT_CODE: u8 = 0;
/// Segment id of markdown positions.
pub const SEGMENT_MARKDOWN: u8 = 1;
/// Number of distinct segment ids (embedding table size).
pub const SEGMENT_COUNT: usize = 2;
/// `node_of` value for [CLS] and markdown positions, which belong to no syntax node.
pub const NO_NODE: u32 = u32::MAX;

/// The model's view of one cell after truncation to the window.
///
/// Position 0 is always [CLS]. Code positions come next (each belongs to a syntax node; a node's
/// kind token and its value subtokens share the node), then markdown word positions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ModelInput {
    /// Vocabulary id of each position.
    pub token_ids: Vec<u32>,
    /// [`SEGMENT_CODE`] or [`SEGMENT_MARKDOWN`] for each position.
    pub segments: Vec<u8>,
    /// Syntax node of each position, [`NO_NODE`] for [CLS] and markdown.
    pub node_of: Vec<u32>,
    /// Parent of each syntax node (indexed by node id), [`NO_NODE`] for top-level nodes.
    pub node_parent: Vec<u32>,
}

impl ModelInput {
    pub fn len(&self) -> usize {
        self.token_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.token_ids.is_empty()
    }

    /// Whether position `i` may attend to position `j` (DESIGN.md §3, paper §IV-A):
    /// itself, [CLS] both ways, tree edges (shared by a node's subtokens), and code ↔ markdown.
    pub fn may_attend(&self, i: usize, j: usize) -> bool {
        if i == j || i == 0 || j == 0 {
            return true;
        }
        let (Some(&seg_i), Some(&seg_j)) = (self.segments.get(i), self.segments.get(j)) else {
            return false;
        };
        if seg_i != seg_j {
            return true;
        }
        if seg_i == SEGMENT_MARKDOWN {
            return false;
        }
        let node_i = self.node_of[i];
        let node_j = self.node_of[j];
        if node_i == NO_NODE || node_j == NO_NODE {
            return false;
        }
        node_i == node_j
            || self.parent(node_i) == Some(node_j)
            || self.parent(node_j) == Some(node_i)
    }

    fn parent(&self, node: u32) -> Option<u32> {
        self.node_parent
            .get(node as usize)
            .copied()
            .filter(|&p| p != NO_NODE)
    }

    /// Writes the `padded_len × padded_len` row-major attention mask (true = may attend) into
    /// `out`. Padding positions attend only to themselves, so no softmax row is empty, and no
    /// real position attends to padding.
    ///
    /// # Panics
    /// If `padded_len < self.len()` or `out.len() != padded_len²`.
    pub fn fill_mask(&self, padded_len: usize, out: &mut [bool]) {
        let len = self.len();
        assert!(padded_len >= len, "padded length shorter than the input");
        assert_eq!(
            out.len(),
            padded_len * padded_len,
            "mask buffer has the wrong size"
        );
        for i in 0..padded_len {
            let row = &mut out[i * padded_len..(i + 1) * padded_len];
            if i >= len {
                row.fill(false);
                row[i] = true;
                continue;
            }
            for (j, cell) in row.iter_mut().enumerate() {
                *cell = j < len && self.may_attend(i, j);
            }
        }
    }

    /// The dense mask at the input's own length.
    pub fn dense_mask(&self) -> Vec<bool> {
        let len = self.len();
        let mut mask = vec![false; len * len];
        self.fill_mask(len, &mut mask);
        mask
    }

    /// A hash of everything the model sees, for inference caches.
    pub fn content_hash(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update((self.token_ids.len() as u64).to_le_bytes());
        for id in &self.token_ids {
            hasher.update(id.to_le_bytes());
        }
        hasher.update(&self.segments);
        for node in &self.node_of {
            hasher.update(node.to_le_bytes());
        }
        hasher.update((self.node_parent.len() as u64).to_le_bytes());
        for parent in &self.node_parent {
            hasher.update(parent.to_le_bytes());
        }
        hasher.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [CLS], call(node 0) + subtoken, string(node 1, child of 0), name(node 2, top level), md, md
    fn sample() -> ModelInput {
        ModelInput {
            token_ids: vec![2, 10, 11, 12, 13, 20, 21],
            segments: vec![0, 0, 0, 0, 0, 1, 1],
            node_of: vec![NO_NODE, 0, 0, 1, 2, NO_NODE, NO_NODE],
            node_parent: vec![NO_NODE, 0, NO_NODE],
        }
    }

    #[test]
    fn mask_follows_tree_cls_and_markdown_edges() {
        let input = sample();
        let m = input.dense_mask();
        let at = |i: usize, j: usize| m[i * 7 + j];
        // [CLS] sees and is seen by everything
        assert!((0..7).all(|j| at(0, j) && at(j, 0)));
        // subtokens of one node see each other; child sees parent's subtokens
        assert!(at(1, 2) && at(2, 1) && at(3, 1) && at(2, 3));
        // unrelated top-level nodes do not see each other
        assert!(!at(4, 1) && !at(3, 4));
        // markdown sees all code, but not other markdown
        assert!(at(5, 1) && at(4, 6) && !at(5, 6) && at(5, 5));
        // symmetric
        assert!((0..7).all(|i| (0..7).all(|j| at(i, j) == at(j, i))));
    }

    #[test]
    fn padding_attends_only_to_itself() {
        let input = sample();
        let mut m = vec![true; 81];
        input.fill_mask(9, &mut m);
        assert_eq!(
            &m[7 * 9..8 * 9],
            &[false, false, false, false, false, false, false, true, false]
        );
        assert!(!m[9 + 8]);
    }
}
