//! The featurizer: a notebook in, one [`CellFeatures`] per code cell out. Training and serving
//! both call [`featurize_notebook`]; there is no other implementation.

use crate::dataflow::CellFlow;
use crate::graph::CellGraph;
use crate::notebook::{CellKind, Notebook};
use crate::scope::Scope;
use crate::stage::StageSet;
use crate::syntax::{self, CellSyntax};
use crate::weak::{SeedTable, WeakLabel};

/// Everything coral derives from one code cell.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CellFeatures {
    /// Position in the notebook's cell list, markdown included.
    pub index: usize,
    /// Index of the markdown cell giving context, if any.
    pub markdown_context: Option<usize>,
    /// The model's graph (before truncation to the window).
    pub graph: CellGraph,
    /// Qualified names of the calls in the cell, in source order.
    pub calls: Vec<String>,
    /// The weak label and the rule that fired, if any rule did.
    pub weak_label: Option<WeakLabel>,
    /// What the cell does with the notebook's typed values (the data-flow pass).
    pub flow: CellFlow,
    /// Stages of the seed functions among `calls`, whichever label won (findings use them).
    pub called_stages: StageSet,
    /// Lines that are neither blank nor only a comment.
    pub code_lines: usize,
    /// Selected syntax nodes in the whole cell.
    pub syntax_nodes: usize,
    /// The cell holds import statements.
    pub has_imports: bool,
    /// tree-sitter reported a syntax error.
    pub syntax_error: bool,
    /// `IPython` magic, shell or help lines.
    pub magics: usize,
    /// The cell holds only whitespace: it gets no stage.
    pub is_empty: bool,
}

/// Featurizes every code cell of a notebook, in order, carrying imports and bindings forward.
pub fn featurize_notebook(notebook: &Notebook, seeds: &SeedTable) -> Vec<CellFeatures> {
    let mut scope = Scope::new();
    let mut out = Vec::new();
    for (index, cell) in notebook.cells.iter().enumerate() {
        if cell.kind != CellKind::Code {
            continue;
        }
        let markdown_context = notebook.markdown_context(index);
        let markdown = markdown_context.map(|i| notebook.cells[i].source.as_str());
        out.push(featurize_cell(
            index,
            &cell.source,
            markdown,
            markdown_context,
            &mut scope,
            seeds,
        ));
    }
    out
}

/// Featurizes one code cell given the scope left by the cells before it.
pub fn featurize_cell(
    index: usize,
    source: &str,
    markdown: Option<&str>,
    markdown_context: Option<usize>,
    scope: &mut Scope,
    seeds: &SeedTable,
) -> CellFeatures {
    let is_empty = source.trim().is_empty();
    let syntax: CellSyntax = if is_empty {
        CellSyntax::default()
    } else {
        syntax::analyze(source, scope)
    };
    let code_lines = crate::notebook::Cell::code(source).code_lines();
    let (weak_label, called_stages) = if is_empty {
        (None, StageSet::EMPTY)
    } else {
        seeds.label(&syntax, code_lines, markdown)
    };
    CellFeatures {
        index,
        markdown_context,
        graph: CellGraph::build(&syntax, markdown),
        weak_label,
        flow: syntax.flow,
        called_stages,
        code_lines,
        syntax_nodes: syntax.total_nodes,
        has_imports: syntax.import_nodes > 0,
        syntax_error: syntax.has_error,
        magics: syntax.magics,
        is_empty,
        calls: syntax.calls,
    }
}
