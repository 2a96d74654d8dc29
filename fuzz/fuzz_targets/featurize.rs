//! The featurizer (`featurize_cell`, then `CellGraph::encode`) on arbitrary Python source:
//! raw text, or source built from fragments that include invalid syntax, `IPython` lines,
//! nesting thousands deep and single lines of up to 120 k characters (a fragment repeated).
//! Invariants: no panic; `IPython` preprocessing keeps the byte length and reports magic lines
//! at line starts, ascending; the graph's parallel arrays agree, [CLS] comes first, code
//! positions precede markdown ones, node parents come before their children, stored positions
//! stay under the cap; blank cells get nothing; the model input fits the window, starts with
//! the [CLS] id, names only nodes it has, and its mask is symmetric with a full [CLS] row;
//! featurizing is deterministic.
#![no_main]

use arbitrary::Arbitrary;
use coral_core::input::{NO_NODE, SEGMENT_CODE, SEGMENT_MARKDOWN};
use coral_core::syntax::MAX_STORED_POSITIONS;
use coral_core::{featurize_cell, magics, Cell, EncodeOptions, Scope, SeedTable, Vocab};
use coral_fuzz::PySource;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[derive(Arbitrary, Debug)]
enum Source {
    Raw(String),
    Built(PySource),
}

#[derive(Arbitrary, Debug)]
struct Input {
    source: Source,
    markdown: Option<String>,
    /// Cells run before this one, so that it meets a scope with imports and kinds.
    before: Vec<u8>,
    max_len: u16,
    with_markdown: bool,
}

fn seeds() -> &'static SeedTable {
    static SEEDS: OnceLock<SeedTable> = OnceLock::new();
    SEEDS.get_or_init(SeedTable::builtin)
}

fuzz_target!(|input: Input| {
    let source = match &input.source {
        Source::Raw(text) => text.clone(),
        Source::Built(built) => built.render(),
    };
    coral_fuzz::dump(source.as_bytes());

    let pre = magics::preprocess(&source);
    if !pre.foreign_cell_magic {
        assert_eq!(
            pre.python.len(),
            source.len(),
            "preprocessing keeps byte offsets"
        );
    }
    assert!(
        pre.magic_lines.windows(2).all(|w| w[0] < w[1]),
        "magic lines ascend"
    );
    for &at in &pre.magic_lines {
        assert!(
            at == 0 || source.as_bytes().get(at - 1) == Some(&b'\n'),
            "line start {at}"
        );
    }

    let mut scope = Scope::new();
    for &i in input.before.iter().take(8) {
        let before = coral_fuzz::FRAGMENTS[usize::from(i) % coral_fuzz::FRAGMENTS.len()];
        featurize_cell(0, before, None, None, &mut scope, seeds());
    }
    let scope_before = scope.clone();
    let markdown = input.markdown.as_deref();
    let features = featurize_cell(1, &source, markdown, Some(0), &mut scope, seeds());

    let graph = &features.graph;
    let n = graph.tokens.len();
    assert!(n >= 1 && graph.segments.len() == n && graph.node_of.len() == n);
    assert_eq!(graph.tokens[0], "[CLS]");
    assert_eq!(
        (graph.segments[0], graph.node_of[0]),
        (SEGMENT_CODE, NO_NODE)
    );
    let code = graph
        .segments
        .iter()
        .take_while(|&&s| s == SEGMENT_CODE)
        .count();
    assert!(
        graph.segments[code..]
            .iter()
            .all(|&s| s == SEGMENT_MARKDOWN),
        "code, then markdown"
    );
    assert!(
        code - 1 <= MAX_STORED_POSITIONS,
        "{} stored positions",
        code - 1
    );
    assert!(code - 1 <= graph.code_positions, "stored ≤ counted");
    assert!(n - code <= coral_core::graph::MAX_MARKDOWN_TOKENS);
    for i in 1..code {
        assert!(
            (graph.node_of[i] as usize) < graph.node_parent.len(),
            "position {i}'s node"
        );
    }
    assert!(graph.node_of[code..].iter().all(|&node| node == NO_NODE));
    for (node, &parent) in graph.node_parent.iter().enumerate() {
        assert!(
            parent == NO_NODE || (parent as usize) < node,
            "node {node}'s parent {parent}"
        );
    }
    assert!(features.syntax_nodes >= graph.node_parent.len());
    assert_eq!(features.is_empty, source.trim().is_empty());
    if features.is_empty {
        assert!(features.weak_label.is_none() && features.calls.is_empty());
    }
    assert_eq!(
        features.code_lines,
        Cell::code(source.as_str()).code_lines()
    );

    let vocab = Vocab::build(graph.tokens.iter().map(|t| (t.clone(), 1)), 1, 64);
    let options = EncodeOptions {
        max_len: usize::from(input.max_len % 600),
        markdown: input.with_markdown,
    };
    let model_input = graph.encode(&vocab, options);
    let len = model_input.len();
    assert!(len >= 1 && len <= options.max_len.max(1));
    assert_eq!(model_input.token_ids[0], coral_core::vocab::CLS_ID);
    assert!(model_input
        .token_ids
        .iter()
        .all(|&id| (id as usize) < vocab.len()));
    assert_eq!(
        (model_input.segments.len(), model_input.node_of.len()),
        (len, len)
    );
    for &node in &model_input.node_of {
        assert!(node == NO_NODE || (node as usize) < model_input.node_parent.len());
    }
    if len <= 96 {
        let mask = model_input.dense_mask();
        for i in 0..len {
            assert!(
                mask[i * len + i] && mask[i] && mask[i * len],
                "self and [CLS], row {i}"
            );
            for j in 0..len {
                assert_eq!(mask[i * len + j], mask[j * len + i], "symmetric at {i},{j}");
            }
        }
    }

    let mut again = scope_before.clone();
    let repeat = featurize_cell(1, &source, markdown, Some(0), &mut again, seeds());
    assert_eq!(repeat, features, "deterministic");
    assert_eq!(again, scope, "same scope after");
});
