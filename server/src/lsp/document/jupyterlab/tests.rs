//! Boundary recovery, `check(saved, live, expect)` style: `live` is what `JupyterLab` has now, it
//! is joined into the virtual text exactly as jupyterlab-lsp joins it, `saved` is the `.ipynb`
//! on disk, and the snapshot shows the recovered cells (index, kind, lines, label line, source).

use std::fmt::Write as _;

use coral_core::{Cell, CellKind, Notebook};

use super::overrides::virtual_blocks;
use super::{recover, Recovery};

/// Cells as written in the tests: `# md` starts a markdown cell, anything else is code.
fn cells(sources: &[&str]) -> Vec<Cell> {
    sources
        .iter()
        .map(|s| match s.strip_prefix("# md ") {
            Some(md) => Cell::markdown(md),
            None => Cell::code(*s),
        })
        .collect()
}

/// The virtual document of `live`: `JupyterLab` 4 (markdown cells leave an empty line) or older
/// clients (markdown cells left out).
fn virtual_text(live: &[Cell], markdown_leaves_a_line: bool) -> String {
    live.iter()
        .filter_map(|cell| match cell.kind {
            CellKind::Code => virtual_blocks(&cell.source)
                .first()
                .map(|b| format!("{b}\n")),
            _ if markdown_leaves_a_line => Some("\n".to_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn render(text: &str, recovery: &Recovery) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = format!("{:?}\n", recovery.method);
    for (i, cell) in recovery.cells.iter().enumerate() {
        let kind = match cell.cell.kind {
            CellKind::Code => "code",
            CellKind::Markdown => "md  ",
            CellKind::Raw => "raw ",
        };
        let place = match (&cell.lines, cell.label_line) {
            (Some(r), Some(l)) => format!("L{}-{} @{l}", r.start, r.end - 1),
            _ => "-".to_owned(),
        };
        let shown = cell
            .label_line
            .and_then(|l| lines.get(l))
            .map(|l| format!(" | {l}"))
            .unwrap_or_default();
        let _ = writeln!(out, "{i} {kind} {place:<11} {:?}{shown}", cell.cell.source);
    }
    out
}

fn check(saved: Option<&[&str]>, live: &[&str], markdown_leaves_a_line: bool) -> String {
    let text = virtual_text(&cells(live), markdown_leaves_a_line);
    let saved = saved.map(|s| Notebook { cells: cells(s) });
    render(&text, &recover(&text, saved.as_ref()))
}

const BLANK_RUNS: &[&str] = &[
    "import pandas as pd\n",
    "# md ## Helpers",
    "def clean(df):\n    return df.dropna()\n\n\ndef scale(df):\n    return df / df.max()",
    "\ndf = pd.read_csv('a.csv')\n\n\n\ndf = clean(df)\n",
    "df.describe()",
];

#[test]
fn blank_line_runs_inside_cells_are_kept_with_the_saved_notebook() {
    insta::assert_snapshot!(check(Some(BLANK_RUNS), BLANK_RUNS, true), @r###"
    Exact
    0 code L0-0 @0     "import pandas as pd\n" | import pandas as pd
    1 md   -           "## Helpers"
    2 code L7-12 @7    "def clean(df):\n    return df.dropna()\n\n\ndef scale(df):\n    return df / df.max()" | def clean(df):
    3 code L16-20 @16  "\ndf = pd.read_csv('a.csv')\n\n\n\ndf = clean(df)\n" | df = pd.read_csv('a.csv')
    4 code L24-24 @24  "df.describe()" | df.describe()
    "###);
}

#[test]
fn blank_line_runs_without_a_saved_notebook_split_where_the_text_allows() {
    // Unindented code after two blank lines could start a cell: the fallback splits there.
    insta::assert_snapshot!(check(None, BLANK_RUNS, true), @r###"
    Split
    0 code L0-0 @0     "import pandas as pd" | import pandas as pd
    1 code L7-8 @7     "def clean(df):\n    return df.dropna()" | def clean(df):
    2 code L11-12 @11  "def scale(df):\n    return df / df.max()" | def scale(df):
    3 code L16-16 @16  "df = pd.read_csv('a.csv')" | df = pd.read_csv('a.csv')
    4 code L20-20 @20  "df = clean(df)" | df = clean(df)
    5 code L24-24 @24  "df.describe()" | df.describe()
    "###);
}

const MAGICS: &[&str] = &[
    "%matplotlib inline\n!pip install seaborn\nimport seaborn as sns",
    "# md Time the fit",
    "%%time\nmodel = Ridge().fit(X, y)",
    "%%bash\nls data/\n\n\nwc -l data/*.csv",
    "df.head?\nfiles = !ls\n%who_ls",
    "scores = cross_val_score(model, X, y)",
];

#[test]
fn magics_are_matched_through_the_overrides_and_labels_avoid_their_lines() {
    insta::assert_snapshot!(check(Some(MAGICS), MAGICS, true), @r###"
    Exact
    0 code L0-2 @2     "%matplotlib inline\n!pip install seaborn\nimport seaborn as sns" | import seaborn as sns
    1 md   -           "Time the fit"
    2 code L8-10 @8    "%%time\nmodel = Ridge().fit(X, y)" | # START_CELL_MAGIC("time", "")
    3 code L13-16 @13  "%%bash\nls data/\n\n\nwc -l data/*.csv" | get_ipython().run_cell_magic("bash", "", """ls data/
    4 code L19-21 @19  "df.head?\nfiles = !ls\n%who_ls" | get_ipython().run_line_magic('pinfo',  'df.head')
    5 code L24-24 @24  "scores = cross_val_score(model, X, y)" | scores = cross_val_score(model, X, y)
    "###);
}

#[test]
fn magics_without_a_saved_notebook_are_decoded() {
    insta::assert_snapshot!(check(None, MAGICS, false), @r###"
    Split
    0 code L0-2 @2     "%matplotlib inline\n!pip install seaborn\nimport seaborn as sns" | import seaborn as sns
    1 code L5-7 @5     "%%time\nmodel = Ridge().fit(X, y)" | # START_CELL_MAGIC("time", "")
    2 code L10-13 @10  "%%bash\nls data/\n\n\nwc -l data/*.csv" | get_ipython().run_cell_magic("bash", "", """ls data/
    3 code L16-18 @16  "df.head?\nfiles = !ls\n%who_ls" | get_ipython().run_line_magic('pinfo',  'df.head')
    4 code L21-21 @21  "scores = cross_val_score(model, X, y)" | scores = cross_val_score(model, X, y)
    "###);
}

const EMPTY_CELLS: &[&str] = &[
    "# md # Title",
    "",
    "import numpy as np",
    "",
    "",
    "# md ## Data",
    "# md more words",
    "x = np.arange(10)",
    "   ",
    "# md The end",
];

#[test]
fn empty_cells_and_markdown_in_both_client_layouts() {
    let both = format!(
        "JupyterLab 4 (markdown leaves an empty line):\n{}older clients (markdown left out):\n{}",
        check(Some(EMPTY_CELLS), EMPTY_CELLS, true),
        check(Some(EMPTY_CELLS), EMPTY_CELLS, false)
    );
    insta::assert_snapshot!(both, @r###"
    JupyterLab 4 (markdown leaves an empty line):
    Exact
    0 md   -           "# Title"
    1 code -           ""
    2 code L6-6 @6     "import numpy as np" | import numpy as np
    3 code -           ""
    4 code -           ""
    5 md   -           "## Data"
    6 md   -           "more words"
    7 code L21-21 @21  "x = np.arange(10)" | x = np.arange(10)
    8 code -           "   "
    9 md   -           "The end"
    older clients (markdown left out):
    Exact
    0 md   -           "# Title"
    1 code -           ""
    2 code L3-3 @3     "import numpy as np" | import numpy as np
    3 code -           ""
    4 code -           ""
    5 md   -           "## Data"
    6 md   -           "more words"
    7 code L12-12 @12  "x = np.arange(10)" | x = np.arange(10)
    8 code -           "   "
    9 md   -           "The end"
    "###);
}

#[test]
fn empty_cells_without_a_saved_notebook_are_not_there() {
    insta::assert_snapshot!(check(None, EMPTY_CELLS, true), @r###"
    Split
    0 code L6-6 @6     "import numpy as np" | import numpy as np
    1 code L21-21 @21  "x = np.arange(10)" | x = np.arange(10)
    "###);
}

#[test]
fn edits_since_the_save_keep_places_and_markdown() {
    let saved: &[&str] = &[
        "import pandas as pd",
        "# md ## Load",
        "df = pd.read_csv('a.csv')",
        "# md ## Look",
        "df.head()",
        "df.plot()",
        "# md ## Model",
        "model.fit(X, y)",
    ];
    let live: &[&str] = &[
        "import pandas as pd",
        "# md ## Load",
        "df = pd.read_csv('b.csv')\ndf = df.dropna()", // edited
        "# md ## Look",
        "df.head()",
        // `df.plot()` deleted
        "# md ## Model",
        "model.fit(X, y)",
        "model.score(X, y)", // typed
    ];
    insta::assert_snapshot!(check(Some(saved), live, true), @r###"
    Aligned { matched: 3, saved: 5 }
    0 code L0-0 @0     "import pandas as pd" | import pandas as pd
    1 md   -           "## Load"
    2 code L6-7 @6     "df = pd.read_csv('b.csv')\ndf = df.dropna()" | df = pd.read_csv('b.csv')
    3 md   -           "## Look"
    4 code L13-13 @13  "df.head()" | df.head()
    5 md   -           "## Model"
    6 code L19-19 @19  "model.fit(X, y)" | model.fit(X, y)
    7 code L22-22 @22  "model.score(X, y)" | model.score(X, y)
    "###);
}

#[test]
fn an_unrelated_saved_notebook_is_ignored() {
    let saved: &[&str] = &["print('another notebook')", "# md words"];
    insta::assert_snapshot!(check(Some(saved), &["a = 1", "b = 2"], true), @r###"
    Split
    0 code L0-0 @0     "a = 1" | a = 1
    1 code L3-3 @3     "b = 2" | b = 2
    "###);
}

#[test]
fn degenerate_texts_do_not_fail() {
    for text in [
        "",
        "\n",
        "\n\n\n\n",
        "x",
        "\n\n\nx\n\n\n",
        "\r\n\r\n",
        "    indented\n\n\n    more",
    ] {
        for saved in [
            None,
            Some(Notebook {
                cells: cells(&["x", "", "# md m"]),
            }),
        ] {
            let recovery = recover(text, saved.as_ref());
            for cell in &recovery.cells {
                if let Some(lines) = &cell.lines {
                    assert!(lines.start < lines.end && lines.end <= text.split('\n').count());
                }
            }
        }
    }
}

/// Random texts made of the pieces the patterns look for: nothing panics, every recovered
/// range lies in the text, and a text recovered against its own cells is exact.
#[test]
fn random_texts_do_not_fail() {
    const PIECES: &[&str] = &[
        "%",
        "%%",
        "!",
        "?",
        "??",
        "=",
        " ",
        "\n",
        "\n\n\n",
        "\r",
        "\t",
        "é",
        "😀",
        "\u{2028}",
        "\"",
        "\\",
        "\"\"\"",
        "x",
        "df.head()",
        "import pandas as pd",
        "time",
        "bash",
        "get_ipython().run_cell_magic(\"",
        "# START_CELL_MAGIC(\"",
        "# END_CELL_MAGIC",
        "get_ipython().run_line_magic(\"",
        "get_ipython().getoutput(\"",
        "')",
        "\")",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    for _ in 0..3000 {
        let mut sources = Vec::new();
        for _ in 0..=next(4) {
            let source: String = (0..next(12)).map(|_| PIECES[next(PIECES.len())]).collect();
            for line in source.split('\n') {
                let _ = super::overrides::override_line(line);
            }
            for block in virtual_blocks(&source) {
                let _ = super::overrides::decode_block(&block);
            }
            sources.push(if next(4) == 0 {
                Cell::markdown(source)
            } else {
                Cell::code(source)
            });
        }
        let text = virtual_text(&sources, next(2) == 0);
        let line_count = text.split('\n').count();
        let saved = Notebook { cells: sources };
        for recovery in [recover(&text, None), recover(&text, Some(&saved))] {
            for cell in &recovery.cells {
                if let (Some(lines), Some(label)) = (&cell.lines, cell.label_line) {
                    assert!(
                        lines.start < lines.end && lines.end <= line_count,
                        "{text:?}"
                    );
                    assert!(lines.contains(&label), "{text:?}");
                }
            }
        }
        let own = recover(&text, Some(&saved));
        if saved
            .cells
            .iter()
            .any(|c| c.kind == CellKind::Code && !c.is_blank())
        {
            assert_eq!(own.method, super::Method::Exact, "{text:?}");
        }
    }
}
