//! Snapshot tests of the featurizer and the pipeline metrics on the hand-written fixture
//! notebooks in `fixtures/notebooks/` and `examples/`.

use std::fmt::Write as _;
use std::path::PathBuf;

use coral_core::metrics::{check, CellStage, FindingsConfig};
use coral_core::{featurize_notebook, CellFeatures, Notebook, NotebookError, SeedTable};

fn repo_file(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn load(relative: &str) -> Result<Notebook, NotebookError> {
    let path = repo_file(relative);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if std::path::Path::new(relative)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("py"))
    {
        Ok(Notebook::from_percent_script(&String::from_utf8_lossy(
            &bytes,
        )))
    } else {
        Notebook::from_ipynb(&bytes)
    }
}

/// One block per code cell: label, calls and the graph, one node per line with its values.
fn render(features: &[CellFeatures]) -> String {
    let mut out = String::new();
    for cell in features {
        let label = cell
            .weak_label
            .as_ref()
            .map_or("-".to_owned(), |l| format!("{} ({})", l.stage, l.rule));
        let _ = writeln!(
            out,
            "cell {} | lines {} | markdown {:?} | nodes {} | positions {} | error {} | magics {} | weak {}",
            cell.index,
            cell.code_lines,
            cell.markdown_context,
            cell.syntax_nodes,
            cell.graph.code_positions,
            cell.syntax_error,
            cell.magics,
            label
        );
        if !cell.calls.is_empty() {
            let _ = writeln!(out, "  calls: {}", cell.calls.join(", "));
        }
        let graph = &cell.graph;
        let mut line = String::new();
        let mut current = None;
        let mut markdown = Vec::new();
        for i in 1..graph.len() {
            if graph.segments[i] == coral_core::input::SEGMENT_MARKDOWN {
                markdown.push(graph.tokens[i].as_str());
                continue;
            }
            let node = graph.node_of[i];
            if current == Some(node) {
                let _ = write!(line, " {}", graph.tokens[i]);
            } else {
                if !line.is_empty() {
                    let _ = writeln!(out, "{line}");
                }
                let parent = graph.node_parent[node as usize];
                let parent = if parent == coral_core::input::NO_NODE {
                    "-".to_owned()
                } else {
                    parent.to_string()
                };
                line = format!("  {node:>3}<{parent:>3} {}", graph.tokens[i]);
                current = Some(node);
            }
        }
        if !line.is_empty() {
            let _ = writeln!(out, "{line}");
        }
        if !markdown.is_empty() {
            let _ = writeln!(out, "  markdown: {}", markdown.join(" "));
        }
    }
    out
}

fn report(features: &[CellFeatures]) -> String {
    let cells: Vec<CellStage> = features
        .iter()
        .map(|c| CellStage {
            index: c.index,
            stage: c.weak_label.as_ref().map(|l| l.stage),
            lines: c.code_lines,
            has_imports: c.has_imports,
            called_stages: c.called_stages,
        })
        .collect();
    let report = check(&cells, &FindingsConfig::default());
    serde_json::to_string_pretty(&report).unwrap_or_default()
}

fn check_fixture(relative: &str) -> (String, String) {
    let notebook = load(relative).unwrap_or_else(|e| panic!("{relative}: {e}"));
    let features = featurize_notebook(&notebook, &SeedTable::builtin());
    (render(&features), report(&features))
}

macro_rules! fixture_snapshots {
    ($($name:ident => $path:expr),* $(,)?) => {$(
        #[test]
        fn $name() {
            let (graph, report) = check_fixture($path);
            insta::assert_snapshot!(concat!(stringify!($name), "_features"), graph);
            insta::assert_snapshot!(concat!(stringify!($name), "_report"), report);
        }
    )*};
}

fixture_snapshots! {
    aliases => "fixtures/notebooks/aliases.ipynb",
    magics => "fixtures/notebooks/magics.ipynb",
    markdown_context => "fixtures/notebooks/markdown_context.ipynb",
    source_string => "fixtures/notebooks/source_string.ipynb",
    python2 => "fixtures/notebooks/python2.ipynb",
    unicode => "fixtures/notebooks/unicode.ipynb",
    percent_basic => "fixtures/notebooks/percent_basic.py",
    example_titanic => "examples/titanic_classifier.ipynb",
    example_sales => "examples/sales_exploration.ipynb",
    example_regression => "examples/regression_no_eval.ipynb",
    example_percent => "examples/percent_script.py",
    dataflow_rules => "fixtures/notebooks/dataflow_rules.ipynb",
}

/// Per cell: the weak label and the data-flow facts it was read from.
#[test]
fn dataflow_rules_snapshot() {
    let notebook =
        load("fixtures/notebooks/dataflow_rules.ipynb").unwrap_or_else(|e| panic!("{e}"));
    let features = featurize_notebook(&notebook, &SeedTable::builtin());
    let mut out = String::new();
    for cell in &features {
        let label = cell
            .weak_label
            .as_ref()
            .map_or("-".to_owned(), |l| format!("{} ({})", l.stage, l.rule));
        let flow = serde_json::to_string(&cell.flow).unwrap_or_default();
        let _ = writeln!(
            out,
            "cell {:>2} {label}
  {flow}",
            cell.index
        );
    }
    insta::assert_snapshot!(out);
}

#[test]
fn broken_fixtures_are_typed_errors() {
    assert!(matches!(
        load("fixtures/notebooks/nbformat3.ipynb"),
        Err(NotebookError::UnsupportedNbformat(3))
    ));
    assert!(matches!(
        load("fixtures/notebooks/truncated.ipynb"),
        Err(NotebookError::Json { .. })
    ));
    assert!(matches!(
        load("fixtures/notebooks/binary.ipynb"),
        Err(NotebookError::Json { .. })
    ));
}
