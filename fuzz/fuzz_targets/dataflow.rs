//! The data-flow pass over a sequence of cells, and the LSP's incremental featurizer that
//! leans on it, through a series of edits. Cells are built from fragments that bind, read,
//! fit, score, plot, rebind and delete the same few names (and break the syntax). Invariants
//! (ARCHITECTURE.md 10): after every edit the LSP's `FeatureCache` gives exactly what
//! `featurize_notebook` gives; featurizing a prefix of the notebook gives the prefix of the
//! result (later cells never change earlier ones); markdown and raw cells change no code
//! cell's flow or calls; `dataflow::analyze` on a raw parse (`IPython` lines not neutralised)
//! names only identifier starts inside the cell.
#![no_main]

use arbitrary::Arbitrary;
use coral_core::{dataflow, featurize_notebook, Cell, CellKind, Notebook, Scope, SeedTable};
use coral_fuzz::PySource;
use coral_server::lsp::features::FeatureCache;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[derive(Arbitrary, Debug)]
enum Kind {
    Code,
    Markdown,
    Raw,
}

#[derive(Arbitrary, Debug)]
struct CellDesc {
    kind: Kind,
    /// Statements (fragment indices), one a line.
    lines: Vec<u8>,
    /// Free-form source appended after them.
    extra: Option<PySource>,
}

#[derive(Arbitrary, Debug)]
enum Edit {
    Replace {
        at: u8,
        cell: CellDesc,
    },
    Insert {
        at: u8,
        cell: CellDesc,
    },
    Delete {
        at: u8,
    },
    Move {
        from: u8,
        to: u8,
    },
    /// Appends a line to a cell (typing at its end).
    Append {
        at: u8,
        line: u8,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    cells: Vec<CellDesc>,
    edits: Vec<Edit>,
    prefix: u8,
}

const MAX_CELLS: usize = 24;

fn seeds() -> &'static SeedTable {
    static SEEDS: OnceLock<SeedTable> = OnceLock::new();
    SEEDS.get_or_init(SeedTable::builtin)
}

fn fragment(i: u8) -> &'static str {
    coral_fuzz::FRAGMENTS[usize::from(i) % coral_fuzz::FRAGMENTS.len()]
}

fn make(desc: &CellDesc) -> Cell {
    let mut source: Vec<&str> = desc.lines.iter().take(16).map(|&i| fragment(i)).collect();
    let extra = desc
        .extra
        .as_ref()
        .map(PySource::render)
        .unwrap_or_default();
    // Keep cells short: long lines are the featurize target's business.
    let extra: String = extra.chars().take(2000).collect();
    source.push(&extra);
    let source = source.join("\n");
    let kind = match desc.kind {
        Kind::Code => CellKind::Code,
        Kind::Markdown => CellKind::Markdown,
        Kind::Raw => CellKind::Raw,
    };
    Cell { kind, source }
}

fn index(at: u8, len: usize) -> usize {
    usize::from(at) % len.max(1)
}

fn check(notebook: &Notebook, cache: &mut FeatureCache, prefix: usize) {
    let full = featurize_notebook(notebook, seeds());
    assert_eq!(
        cache.featurize(notebook, seeds(), 1),
        full,
        "the cache is the featurizer"
    );

    let cut = prefix % (notebook.cells.len() + 1);
    let head = Notebook {
        cells: notebook.cells[..cut].to_vec(),
    };
    let head_features = featurize_notebook(&head, seeds());
    assert_eq!(
        head_features[..],
        full[..head_features.len()],
        "later cells change nothing before"
    );

    let code_only = Notebook {
        cells: notebook
            .cells
            .iter()
            .filter(|c| c.kind == CellKind::Code)
            .cloned()
            .collect(),
    };
    let bare = featurize_notebook(&code_only, seeds());
    assert_eq!(bare.len(), full.len());
    for (a, b) in bare.iter().zip(&full) {
        assert_eq!(
            (&a.flow, &a.calls),
            (&b.flow, &b.calls),
            "markdown changes no flow"
        );
    }

    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("the grammar loads");
    let mut scope = Scope::new();
    for cell in notebook.cells.iter().filter(|c| c.kind == CellKind::Code) {
        let Some(tree) = parser.parse(&cell.source, None) else {
            continue;
        };
        let result = dataflow::analyze(tree.root_node(), &cell.source, &mut scope);
        for &at in result.name_kinds.keys() {
            assert!(
                at < cell.source.len(),
                "identifier start {at} inside the cell"
            );
            let node = tree
                .root_node()
                .descendant_for_byte_range(at, at + 1)
                .expect("a node at a named byte");
            assert_eq!(
                (node.kind(), node.start_byte()),
                ("identifier", at),
                "byte {at}"
            );
        }
    }
}

fuzz_target!(|input: Input| {
    let mut notebook = Notebook {
        cells: input.cells.iter().take(MAX_CELLS).map(make).collect(),
    };
    let mut cache = FeatureCache::default();
    let dump = |nb: &Notebook| {
        if coral_fuzz::dumping() {
            coral_fuzz::dump(&serde_json::to_vec_pretty(nb).expect("serialises"));
        }
    };
    dump(&notebook);
    check(&notebook, &mut cache, usize::from(input.prefix));
    for edit in input.edits.iter().take(16) {
        let len = notebook.cells.len();
        match edit {
            Edit::Replace { at, cell } if len > 0 => notebook.cells[index(*at, len)] = make(cell),
            Edit::Insert { at, cell } if len < MAX_CELLS => {
                notebook
                    .cells
                    .insert(usize::from(*at) % (len + 1), make(cell));
            }
            Edit::Delete { at } if len > 0 => {
                notebook.cells.remove(index(*at, len));
            }
            Edit::Move { from, to } if len > 0 => {
                let cell = notebook.cells.remove(index(*from, len));
                notebook.cells.insert(index(*to, len), cell);
            }
            Edit::Append { at, line } if len > 0 => {
                let source = &mut notebook.cells[index(*at, len)].source;
                source.push('\n');
                source.push_str(fragment(*line));
            }
            _ => continue,
        }
        dump(&notebook);
        check(&notebook, &mut cache, usize::from(input.prefix));
    }
});
