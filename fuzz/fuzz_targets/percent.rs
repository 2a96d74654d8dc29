//! The percent-script splitter (`coral_core::percent_spans`), the percent notebook reader and
//! the LSP's view of a percent file, on arbitrary text or on scripts built from marker
//! variants. Invariants: spans are in order and tile the text (each marker line sits between
//! the previous body and its own; the last body ends the text); bodies are valid `str` ranges;
//! a span's `line` is its marker's line (or the first non-blank line of a leading cell, with
//! only blank lines before); `is_percent_script` agrees with the markers found; the reader
//! makes one cell per span with the span's kind and body; the server's `cell_starts` and
//! `Document::to_core` agree with core.
#![no_main]

use arbitrary::Arbitrary;
use coral_core::{percent_spans, CellKind, Notebook};
use coral_server::lsp::document::{percent, Document, TextDocument};
use libfuzzer_sys::fuzz_target;

const LINES: &[&str] = &[
    "# %%",
    "#%%",
    "# %% title",
    "# %% [markdown]",
    "# %% [md]",
    "#%%[raw]",
    "# %%[md]",
    "#  %%  [markdown] more",
    "  # %%",
    "\t#%%",
    "# %%timeit",
    "#%%x",
    "# %% [markdown",
    "# %%\u{a0}x",
    "# % %",
    "%%",
    "## %%",
    "# %% [raw] [md]",
    "",
    " ",
    "\t",
    "\u{85}",
    "\u{2028}",
    "\u{feff}# %%",
    "import os",
    "x = 1",
    "# comment",
    "# # Title",
    "#text",
    "print('# %%')",
    "😀",
    "\r",
];

#[derive(Arbitrary, Debug)]
enum Line {
    Table(u8),
    Text(String),
}

#[derive(Arbitrary, Debug)]
enum Input {
    Raw(String),
    Lines {
        lines: Vec<(Line, u8)>,
        final_newline: bool,
    },
}

fn render(input: &Input) -> String {
    match input {
        Input::Raw(text) => text.clone(),
        Input::Lines {
            lines,
            final_newline,
        } => {
            let mut out = String::new();
            for (i, (line, ending)) in lines.iter().enumerate() {
                match line {
                    Line::Table(n) => out.push_str(LINES[usize::from(*n) % LINES.len()]),
                    Line::Text(text) => out.push_str(text),
                }
                if i + 1 < lines.len() || *final_newline {
                    out.push_str(match ending % 4 {
                        0 | 1 => "\n",
                        2 => "\r\n",
                        _ => "\n\n",
                    });
                }
            }
            out
        }
    }
}

/// Byte offset where 0-based line `line` starts (lines end with `\n`).
fn line_start(text: &str, line: usize) -> usize {
    if line == 0 {
        return 0;
    }
    text.match_indices('\n')
        .nth(line - 1)
        .map_or(text.len(), |(i, _)| i + 1)
}

fuzz_target!(|input: Input| {
    let text = render(&input);
    coral_fuzz::dump(text.as_bytes());
    let spans = percent_spans(&text);
    let mut any_marker = false;
    let mut previous_end: Option<usize> = None;
    for (i, span) in spans.iter().enumerate() {
        assert!(
            span.body.start <= span.body.end && span.body.end <= text.len(),
            "{span:?}"
        );
        assert!(
            text.get(span.body.clone()).is_some(),
            "body on char boundaries: {span:?}"
        );
        // Only the first span can be the unmarked text before the first marker.
        let marked = i > 0 || span.body.start > 0;
        let start = line_start(&text, span.line);
        if marked {
            any_marker = true;
            let marker = &text[start..span.body.start];
            assert!(
                !marker.trim_end_matches(['\n']).contains('\n'),
                "a marker is one line: {marker:?}"
            );
            assert!(
                marker.ends_with('\n') || span.body.start == text.len(),
                "{marker:?}"
            );
            assert!(
                marker.trim_start().starts_with('#') && marker.contains("%%"),
                "{marker:?}"
            );
            match span.kind {
                CellKind::Markdown => assert!(marker.contains("[m"), "{marker:?}"),
                CellKind::Raw => assert!(marker.contains("[raw]"), "{marker:?}"),
                CellKind::Code => {}
            }
            match previous_end {
                Some(end) => assert_eq!(end, start, "the previous body ends at this marker"),
                None => assert!(
                    text[..start].trim().is_empty(),
                    "only blank lines before the first marker"
                ),
            }
        } else {
            assert_eq!(span.kind, CellKind::Code, "text before any marker is code");
            assert!(
                text[..start].trim().is_empty(),
                "line {} is the first non-blank",
                span.line
            );
            assert!(
                !text[start..]
                    .split('\n')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .is_empty(),
                "the leading cell starts on a non-blank line"
            );
        }
        previous_end = Some(span.body.end);
    }
    if let Some(last) = spans.last() {
        assert_eq!(last.body.end, text.len(), "the last body ends the text");
    } else {
        assert!(text.trim().is_empty() || !any_marker);
        assert!(
            text.split('\n').all(|l| l.trim().is_empty()),
            "no cell only for blank text"
        );
    }
    for pair in spans.windows(2) {
        assert!(pair[0].line < pair[1].line, "lines ascend: {pair:?}");
    }
    assert_eq!(
        Notebook::is_percent_script(&text),
        any_marker,
        "marker recognisers agree"
    );

    let notebook = Notebook::from_percent_script(&text);
    assert_eq!(notebook.cells.len(), spans.len());
    for (cell, span) in notebook.cells.iter().zip(&spans) {
        assert_eq!(cell.kind, span.kind);
        if cell.kind != CellKind::Markdown {
            assert_eq!(cell.source, text[span.body.clone()].trim_matches('\n'));
        }
    }

    let starts: Vec<(usize, CellKind)> = percent::cell_starts(&text)
        .iter()
        .map(|c| (c.line, c.kind))
        .collect();
    let core: Vec<(usize, CellKind)> = spans.iter().map(|s| (s.line, s.kind)).collect();
    assert_eq!(starts, core, "the LSP's cell starts are core's");
    let document = Document::Text(TextDocument::new(text.clone(), 1, "python"));
    let expected = if any_marker {
        notebook
    } else {
        Notebook::default()
    };
    assert_eq!(document.to_core(), expected);
});
