//! jupyterlab-lsp's `IPython` "code overrides", emulated: how a cell's source is rewritten before it
//! goes into the virtual Python document, and back.
//!
//! Why emulate them: the virtual document never holds `%magic` or `!shell` lines — the client
//! replaces them with Python calls first — so a saved cell only matches its block in the virtual
//! text once it is rewritten the same way. Source (jupyterlab-lsp 5.x,
//! `packages/jupyterlab-lsp/src/transclusions/ipython/overrides.ts`, applied by its
//! `VirtualDocument.prepareCodeBlock`): a cell matching the cell-magic pattern is replaced whole;
//! otherwise every line is tried against the line patterns, in order, first match wins:
//!
//! | source | virtual line |
//! |---|---|
//! | `!ls -l` (also `x = !ls`) | `get_ipython().getoutput("ls -l")` |
//! | `?x`, `??x` | `get_ipython().run_line_magic('pinfo', 'x')` (`pinfo2`) |
//! | `x?`, `x??` | `get_ipython().run_line_magic('pinfo',  'x')` (two spaces) |
//! | `%matplotlib inline` (also `x = %who_ls`) | `get_ipython().run_line_magic("matplotlib", " inline")` |
//! | `%%time` / `%%capture` cell | `# START_CELL_MAGIC("time", "")` + body + `# END_CELL_MAGIC` (5.x; older releases use the next row) |
//! | any other `%%magic args` cell | `get_ipython().run_cell_magic("magic", " args", """body""")` |
//!
//! The patterns are JavaScript regular expressions without flags; the functions below follow
//! their backtracking order by hand (JavaScript's `\s` and `.` differ from Rust's).
//! Line patterns keep the line count; cell patterns do not (a `%%time` cell gains a line, other
//! cell magics lose one), which is one reason boundaries must be recovered, not counted.

/// JavaScript's `\s`.
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// What JavaScript's `.` does not match (no `s` flag).
fn is_js_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// `[^?\s'"\(\)-\+\/#]`: the override's "Python identifier" (`\)-\+` is the range `)` to `+`).
fn is_pinfo_char(c: char) -> bool {
    !(is_js_space(c) || matches!(c, '?' | '\'' | '"' | '(' | ')' | '*' | '+' | '/' | '#'))
}

/// Byte offset of the first character at or after `from` that is not `\s`.
fn skip_space(text: &str, from: usize) -> usize {
    text[from..]
        .char_indices()
        .find(|&(_, c)| !is_js_space(c))
        .map_or(text.len(), |(i, _)| from + i)
}

/// Byte offset of the first line terminator at or after `from` (where `.*` stops).
fn dot_star_end(text: &str, from: usize) -> usize {
    text[from..]
        .find(is_js_line_terminator)
        .map_or(text.len(), |i| from + i)
}

/// `escape` of overrides.ts: backslash before `"` and `\`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `unescape` of overrides.ts.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&next) = chars.peek() {
                if matches!(next, '"' | '\\') {
                    out.push(next);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// Where `marker` sits in a line matched by `^(\s*|\s*\S+\s*=\s*)<marker>` followed by a
/// character `body` accepts: the prefix is `line[..at]`.
fn magic_marker(line: &str, marker: char, body: impl Fn(char) -> bool) -> Option<usize> {
    let accepts = |at: usize| {
        line[at..].starts_with(marker)
            && line[at + marker.len_utf8()..]
                .chars()
                .next()
                .is_some_and(&body)
    };
    // First alternative: `\s*`. A shorter `\s*` would leave a space where the marker must be.
    let start = skip_space(line, 0);
    if accepts(start) {
        return Some(start);
    }
    // Second: `\s*\S+\s*=\s*`, `\S+` a prefix of the first word, longest first.
    let word_end = line[start..]
        .find(is_js_space)
        .map_or(line.len(), |i| start + i);
    let mut ends: Vec<usize> = line[start..word_end]
        .char_indices()
        .skip(1)
        .map(|(i, _)| start + i)
        .collect();
    if word_end > start {
        ends.push(word_end);
    }
    for end in ends.into_iter().rev() {
        let at = if end == word_end {
            skip_space(line, end)
        } else {
            end
        };
        if line[at..].starts_with('=') {
            let at = skip_space(line, at + 1);
            if accepts(at) {
                return Some(at);
            }
        }
    }
    None
}

/// `LINE_MAGIC_PREFIX + '!([^=\s]+)(.*)(\n)?'` → `$1get_ipython().getoutput("$2$3")$4`.
fn shell(line: &str) -> Option<String> {
    let bang = magic_marker(line, '!', |c| c != '=' && !is_js_space(c))?;
    let end = dot_star_end(line, bang + 1);
    Some(format!(
        "{}get_ipython().getoutput(\"{}\"){}",
        &line[..bang],
        &line[bang + 1..end],
        &line[end..]
    ))
}

/// `^(\s*)(\?{1,2})IDENT(\n)?$` → `get_ipython().run_line_magic('pinfo', 'IDENT')`.
fn pinfo_prefix(line: &str) -> Option<String> {
    let start = skip_space(line, 0);
    let marks = line[start..].chars().take_while(|&c| c == '?').count();
    let name = &line[start + marks..];
    if !(1..=2).contains(&marks) || name.is_empty() || !name.chars().all(is_pinfo_char) {
        return None;
    }
    let command = if marks == 1 { "pinfo" } else { "pinfo2" };
    Some(format!(
        "{}get_ipython().run_line_magic('{command}', '{name}')",
        &line[..start]
    ))
}

/// `^(\s*)IDENT(\?{1,2})(\n)?` → `get_ipython().run_line_magic('pinfo',  'IDENT')` (two spaces).
fn pinfo_suffix(line: &str) -> Option<String> {
    let start = skip_space(line, 0);
    let name_end = line[start..]
        .find(|c: char| !is_pinfo_char(c))
        .map_or(line.len(), |i| start + i);
    let marks = line[name_end..]
        .chars()
        .take(2)
        .take_while(|&c| c == '?')
        .count();
    if name_end == start || marks == 0 {
        return None;
    }
    let command = if marks == 1 { "pinfo" } else { "pinfo2" };
    Some(format!(
        "{}get_ipython().run_line_magic('{command}',  '{}'){}",
        &line[..start],
        &line[start..name_end],
        &line[name_end + marks..]
    ))
}

/// `LINE_MAGIC_PREFIX + '%(\S+)(.*)(\n)?'` → `get_ipython().run_line_magic("NAME", "ARGS")`.
fn line_magic(line: &str) -> Option<String> {
    let percent = magic_marker(line, '%', |c| !is_js_space(c))?;
    let name_start = percent + 1;
    let name_end = line[name_start..]
        .find(is_js_space)
        .map_or(line.len(), |i| name_start + i);
    let end = dot_star_end(line, name_end);
    Some(format!(
        "{}get_ipython().run_line_magic(\"{}\", \"{}\"){}",
        &line[..percent],
        &line[name_start..name_end],
        escape(&line[name_end..end]),
        &line[end..]
    ))
}

/// One line through the line overrides, or `None` when none applies.
pub fn override_line(line: &str) -> Option<String> {
    shell(line)
        .or_else(|| pinfo_prefix(line))
        .or_else(|| pinfo_suffix(line))
        .or_else(|| line_magic(line))
}

/// How a cell magic is written: jupyterlab-lsp 5.x unwraps `%%time` and `%%capture`, older
/// releases wrap them like every other cell magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellMagicStyle {
    Unwrapped,
    Wrapped,
}

/// `^%%(\S+)(.*\n)([\s\S]*)` on the whole cell.
fn cell_magic(source: &str, style: CellMagicStyle) -> Option<String> {
    let rest = source.strip_prefix("%%")?;
    let name_end = rest.find(is_js_space).unwrap_or(rest.len());
    let newline = rest.find('\n')?;
    if name_end == 0 || rest[name_end..newline].contains(is_js_line_terminator) {
        return None;
    }
    let name = &rest[..name_end];
    let first_line = escape(&rest[name_end..newline]);
    let content = rest[newline + 1..].replace("\"\"\"", "\\\"\\\"\\\"");
    Some(
        if style == CellMagicStyle::Unwrapped && matches!(name, "time" | "capture") {
            format!("# START_CELL_MAGIC(\"{name}\", \"{first_line}\")\n{content}\n# END_CELL_MAGIC")
        } else {
            format!(
                "get_ipython().run_cell_magic(\"{name}\", \"{first_line}\", \"\"\"{content}\"\"\")"
            )
        },
    )
}

/// The block a code cell becomes in the virtual document, in each way a jupyterlab-lsp release
/// may write it (one entry unless the cell is a `%%time`/`%%capture` cell).
pub fn virtual_blocks(source: &str) -> Vec<String> {
    let Some(unwrapped) = cell_magic(source, CellMagicStyle::Unwrapped) else {
        return vec![source
            .split('\n')
            .map(|line| override_line(line).unwrap_or_else(|| line.to_owned()))
            .collect::<Vec<_>>()
            .join("\n")];
    };
    let mut blocks = vec![unwrapped];
    if let Some(wrapped) = cell_magic(source, CellMagicStyle::Wrapped) {
        if wrapped != blocks[0] {
            blocks.push(wrapped);
        }
    }
    blocks
}

/// Whether a virtual line was written by an override. jupyterlab-lsp marks such lines
/// `skipInspect` and drops diagnostics that start on them, so a label must not go there.
pub fn is_override_line(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.starts_with("# START_CELL_MAGIC(")
        || trimmed.starts_with("# END_CELL_MAGIC")
        || line.contains("get_ipython().getoutput(\"")
        || line.contains("get_ipython().run_line_magic(")
        || line.contains("get_ipython().run_cell_magic(\"")
}

/// Whether a block was written by a cell override (then every line of it is `skipInspect`).
pub fn is_cell_override(block_first_line: &str) -> bool {
    block_first_line.starts_with("# START_CELL_MAGIC(\"")
        || block_first_line.starts_with("get_ipython().run_cell_magic(\"")
}

/// Undoes the overrides of one block (the reverse patterns of overrides.ts), so that a block
/// with no saved counterpart is featurized as the `IPython` source the user typed.
pub fn decode_block(block: &str) -> String {
    if let Some(source) = decode_cell_magic(block) {
        return source;
    }
    block
        .split('\n')
        .map(decode_line)
        .collect::<Vec<_>>()
        .join("\n")
}

fn decode_cell_magic(block: &str) -> Option<String> {
    if let Some(rest) = block.strip_prefix("get_ipython().run_cell_magic(\"") {
        let (name, rest) = rest.split_once("\", \"")?;
        let (first_line, rest) = split_at_closing_quote(rest)?;
        let content = rest.strip_prefix(", \"\"\"")?.strip_suffix("\"\"\")")?;
        return Some(format!(
            "%%{name}{}\n{}",
            unescape(first_line),
            content.replace("\\\"\\\"\\\"", "\"\"\"")
        ));
    }
    let rest = block.strip_prefix("# START_CELL_MAGIC(\"")?;
    let (name, rest) = rest.split_once("\", \"")?;
    let (first_line, rest) = split_at_closing_quote(rest)?;
    let content = rest
        .strip_prefix(")\n")?
        .strip_suffix("# END_CELL_MAGIC")?
        .strip_suffix('\n')?;
    Some(format!(
        "%%{name}{}\n{}",
        unescape(first_line),
        content.replace("\\\"\\\"\\\"", "\"\"\"")
    ))
}

/// Splits an escaped string body at its closing (unescaped) `"`: (body, text after the quote).
fn split_at_closing_quote(text: &str) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some((&text[..i], &text[i + 1..])),
            _ => {}
        }
    }
    None
}

fn decode_line(line: &str) -> String {
    const SHELL: &str = "get_ipython().getoutput(\"";
    const MAGIC: &str = "get_ipython().run_line_magic(\"";
    const PINFO: &str = "get_ipython().run_line_magic('";
    if let Some(at) = line.find(SHELL) {
        let rest = &line[at + SHELL.len()..];
        if let Some(end) = rest.rfind("\")") {
            return format!("{}!{}{}", &line[..at], &rest[..end], &rest[end + 2..]);
        }
    }
    if let Some(at) = line.find(MAGIC) {
        let rest = &line[at + MAGIC.len()..];
        if let Some((name, rest)) = rest.split_once("\", \"") {
            if let Some((args, after)) = split_at_closing_quote(rest) {
                if let Some(after) = after.strip_prefix(')') {
                    return format!("{}%{name}{}{after}", &line[..at], unescape(args));
                }
            }
        }
    }
    if let Some(at) = line.find(PINFO) {
        let rest = &line[at + PINFO.len()..];
        for (command, marks) in [("pinfo2", "??"), ("pinfo", "?")] {
            if let Some(rest) = rest.strip_prefix(command) {
                if let Some(name) = rest.strip_prefix("',  '").and_then(|r| r.split_once("')")) {
                    return format!("{}{}{marks}{}", &line[..at], name.0, name.1);
                }
                if let Some(name) = rest.strip_prefix("', '").and_then(|r| r.split_once("')")) {
                    return format!("{}{marks}{}{}", &line[..at], name.0, name.1);
                }
            }
        }
    }
    line.to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The cases of jupyterlab-lsp's own `overrides.spec.ts`, and a few of ours.
    #[test]
    fn line_overrides_follow_jupyterlab_lsp() {
        let cases = [
            (
                "%MAGIC line = dd",
                Some("get_ipython().run_line_magic(\"MAGIC\", \" line = dd\")"),
            ),
            (
                "x =%ls",
                Some("x =get_ipython().run_line_magic(\"ls\", \"\")"),
            ),
            (
                "x = %ls",
                Some("x = get_ipython().run_line_magic(\"ls\", \"\")"),
            ),
            ("list(\"%\")", None),
            ("list(\" %test\")", None),
            ("3 % 2", None),
            ("3%2", None),
            (
                "%MAGIC \"arg\"",
                Some("get_ipython().run_line_magic(\"MAGIC\", \" \\\"arg\\\"\")"),
            ),
            ("!ls -o", Some("get_ipython().getoutput(\"ls -o\")")),
            ("x =!ls", Some("x =get_ipython().getoutput(\"ls\")")),
            ("x = !ls", Some("x = get_ipython().getoutput(\"ls\")")),
            ("\"!ls\"", None),
            ("1 != None", None),
            ("?int", Some("get_ipython().run_line_magic('pinfo', 'int')")),
            (
                "int?",
                Some("get_ipython().run_line_magic('pinfo',  'int')"),
            ),
            (
                "??int",
                Some("get_ipython().run_line_magic('pinfo2', 'int')"),
            ),
            (
                "int??",
                Some("get_ipython().run_line_magic('pinfo2',  'int')"),
            ),
            (
                "some_func??",
                Some("get_ipython().run_line_magic('pinfo2',  'some_func')"),
            ),
            ("'q?'", None),
            ("#?", None),
            ("?q'", None),
            ("?#'", None),
            // Ours: indentation, `%%` without a body, modulo with `=`, `==` and a CR.
            (
                "    %timeit f()",
                Some("    get_ipython().run_line_magic(\"timeit\", \" f()\")"),
            ),
            (
                "%%time",
                Some("get_ipython().run_line_magic(\"%time\", \"\")"),
            ),
            ("s = \"%d\" % 3", None),
            ("x==!y", Some("x==get_ipython().getoutput(\"y\")")),
            (
                "!pip install pandas\r",
                Some("get_ipython().getoutput(\"pip install pandas\")\r"),
            ),
            ("df = pd.read_csv('a.csv')", None),
        ];
        for (line, expected) in cases {
            assert_eq!(override_line(line).as_deref(), expected, "{line:?}");
        }
    }

    #[test]
    fn cell_overrides_in_both_styles() {
        assert_eq!(
            virtual_blocks("%%MAGIC\nsome text\n"),
            ["get_ipython().run_cell_magic(\"MAGIC\", \"\", \"\"\"some text\n\"\"\")"]
        );
        assert_eq!(
            virtual_blocks("%%MAGIC\n"),
            ["get_ipython().run_cell_magic(\"MAGIC\", \"\", \"\"\"\"\"\")"]
        );
        assert_eq!(
            virtual_blocks("%%MAGIC \"arg in quotes\"\ntext"),
            ["get_ipython().run_cell_magic(\"MAGIC\", \" \\\"arg in quotes\\\"\", \"\"\"text\"\"\")"]
        );
        assert_eq!(
            virtual_blocks("%%MAGIC\ntext\n\"\"\"a docstring\"\"\"\n"),
            ["get_ipython().run_cell_magic(\"MAGIC\", \"\", \"\"\"text\n\\\"\\\"\\\"a docstring\\\"\\\"\\\"\n\"\"\")"]
        );
        // Not a cell magic: line overrides instead.
        assert_eq!(
            virtual_blocks("%MAGIC\nsome text\n%%MAGIC\nsome text\n"),
            ["get_ipython().run_line_magic(\"MAGIC\", \"\")\nsome text\nget_ipython().run_line_magic(\"%MAGIC\", \"\")\nsome text\n"]
        );
        assert_eq!(
            virtual_blocks("%%time\nmodel.fit(X, y)"),
            [
                "# START_CELL_MAGIC(\"time\", \"\")\nmodel.fit(X, y)\n# END_CELL_MAGIC",
                "get_ipython().run_cell_magic(\"time\", \"\", \"\"\"model.fit(X, y)\"\"\")"
            ]
        );
    }

    #[test]
    fn decoding_undoes_the_overrides() {
        let sources = [
            "%matplotlib inline\nimport pandas as pd",
            "files = !ls -l\n!pip install \"x\"",
            "df.head?\n??pd.read_csv",
            "x = %who_ls\n%run \"a b.py\"",
            "%%time\nmodel.fit(X, y)",
            "%%bash --out o\necho \"\"\"hi\"\"\"\nls",
            "plain = 1",
        ];
        for source in sources {
            for block in virtual_blocks(source) {
                assert_eq!(decode_block(&block), source, "{block:?}");
            }
        }
    }

    #[test]
    fn override_lines_are_recognised() {
        for source in ["%matplotlib inline", "x = !ls", "df?", "%%time\nx\n"] {
            let block = &virtual_blocks(source)[0];
            assert!(is_override_line(block.lines().next().unwrap()), "{block:?}");
        }
        assert!(!is_override_line("df.describe()"));
        assert!(is_cell_override(
            "get_ipython().run_cell_magic(\"bash\", \"\", \"\"\"ls\"\"\")"
        ));
    }
}
