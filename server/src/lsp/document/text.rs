//! A text document (a notebook cell or a `.py` file): its text, version and line index, and
//! incremental edits in the negotiated position encoding.

use tower_lsp_server::ls_types::{Position, Range, TextDocumentContentChangeEvent};

use crate::lsp::encoding::PositionEncoding;

/// A position or range the document does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PositionError {
    #[error("line {line} is past the end of the document ({lines} lines)")]
    LineOutOfRange { line: u32, lines: usize },
    #[error("range end {end_line}:{end_character} comes before its start {start_line}:{start_character}")]
    Reversed {
        start_line: u32,
        start_character: u32,
        end_line: u32,
        end_character: u32,
    },
}

/// Text plus the byte offset where each line starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextDocument {
    text: String,
    version: i32,
    language_id: String,
    line_starts: Vec<usize>,
}

impl TextDocument {
    pub fn new(text: String, version: i32, language_id: impl Into<String>) -> TextDocument {
        let line_starts = line_starts(&text);
        TextDocument {
            text,
            version,
            language_id: language_id.into(),
            line_starts,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn version(&self) -> i32 {
        self.version
    }

    pub fn language_id(&self) -> &str {
        &self.language_id
    }

    pub fn set_language_id(&mut self, language_id: impl Into<String>) {
        self.language_id = language_id.into();
    }

    /// Number of lines (a trailing newline starts one more, empty line).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Text of line `line` without its line break, if the line exists.
    pub fn line(&self, line: usize) -> Option<&str> {
        let start = *self.line_starts.get(line)?;
        let end = self
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        let raw = self.text.get(start..end)?;
        let raw = raw.strip_suffix('\n').unwrap_or(raw);
        Some(raw.strip_suffix('\r').unwrap_or(raw))
    }

    /// Position just after the last character of `line`.
    pub fn line_end(&self, line: usize, encoding: PositionEncoding) -> Option<Position> {
        let text = self.line(line)?;
        Some(Position::new(
            u32::try_from(line).unwrap_or(u32::MAX),
            encoding.len(text),
        ))
    }

    /// The whole of `line`, as a range.
    pub fn line_range(&self, line: usize, encoding: PositionEncoding) -> Option<Range> {
        let end = self.line_end(line, encoding)?;
        Some(Range::new(Position::new(end.line, 0), end))
    }

    /// Byte offset of `position`. A line past the end is an error; a character past the end of
    /// its line clamps to the line's end.
    pub fn offset(
        &self,
        position: Position,
        encoding: PositionEncoding,
    ) -> Result<usize, PositionError> {
        let line = position.line as usize;
        let start = *self
            .line_starts
            .get(line)
            .ok_or(PositionError::LineOutOfRange {
                line: position.line,
                lines: self.line_starts.len(),
            })?;
        let content = self.line(line).unwrap_or_default();
        Ok(start + encoding.byte_offset(content, position.character))
    }

    /// Checks that `position` names a line of the document.
    pub fn check(&self, position: Position) -> Result<(), PositionError> {
        if (position.line as usize) < self.line_starts.len() {
            Ok(())
        } else {
            Err(PositionError::LineOutOfRange {
                line: position.line,
                lines: self.line_starts.len(),
            })
        }
    }

    /// Applies the changes of one `didChange` in order and takes `version`. All or nothing:
    /// when a change names a position the document does not have, the document is left as it
    /// was and the error says which.
    pub fn apply_changes(
        &mut self,
        changes: &[TextDocumentContentChangeEvent],
        version: i32,
        encoding: PositionEncoding,
    ) -> Result<(), PositionError> {
        let mut next = self.clone();
        for change in changes {
            next.apply_change(change, encoding)?;
        }
        next.version = version;
        *self = next;
        Ok(())
    }

    fn apply_change(
        &mut self,
        change: &TextDocumentContentChangeEvent,
        encoding: PositionEncoding,
    ) -> Result<(), PositionError> {
        match change.range {
            None => self.text.clone_from(&change.text),
            Some(range) => {
                let start = self.offset(range.start, encoding)?;
                let end = self.offset(range.end, encoding)?;
                if end < start {
                    return Err(PositionError::Reversed {
                        start_line: range.start.line,
                        start_character: range.start.character,
                        end_line: range.end.line,
                        end_character: range.end.character,
                    });
                }
                self.text.replace_range(start..end, &change.text);
            }
        }
        self.line_starts = line_starts(&self.text);
        Ok(())
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn edit(sl: u32, sc: u32, el: u32, ec: u32, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(sl, sc), Position::new(el, ec))),
            range_length: None,
            text: text.to_owned(),
        }
    }

    #[test]
    fn incremental_edits_in_utf16() {
        let mut doc = TextDocument::new("x = '😀'\ndf.head()\n".to_owned(), 1, "python");
        assert_eq!(doc.line_count(), 3);
        // After the emoji (2 UTF-16 units) at character 7.
        doc.apply_changes(&[edit(0, 7, 0, 7, "!")], 2, PositionEncoding::Utf16)
            .unwrap();
        assert_eq!(doc.text(), "x = '😀!'\ndf.head()\n");
        doc.apply_changes(&[edit(1, 3, 1, 7, "describe")], 3, PositionEncoding::Utf16)
            .unwrap();
        assert_eq!(doc.line(1), Some("df.describe()"));
        assert_eq!(doc.version(), 3);
    }

    #[test]
    fn character_past_line_end_clamps_and_line_past_end_is_rejected() {
        let mut doc = TextDocument::new("ab\r\ncd".to_owned(), 1, "python");
        assert_eq!(doc.line(0), Some("ab"));
        doc.apply_changes(&[edit(0, 99, 0, 99, "!")], 2, PositionEncoding::Utf16)
            .unwrap();
        assert_eq!(doc.text(), "ab!\r\ncd");
        let err = doc
            .apply_changes(
                &[edit(0, 0, 0, 0, "ok"), edit(7, 0, 7, 1, "x")],
                3,
                PositionEncoding::Utf16,
            )
            .unwrap_err();
        assert!(matches!(err, PositionError::LineOutOfRange { line: 7, .. }));
        assert_eq!(
            doc.text(),
            "ab!\r\ncd",
            "a rejected didChange changes nothing"
        );
        assert_eq!(doc.version(), 2);
        let err = doc
            .apply_changes(&[edit(1, 2, 0, 0, "")], 3, PositionEncoding::Utf16)
            .unwrap_err();
        assert!(matches!(err, PositionError::Reversed { .. }));
    }

    #[test]
    fn full_replacement() {
        let mut doc = TextDocument::new("a".to_owned(), 1, "python");
        doc.apply_changes(
            &[TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: "b\nc".to_owned(),
            }],
            5,
            PositionEncoding::Utf8,
        )
        .unwrap();
        assert_eq!(doc.line(1), Some("c"));
        assert_eq!(doc.line(2), None);
    }
}
