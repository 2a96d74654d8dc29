//! Line numbers of cells in the files they came from, so findings point at the right line of an
//! `.ipynb` (the line of the cell's `"source"` in the raw JSON) or of a percent script (the
//! cell's `# %%` marker).

/// One 1-based line per cell of an nbformat 4 file, in cell order: the line of the first string
/// of the cell's `"source"` list (or of the `"source"` value itself when it is a string or an
/// empty list; or of the cell's `{` when it has no source). Tolerant: a file it cannot scan
/// yields fewer lines, and callers use line 1 for the rest.
pub fn ipynb_cell_lines(text: &[u8]) -> Vec<usize> {
    let mut scanner = Scanner {
        bytes: text,
        pos: 0,
        line: 1,
    };
    scanner.cells()
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        if b == b'\n' {
            self.line += 1;
        }
        Some(b)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.bump();
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.bump()? == byte).then_some(())
    }

    /// A string's raw bytes (escapes left as they are; keys compared here have none).
    fn string(&mut self) -> Option<&[u8]> {
        self.expect(b'"')?;
        let start = self.pos;
        loop {
            match self.bump()? {
                b'\\' => {
                    self.bump()?;
                }
                b'"' => return Some(&self.bytes[start..self.pos - 1]),
                _ => {}
            }
        }
    }

    /// Skips one value of any kind, without recursion (nesting depth is unbounded in input).
    fn skip_value(&mut self) -> Option<()> {
        self.skip_ws();
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.bump();
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.bump();
                }
            }
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
                ) {
                    self.bump();
                }
                Some(())
            }
        }
    }

    /// Calls `member` for each key of an object, positioned at the value; `member` must consume
    /// the value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &[u8]) -> Option<()>) -> Option<()> {
        self.expect(b'{')?;
        self.skip_ws();
        if self.peek()? == b'}' {
            self.bump();
            return Some(());
        }
        loop {
            let key = self.string()?.to_vec();
            self.expect(b':')?;
            member(self, &key)?;
            self.skip_ws();
            match self.bump()? {
                b',' => {}
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    fn cells(&mut self) -> Vec<usize> {
        let mut lines = Vec::new();
        // A scan that stops early keeps the lines found so far.
        let _complete = self.object(|s, key| {
            if key == b"cells" {
                s.cell_list(&mut lines)
            } else {
                s.skip_value()
            }
        });
        lines
    }

    fn cell_list(&mut self, lines: &mut Vec<usize>) -> Option<()> {
        self.expect(b'[')?;
        self.skip_ws();
        if self.peek()? == b']' {
            self.bump();
            return Some(());
        }
        loop {
            self.skip_ws();
            let cell_line = self.line;
            let mut source_line = None;
            if self.peek()? == b'{' {
                self.object(|s, key| {
                    if key == b"source" {
                        s.skip_ws();
                        let mut line = s.line;
                        if s.peek()? == b'[' {
                            s.bump();
                            s.skip_ws();
                            if s.peek()? == b'"' {
                                line = s.line;
                            }
                            // Re-enter the list as a whole value from its first element.
                            s.skip_rest_of_list()?;
                        } else {
                            s.skip_value()?;
                        }
                        source_line = Some(line);
                        Some(())
                    } else {
                        s.skip_value()
                    }
                })?;
            } else {
                self.skip_value()?;
            }
            lines.push(source_line.unwrap_or(cell_line));
            self.skip_ws();
            match self.bump()? {
                b',' => {}
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    /// Skips the elements and the closing `]` of a list whose `[` was consumed.
    fn skip_rest_of_list(&mut self) -> Option<()> {
        self.skip_ws();
        if self.peek()? == b']' {
            self.bump();
            return Some(());
        }
        loop {
            self.skip_value()?;
            self.skip_ws();
            match self.bump()? {
                b',' => {}
                b']' => return Some(()),
                _ => return None,
            }
        }
    }
}

/// One 1-based line per cell of a percent script, from coral-core's one splitter
/// ([`coral_core::percent_spans`]): a cell's marker line, or the first non-blank line of text
/// before the first marker.
pub fn percent_cell_lines(text: &str) -> Vec<usize> {
    coral_core::percent_spans(text)
        .iter()
        .map(|span| span.line + 1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipynb_lines_point_at_sources() {
        let text = br##"{
 "cells": [
  {
   "cell_type": "markdown",
   "metadata": {"a": [1, {"b": "]}"}]},
   "source": [
    "# Title\n",
    "text"
   ]
  },
  {"cell_type": "code", "source": "x = 1", "outputs": []},
  {
   "cell_type": "code",
   "source": []
  },
  {
   "cell_type": "raw"
  }
 ],
 "metadata": {},
 "nbformat": 4
}"##;
        assert_eq!(ipynb_cell_lines(text), [7, 11, 14, 16]);
    }

    #[test]
    fn ipynb_lines_tolerate_garbage() {
        assert!(ipynb_cell_lines(b"\x89PNG\r\n").is_empty());
        assert_eq!(
            ipynb_cell_lines(b"{\"cells\": [{\"source\": \"a\"}, {\"sou"),
            [1]
        );
    }

    #[test]
    fn percent_lines_match_core_cells() {
        let text = "\"\"\"doc\"\"\"\nimport os\n\n# %% [markdown]\n# # Load\n# %% load\ndf = 1\n#%%\nprint(df)\n# %%timeit\n";
        let lines = percent_cell_lines(text);
        let nb = coral_core::Notebook::from_percent_script(text);
        assert_eq!(lines.len(), nb.cells.len());
        assert_eq!(lines, [1, 4, 6, 8]);
        assert_eq!(percent_cell_lines("\n\nx = 1\n"), [3]);
        assert!(percent_cell_lines("  \n").is_empty());
    }
}
