//! Generators shared by the fuzz targets: Python-ish source built from fragments (valid, invalid
//! and pathological), and a way to write the input a target derived to a file, so that a crash
//! can be kept as a plain regression fixture that the normal test suite reads without this
//! crate.

use arbitrary::Arbitrary;

/// Source fragments: statements the featurizer and the data-flow pass know (imports, data
/// loading, fitting, scoring, plotting, setup calls), `IPython` syntax, and pieces that break
/// the syntax (unbalanced brackets, stray quotes and indentation, odd characters).
pub const FRAGMENTS: &[&str] = &[
    "import pandas as pd",
    "import numpy as np",
    "import matplotlib.pyplot as plt",
    "import seaborn as sns",
    "import torch.nn as nn",
    "import a.b.c as d",
    "from sklearn.linear_model import LogisticRegression as LR",
    "from sklearn.model_selection import train_test_split",
    "from sklearn.metrics import accuracy_score",
    "from sklearn.preprocessing import StandardScaler",
    "from x import *",
    "from . import x",
    "df = pd.read_csv('a.csv')",
    "df = df.merge(other)",
    "df2 = df.copy()",
    "df.head()",
    "df['a'] = 1",
    "df.columns = ['a']",
    "df.dropna(inplace=True)",
    "del df",
    "model = LR()",
    "model.fit(X, y)",
    "lr = LR().fit(X, y)",
    "history = model.fit(X, y, epochs=3)",
    "pred = model.predict(X)",
    "acc = accuracy_score(y, pred)",
    "score = model.score(X, y)",
    "X_train, X_test, y_train, y_test = train_test_split(X, y)",
    "scaler = StandardScaler().fit(X)",
    "X = scaler.transform(X)",
    "fig, ax = plt.subplots()",
    "plt.plot(x)",
    "sns.heatmap(df.corr())",
    "print(df)",
    "print df",
    "np.random.seed(0)",
    "warnings.filterwarnings('ignore')",
    "pd.set_option('x', 1)",
    "plt.rcParams['a'] = 1",
    "get_ipython().run_line_magic('x', '')",
    "%matplotlib inline",
    "%%time",
    "%%bash",
    "!pip install x",
    "df.head?",
    "np.mean??",
    "?x",
    "def f(x):",
    "class A(B):",
    "async def g():",
    "await x",
    "return x",
    "yield x",
    "lambda x: x",
    "for i in range(3):",
    "while True:",
    "with open(f) as h:",
    "try:",
    "except Exception as e:",
    "if x:",
    "elif y:",
    "else:",
    "match x:",
    "case _:",
    "global x",
    "nonlocal y",
    "a = b = c",
    "a, *b = c",
    "x += 1",
    "x: int = 1",
    "(y := f(x))",
    "@decorator",
    "f'{x!r:>{w}}'",
    "b'\\xff'",
    "r'\\'",
    "0x",
    "1e",
    "1_000.5j",
    "x.y.z.w.v(u)(t)[s]",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    ":",
    "=",
    "'",
    "\"",
    "\"\"\"",
    "\\",
    "#",
    "# %%",
    "\t",
    "    ",
    " ",
    "\n",
    "\r\n",
    "\r",
    "é",
    "😀",
    "\u{0}",
    "\u{feff}",
    "\u{2028}",
    "\u{a0}",
    "\u{85}",
];

/// Names that the fragments bind and read, so that generated cells talk to each other.
pub const NAMES: &[&str] = &[
    "df", "X", "y", "model", "pd", "np", "plt", "clf", "pred", "score", "history", "fig", "_",
    "self", "pandas", "sklearn", "a", "b", "c", "x",
];

/// The longest text a [`Piece::Repeat`] builds: past the 100 k-character lines the issue asks
/// for, and small enough that one input still runs in milliseconds.
pub const MAX_REPEAT_CHARS: usize = 120_000;

/// One piece of generated source.
#[derive(Arbitrary, Debug, Clone)]
pub enum Piece {
    Fragment(u8),
    Name(u8),
    /// Arbitrary text, for what the fragment table does not think of.
    Text(String),
    Newline,
    Indent(u8),
    /// A fragment repeated on one line: `xxxx…` up to [`MAX_REPEAT_CHARS`] characters.
    Repeat {
        fragment: u8,
        times: u32,
    },
    /// Brackets opened `depth` times (and sometimes closed): nesting the parser and the walks
    /// must survive without recursion.
    Nest {
        open: u8,
        depth: u16,
        close: bool,
    },
}

/// Source text made of pieces.
#[derive(Arbitrary, Debug, Clone)]
pub struct PySource {
    pub pieces: Vec<Piece>,
}

fn pick<'a>(table: &[&'a str], i: u8) -> &'a str {
    table[usize::from(i) % table.len()]
}

impl PySource {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Fragment(i) => out.push_str(pick(FRAGMENTS, *i)),
                Piece::Name(i) => out.push_str(pick(NAMES, *i)),
                Piece::Text(text) => out.push_str(text),
                Piece::Newline => out.push('\n'),
                Piece::Indent(n) => {
                    out.extend(std::iter::repeat_n(' ', usize::from(*n % 16)));
                }
                Piece::Repeat { fragment, times } => {
                    let fragment = pick(FRAGMENTS, *fragment);
                    let fragment = if fragment.contains('\n') {
                        "x"
                    } else {
                        fragment
                    };
                    let most = MAX_REPEAT_CHARS / fragment.len().max(1);
                    let times = (*times as usize).min(most);
                    out.push_str(&fragment.repeat(times));
                }
                Piece::Nest { open, depth, close } => {
                    let (left, right) = match open % 3 {
                        0 => ("(", ")"),
                        1 => ("[", "]"),
                        _ => ("{", "}"),
                    };
                    let depth = usize::from(*depth % 5000);
                    out.push_str(&left.repeat(depth));
                    out.push('x');
                    if *close {
                        out.push_str(&right.repeat(depth));
                    }
                }
            }
            if out.len() > 4 * MAX_REPEAT_CHARS {
                break;
            }
        }
        out
    }
}

fn dump_path() -> Option<&'static std::ffi::OsStr> {
    static PATH: std::sync::OnceLock<Option<std::ffi::OsString>> = std::sync::OnceLock::new();
    PATH.get_or_init(|| std::env::var_os("CORAL_FUZZ_DUMP"))
        .as_deref()
}

/// Whether a replay asked for the derived input (then targets build what [`dump`] writes).
pub fn dumping() -> bool {
    dump_path().is_some()
}

/// Writes what a target derived from its input to `$CORAL_FUZZ_DUMP`, when set: replaying a
/// crashing input with it set (`cargo fuzz run <target> <artifact>`) gives the file that
/// becomes the regression fixture.
pub fn dump(bytes: &[u8]) {
    if let Some(path) = dump_path() {
        if let Err(e) = std::fs::write(&path, bytes) {
            eprintln!("cannot write {}: {e}", path.to_string_lossy());
        }
    }
}

/// serde's error message without the ` at line L column C` it ends with: what a
/// `NotebookError::Json` message must be (the position has fields of its own).
pub fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}
