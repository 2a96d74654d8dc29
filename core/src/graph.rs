//! The cell graph the model reads: [CLS], the selected syntax nodes with their value subtokens,
//! then the markdown context's words.

use crate::input::{ModelInput, NO_NODE, SEGMENT_CODE, SEGMENT_MARKDOWN};
use crate::subtokens;
use crate::syntax::CellSyntax;
use crate::vocab::Vocab;

/// Token of position 0.
pub const CLS_TOKEN: &str = "[CLS]";
/// Markdown words kept per cell (the window is smaller still).
pub const MAX_MARKDOWN_TOKENS: usize = 256;

/// All positions of one cell before truncation to the window.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CellGraph {
    /// Token text of every position; `tokens[0]` is [`CLS_TOKEN`].
    pub tokens: Vec<String>,
    /// Segment of every position.
    pub segments: Vec<u8>,
    /// Syntax node of every position ([`NO_NODE`] for [CLS] and markdown).
    pub node_of: Vec<u32>,
    /// Parent of every syntax node ([`NO_NODE`] at the top level).
    pub node_parent: Vec<u32>,
    /// Code positions in the whole cell, including any beyond what is stored.
    pub code_positions: usize,
}

/// How to cut a graph into model input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Window size M, [CLS] included.
    pub max_len: usize,
    /// Include markdown positions (off for the "no markdown" ablation).
    pub markdown: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            max_len: crate::artefact::DEFAULT_WINDOW,
            markdown: true,
        }
    }
}

impl CellGraph {
    pub fn build(syntax: &CellSyntax, markdown: Option<&str>) -> CellGraph {
        let stored: usize = syntax.nodes.iter().map(|n| 1 + n.values.len()).sum();
        let mut graph = CellGraph {
            tokens: Vec::with_capacity(1 + stored),
            segments: Vec::with_capacity(1 + stored),
            node_of: Vec::with_capacity(1 + stored),
            node_parent: Vec::with_capacity(syntax.nodes.len()),
            code_positions: syntax.total_positions,
        };
        graph.push(CLS_TOKEN.to_owned(), SEGMENT_CODE, NO_NODE);
        for (id, node) in syntax.nodes.iter().enumerate() {
            let id = id as u32;
            graph.node_parent.push(node.parent.unwrap_or(NO_NODE));
            graph.push(node.kind.to_owned(), SEGMENT_CODE, id);
            for value in &node.values {
                graph.push(value.clone(), SEGMENT_CODE, id);
            }
        }
        if let Some(markdown) = markdown {
            let mut words = Vec::new();
            subtokens::split_into(markdown, MAX_MARKDOWN_TOKENS, &mut words);
            for word in words {
                graph.push(word, SEGMENT_MARKDOWN, NO_NODE);
            }
        }
        graph
    }

    fn push(&mut self, token: String, segment: u8, node: u32) {
        self.tokens.push(token);
        self.segments.push(segment);
        self.node_of.push(node);
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Token ids, segments and structure of the first `max_len` positions.
    pub fn encode(&self, vocab: &Vocab, options: EncodeOptions) -> ModelInput {
        let keep: Vec<usize> = (0..self.len())
            .filter(|&i| options.markdown || self.segments[i] != SEGMENT_MARKDOWN)
            .take(options.max_len.max(1))
            .collect();
        let max_node = keep
            .iter()
            .map(|&i| self.node_of[i])
            .filter(|&n| n != NO_NODE)
            .max()
            .map_or(0, |n| n as usize + 1);
        ModelInput {
            token_ids: keep.iter().map(|&i| vocab.id(&self.tokens[i])).collect(),
            segments: keep.iter().map(|&i| self.segments[i]).collect(),
            node_of: keep.iter().map(|&i| self.node_of[i]).collect(),
            node_parent: self.node_parent[..max_node.min(self.node_parent.len())].to_vec(),
        }
    }
}
