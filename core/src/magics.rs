//! `IPython` syntax that is not Python: line magics (`%matplotlib inline`), shell escapes
//! (`!pip install x`), help (`df.head?`) and cell magics (`%%time`, `%%bash`).
//!
//! Such lines are turned into comments of the same byte length, so tree-sitter sees valid
//! Python and every byte offset still points into the original source.

/// Cell magics whose body is Python (the body is parsed; only the first line is a magic).
use std::borrow::Cow;

const PYTHON_BODY_CELL_MAGICS: &[&str] = &[
    "time",
    "timeit",
    "capture",
    "prun",
    "debug",
    "memit",
    "tensorflow_version",
];

/// The cell with its `IPython` lines neutralised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preprocessed<'a> {
    /// The text handed to the parser, same byte length as the source (borrowed when the cell
    /// has no `IPython` lines, the common case).
    pub python: Cow<'a, str>,
    /// Byte offsets of the lines that were magics, shell escapes or help requests, ascending.
    pub magic_lines: Vec<usize>,
    /// The cell is a non-Python cell magic (`%%bash`, `%%html`, …): nothing to parse.
    pub foreign_cell_magic: bool,
}

impl Preprocessed<'_> {
    pub fn is_magic_line(&self, start_byte: usize) -> bool {
        self.magic_lines.binary_search(&start_byte).is_ok()
    }
}

pub fn preprocess(source: &str) -> Preprocessed<'_> {
    let first_code_line = source
        .lines()
        .map(str::trim_start)
        .find(|line| !line.is_empty() && !line.starts_with('#'));
    if let Some(line) = first_code_line {
        if let Some(name) = line.strip_prefix("%%") {
            let name = name.split_whitespace().next().unwrap_or_default();
            if !PYTHON_BODY_CELL_MAGICS.contains(&name) {
                return Preprocessed {
                    python: Cow::Borrowed(""),
                    magic_lines: vec![0],
                    foreign_cell_magic: true,
                };
            }
        }
    }
    let mut bytes: Vec<u8> = Vec::new();
    let mut magic_lines = Vec::new();
    let mut offset = 0;
    let mut continued = false;
    for line in source.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let indent = body.len() - body.trim_start().len();
        let stripped = body.trim_start();
        let is_magic = continued
            || stripped.starts_with('%')
            || stripped.starts_with('!')
            || (stripped.starts_with('?'))
            || (stripped.ends_with('?') && !stripped.starts_with('#') && is_help_target(stripped));
        if is_magic && !stripped.is_empty() && stripped.as_bytes()[0].is_ascii() {
            if !continued {
                magic_lines.push(offset);
            }
            if bytes.is_empty() {
                bytes = source.as_bytes().to_vec();
            }
            bytes[offset + indent] = b'#';
            continued = body.ends_with('\\');
        } else {
            continued = false;
        }
        offset += line.len();
    }
    if magic_lines.is_empty() {
        return Preprocessed {
            python: Cow::Borrowed(source),
            magic_lines,
            foreign_cell_magic: false,
        };
    }
    // Replacing one ASCII byte with `#` keeps the text valid UTF-8.
    let python = String::from_utf8(bytes).map_or(Cow::Borrowed(source), Cow::Owned);
    Preprocessed {
        python,
        magic_lines,
        foreign_cell_magic: false,
    }
}

/// `df.head?` / `np.mean??`: an expression-like line ending in `?`.
fn is_help_target(line: &str) -> bool {
    let target = line.trim_end_matches('?');
    !target.is_empty()
        && target
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '*')
}

/// Magics that set up the environment (rubric: IMPORT); they count as import statements for the
/// import-share rule.
const SETUP_MAGICS: &[&str] = &[
    "matplotlib",
    "pylab",
    "load_ext",
    "reload_ext",
    "autoreload",
    "pip",
    "conda",
    "config",
    "env",
];

/// Whether a magic line sets up the environment (`%matplotlib inline`, `!pip install x`).
pub fn is_setup_magic(line: &str) -> bool {
    magic_words(line)
        .split_whitespace()
        .next()
        .is_some_and(|word| SETUP_MAGICS.contains(&word))
}

/// The words a magic line contributes as values: `%matplotlib inline` → `matplotlib inline`.
pub fn magic_words(line: &str) -> &str {
    line.trim()
        .trim_start_matches(['%', '!', '?'])
        .trim_end_matches('?')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_lines_become_comments_of_the_same_length() {
        let src = "%matplotlib inline\nimport os\n  !pip install x\ndf.head?\nx = 1 # ok?\n";
        let pre = preprocess(src);
        assert_eq!(pre.python.len(), src.len());
        assert_eq!(
            pre.python,
            "#matplotlib inline\nimport os\n  #pip install x\n#f.head?\nx = 1 # ok?\n"
        );
        assert_eq!(pre.magic_lines, vec![0, 29, 46]);
        assert!(!pre.foreign_cell_magic);
    }

    #[test]
    fn cell_magics() {
        assert!(preprocess("%%bash\nls -la\n").foreign_cell_magic);
        let timed = preprocess("%%time\nx = f()\n");
        assert!(!timed.foreign_cell_magic);
        assert_eq!(timed.python, "#%time\nx = f()\n");
    }

    #[test]
    fn continued_shell_lines_stay_magic() {
        let pre = preprocess("!pip install a \\\n    b\nx = 1\n");
        assert_eq!(pre.python, "#pip install a \\\n    #\nx = 1\n");
        assert_eq!(pre.magic_lines, vec![0]);
    }
}
