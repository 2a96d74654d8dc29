//! The LSP's notebook-sync model: arbitrary sequences of `notebookDocument/didOpen`,
//! `didChange` (cell insert, delete, move, arbitrary array changes with their `didOpen` and
//! `didClose`, kind changes, text edits, metadata) and `didClose`, plus `textDocument/*` for a
//! percent script and for cell URIs, with stale, repeated and out-of-range versions, positions
//! and array indices, in all three position encodings. They go through the server's own
//! `Session` and its `didChange` handlers (`didOpen`/`didClose` as their handlers do, minus
//! the worker and the client).
//!
//! Invariants: no panic; after every message the server's documents equal an oracle that
//! applies the same messages to plain strings (`Vec<String>` of cell texts, with kinds,
//! versions and languages); each text document's line index agrees with its text; every cell
//! of an open notebook resolves to its notebook and no other cell URI resolves; a close
//! returns every cell URI of the notebook; after closing everything the session holds nothing.
#![no_main]

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use coral_core::CellKind;
use coral_server::lsp::document::notebook::is_python;
use coral_server::lsp::document::{Document, NotebookDocument, TextDocument};
use coral_server::lsp::encoding::PositionEncoding;
use coral_server::lsp::handlers::{
    did_change::did_change, notebook_did_change::notebook_did_change,
};
use coral_server::lsp::session::{ClientSupport, Session};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use tower_lsp_server::ls_types::{
    DidChangeNotebookDocumentParams, DidChangeTextDocumentParams, DidOpenNotebookDocumentParams,
    LSPObject, NotebookCell, NotebookCellArrayChange, NotebookCellKind, NotebookDocumentCellChange,
    NotebookDocumentCellChangeStructure, NotebookDocumentChangeEvent,
    NotebookDocumentChangeTextContent, Position, Range, TextDocumentContentChangeEvent,
    TextDocumentIdentifier, TextDocumentItem, Uri, VersionedNotebookDocumentIdentifier,
    VersionedTextDocumentIdentifier,
};

const NOTEBOOKS: u8 = 3;
const CELL_IDS: u8 = 12;
const SCRIPT: &str = "file:///work/script.py";

/// Text pieces: multi-byte characters (2-byte, 3-byte, 4-byte/surrogate pairs), every line
/// ending, percent markers and code.
const PIECES: &[&str] = &[
    "import pandas as pd",
    "df = pd.read_csv('a.csv')",
    "df.head()",
    "x",
    "\n",
    "\r\n",
    "\r",
    "é",
    "€",
    "😀",
    "\u{200d}",
    "\t",
    " ",
    "# %%",
    "# %% [markdown]",
    "%matplotlib inline",
    "",
];

#[derive(Arbitrary, Debug, Clone)]
enum Text {
    Pieces(Vec<u8>),
    Raw(String),
}

impl Text {
    fn render(&self) -> String {
        match self {
            Text::Pieces(pieces) => pieces
                .iter()
                .take(64)
                .map(|&i| PIECES[usize::from(i) % PIECES.len()])
                .collect(),
            Text::Raw(text) => text.clone(),
        }
    }
}

/// A number that is usually small (in range) and sometimes anything.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Num {
    Small(u8),
    Any(u32),
}

impl Num {
    fn get(self) -> u32 {
        match self {
            Num::Small(n) => u32::from(n % 8),
            Num::Any(n) => n,
        }
    }
}

/// A version relative to the current one: the next, the same (stale), an older one, a jump,
/// or anything at all.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Version {
    Next,
    Same,
    Older(u8),
    Jump(u16),
    Any(i32),
}

impl Version {
    fn from(self, current: i32) -> i32 {
        match self {
            Version::Next => current.saturating_add(1),
            Version::Same => current,
            Version::Older(n) => current.saturating_sub(i32::from(n)),
            Version::Jump(n) => current.saturating_add(i32::from(n)),
            Version::Any(n) => n,
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Kind {
    Code,
    Markup,
    Other(i8),
}

impl Kind {
    fn get(self) -> NotebookCellKind {
        match self {
            Kind::Code => NotebookCellKind::CODE,
            Kind::Markup => NotebookCellKind::MARKUP,
            Kind::Other(n) => serde_json::from_value(json!(n)).expect("any i32 is a kind"),
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Language {
    Python,
    Markdown,
    R,
    Empty,
}

impl Language {
    fn id(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Markdown => "markdown",
            Language::R => "r",
            Language::Empty => "",
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
struct NewCell {
    id: u8,
    kind: Kind,
    language: Language,
    text: Text,
    version: i32,
    /// Whether the message carries the cell's text (a `didOpen` for it).
    with_text: bool,
}

#[derive(Arbitrary, Debug, Clone)]
struct Edit {
    /// None: replace the whole text.
    range: Option<(Num, Num, Num, Num)>,
    text: Text,
}

#[derive(Arbitrary, Debug, Clone)]
struct TextChange {
    /// A cell, by position in the notebook (or past it, naming a cell that is not there).
    cell: u8,
    version: Version,
    edits: Vec<Edit>,
}

#[derive(Arbitrary, Debug, Clone)]
struct Structure {
    start: Num,
    delete: Num,
    cells: Vec<(u8, Kind)>,
    did_open: Vec<NewCell>,
    did_close: Vec<u8>,
}

#[derive(Arbitrary, Debug, Clone)]
enum Op {
    Open {
        nb: u8,
        version: i32,
        cells: Vec<NewCell>,
        extra: Vec<NewCell>,
    },
    Close {
        nb: u8,
    },
    Insert {
        nb: u8,
        at: Num,
        cells: Vec<NewCell>,
        version: Version,
    },
    Delete {
        nb: u8,
        at: Num,
        count: Num,
        version: Version,
    },
    Move {
        nb: u8,
        from: u8,
        to: u8,
        version: Version,
    },
    Change {
        nb: u8,
        version: Version,
        structure: Option<Structure>,
        data: Vec<(u8, Kind)>,
        text: Vec<TextChange>,
        metadata: Option<Vec<(String, i8)>>,
    },
    /// `textDocument/didChange` sent for a cell URI (a confused client): must change nothing.
    CellAsText {
        nb: u8,
        cell: u8,
        version: i32,
        edits: Vec<Edit>,
    },
    OpenScript {
        version: i32,
        text: Text,
    },
    ChangeScript {
        version: Version,
        edits: Vec<Edit>,
    },
    CloseScript,
}

#[derive(Arbitrary, Debug)]
struct Input {
    encoding: u8,
    ops: Vec<Op>,
}

// ---- the oracle: plain strings ----

#[derive(Debug, Clone, PartialEq)]
struct OCell {
    uri: String,
    kind: NotebookCellKind,
    text: String,
    version: i32,
    language: String,
}

#[derive(Debug, Clone, PartialEq)]
struct ONotebook {
    version: i32,
    cells: Vec<OCell>,
    metadata: Option<LSPObject>,
}

#[derive(Debug, Clone, PartialEq)]
struct OText {
    text: String,
    version: i32,
}

#[derive(Default)]
struct Oracle {
    notebooks: HashMap<u8, ONotebook>,
    script: Option<OText>,
}

/// Byte offset of `character` units into `line`: past the end clamps to the end, inside a
/// character rounds down to its start.
fn oracle_column(line: &str, character: u32, encoding: PositionEncoding) -> usize {
    let mut units = 0u64;
    for (byte, ch) in line.char_indices() {
        let width = match encoding {
            PositionEncoding::Utf8 => ch.len_utf8(),
            PositionEncoding::Utf16 => ch.len_utf16(),
            PositionEncoding::Utf32 => 1,
        } as u64;
        if units + width > u64::from(character) {
            return byte;
        }
        units += width;
    }
    line.len()
}

/// Applies edits to a plain string, all or nothing: a line past the end or a reversed range
/// rejects the whole change. Lines end at `\n`; a `\r` before it is not part of the line.
fn oracle_apply(text: &str, edits: &[Edit], encoding: PositionEncoding) -> Option<String> {
    let mut text = text.to_owned();
    for edit in edits {
        let new = edit.text.render();
        let Some((sl, sc, el, ec)) = edit.range else {
            text = new;
            continue;
        };
        let offset = |line: u32, character: u32| -> Option<usize> {
            let mut start = 0;
            for (i, raw) in text.split('\n').enumerate() {
                if i == line as usize {
                    let content = raw.strip_suffix('\r').unwrap_or(raw);
                    return Some(start + oracle_column(content, character, encoding));
                }
                start += raw.len() + 1;
            }
            None
        };
        let start = offset(sl.get(), sc.get())?;
        let end = offset(el.get(), ec.get())?;
        if end < start {
            return None;
        }
        text = format!("{}{}{}", &text[..start], new, &text[end..]);
    }
    Some(text)
}

fn notebook_uri(nb: u8) -> Uri {
    format!("file:///work/nb{nb}.ipynb").parse().expect("a URI")
}

fn cell_uri(nb: u8, id: u8) -> Uri {
    format!("vscode-notebook-cell:/work/nb{nb}.ipynb#c{id}")
        .parse()
        .expect("a URI")
}

fn lsp_edits(edits: &[Edit]) -> Vec<TextDocumentContentChangeEvent> {
    edits
        .iter()
        .take(8)
        .map(|edit| TextDocumentContentChangeEvent {
            range: edit.range.map(|(sl, sc, el, ec)| {
                Range::new(
                    Position::new(sl.get(), sc.get()),
                    Position::new(el.get(), ec.get()),
                )
            }),
            range_length: None,
            text: edit.text.render(),
        })
        .collect()
}

fn item(nb: u8, cell: &NewCell) -> TextDocumentItem {
    TextDocumentItem::new(
        cell_uri(nb, cell.id % CELL_IDS),
        cell.language.id().to_owned(),
        cell.version,
        cell.text.render(),
    )
}

fn notebook_cell(nb: u8, id: u8, kind: Kind) -> NotebookCell {
    NotebookCell {
        kind: kind.get(),
        document: cell_uri(nb, id % CELL_IDS),
        metadata: None,
        execution_summary: None,
    }
}

/// One `notebookDocument/didChange` and the oracle's handling of it.
struct ChangeMsg {
    nb: u8,
    version: i32,
    start: u32,
    delete: u32,
    structure: Option<(Vec<NotebookCell>, Vec<TextDocumentItem>, Vec<Uri>)>,
    data: Vec<NotebookCell>,
    text: Vec<(Uri, i32, Vec<Edit>)>,
    metadata: Option<LSPObject>,
}

impl ChangeMsg {
    fn params(&self) -> DidChangeNotebookDocumentParams {
        DidChangeNotebookDocumentParams {
            notebook_document: VersionedNotebookDocumentIdentifier {
                version: self.version,
                uri: notebook_uri(self.nb),
            },
            change: NotebookDocumentChangeEvent {
                metadata: self.metadata.clone(),
                cells: Some(NotebookDocumentCellChange {
                    structure: self.structure.as_ref().map(|(cells, opened, closed)| {
                        NotebookDocumentCellChangeStructure {
                            array: NotebookCellArrayChange {
                                start: self.start,
                                delete_count: self.delete,
                                cells: Some(cells.clone()),
                            },
                            did_open: Some(opened.clone()),
                            did_close: Some(
                                closed
                                    .iter()
                                    .cloned()
                                    .map(TextDocumentIdentifier::new)
                                    .collect(),
                            ),
                        }
                    }),
                    data: Some(self.data.clone()),
                    text_content: Some(
                        self.text
                            .iter()
                            .map(|(uri, version, edits)| NotebookDocumentChangeTextContent {
                                document: VersionedTextDocumentIdentifier::new(
                                    uri.clone(),
                                    *version,
                                ),
                                changes: lsp_edits(edits),
                            })
                            .collect(),
                    ),
                }),
            },
        }
    }
}

impl Oracle {
    fn open(&mut self, params: &DidOpenNotebookDocumentParams, nb: u8) {
        let mut texts: HashMap<&str, &TextDocumentItem> = HashMap::new();
        for item in &params.cell_text_documents {
            texts.insert(item.uri.as_str(), item);
        }
        let cells = params
            .notebook_document
            .cells
            .iter()
            .map(|cell| {
                let (text, version, language) = match texts.remove(cell.document.as_str()) {
                    Some(item) => (item.text.clone(), item.version, item.language_id.clone()),
                    None => (String::new(), 0, String::new()),
                };
                OCell {
                    uri: cell.document.as_str().to_owned(),
                    kind: cell.kind.clone(),
                    text,
                    version,
                    language,
                }
            })
            .collect();
        self.notebooks.insert(
            nb,
            ONotebook {
                version: params.notebook_document.version,
                cells,
                metadata: params.notebook_document.metadata.clone(),
            },
        );
    }

    fn change(&mut self, msg: &ChangeMsg, encoding: PositionEncoding) {
        let Some(nb) = self.notebooks.get_mut(&msg.nb) else {
            return;
        };
        if msg.version <= nb.version {
            return;
        }
        if let Some((inserted, opened, _closed)) = &msg.structure {
            let mut opened_by_uri: HashMap<String, TextDocumentItem> = HashMap::new();
            for item in opened {
                opened_by_uri.insert(item.uri.as_str().to_owned(), item.clone());
            }
            let len = nb.cells.len();
            let start = (msg.start as usize).min(len);
            let end = start.saturating_add(msg.delete as usize).min(len);
            let mut removed: HashMap<String, OCell> = HashMap::new();
            for cell in nb.cells.drain(start..end) {
                removed.insert(cell.uri.clone(), cell);
            }
            let mut new_cells: Vec<OCell> = Vec::new();
            for cell in inserted {
                let uri = cell.document.as_str().to_owned();
                let (text, version, language) = if let Some(item) = opened_by_uri.remove(&uri) {
                    (item.text, item.version, item.language_id)
                } else if let Some(moved) = removed.remove(&uri) {
                    (moved.text, moved.version, moved.language)
                } else {
                    (String::new(), 0, String::new())
                };
                new_cells.push(OCell {
                    uri,
                    kind: cell.kind.clone(),
                    text,
                    version,
                    language,
                });
            }
            nb.cells
                .retain(|c| !new_cells.iter().any(|n| n.uri == c.uri));
            let at = start.min(nb.cells.len());
            nb.cells.splice(at..at, new_cells);
            for (uri, item) in opened_by_uri {
                if let Some(cell) = nb.cells.iter_mut().find(|c| c.uri == uri) {
                    cell.text = item.text;
                    cell.version = item.version;
                    cell.language = item.language_id;
                }
            }
        }
        for data in &msg.data {
            if let Some(cell) = nb
                .cells
                .iter_mut()
                .find(|c| c.uri == data.document.as_str())
            {
                cell.kind = data.kind.clone();
            }
        }
        for (uri, version, edits) in &msg.text {
            let Some(cell) = nb.cells.iter_mut().find(|c| c.uri == uri.as_str()) else {
                continue;
            };
            if *version <= cell.version && cell.version > 0 {
                continue;
            }
            if let Some(text) = oracle_apply(&cell.text, &edits[..edits.len().min(8)], encoding) {
                cell.text = text;
                cell.version = *version;
            }
        }
        if let Some(metadata) = &msg.metadata {
            nb.metadata = Some(metadata.clone());
        }
        nb.version = msg.version;
    }
}

// ---- comparing the server with the oracle ----

fn check_text(document: &TextDocument) {
    let text = document.text();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(document.line_count(), lines.len(), "line index of {text:?}");
    for (i, raw) in lines.iter().enumerate() {
        let content = raw.strip_suffix('\r').unwrap_or(raw);
        assert_eq!(document.line(i), Some(content), "line {i} of {text:?}");
    }
    assert_eq!(document.line(lines.len()), None);
}

fn core_kind(cell: &OCell) -> CellKind {
    if cell.kind == NotebookCellKind::MARKUP {
        CellKind::Markdown
    } else if cell.kind == NotebookCellKind::CODE && is_python(&cell.language) {
        CellKind::Code
    } else {
        CellKind::Raw
    }
}

fn compare(session: &Session, oracle: &Oracle) {
    for nb in 0..NOTEBOOKS {
        let key = notebook_uri(nb);
        let expected = oracle.notebooks.get(&nb);
        assert_eq!(session.is_open(&key), expected.is_some(), "nb{nb} open");
        let Some(expected) = expected else {
            for id in 0..CELL_IDS {
                assert_eq!(
                    session.key_for(&cell_uri(nb, id)),
                    None,
                    "closed nb{nb}'s cell {id}"
                );
            }
            continue;
        };
        let document = session
            .with_document(&key, |state| state.document.clone())
            .expect("an open notebook");
        let Document::Notebook(notebook) = &document else {
            panic!("nb{nb} is no notebook")
        };
        assert_eq!(notebook.version(), expected.version, "nb{nb} version");
        assert_eq!(
            notebook.metadata(),
            expected.metadata.as_ref(),
            "nb{nb} metadata"
        );
        let got: Vec<OCell> = notebook
            .cells()
            .iter()
            .map(|c| OCell {
                uri: c.uri.as_str().to_owned(),
                kind: c.kind.clone(),
                text: c.document.text().to_owned(),
                version: c.document.version(),
                language: c.document.language_id().to_owned(),
            })
            .collect();
        assert_eq!(got, expected.cells, "nb{nb} cells");
        for cell in notebook.cells() {
            check_text(&cell.document);
        }
        let core = document.to_core();
        let kinds: Vec<CellKind> = core.cells.iter().map(|c| c.kind).collect();
        let want: Vec<CellKind> = expected.cells.iter().map(core_kind).collect();
        assert_eq!(kinds, want, "nb{nb} core kinds");
        for id in 0..CELL_IDS {
            let uri = cell_uri(nb, id);
            let inside = expected.cells.iter().any(|c| c.uri == uri.as_str());
            assert_eq!(
                session.key_for(&uri),
                inside.then(|| key.clone()),
                "nb{nb} cell {id}"
            );
        }
        assert!(session.snapshot(&key).is_some());
    }
    let script: Uri = SCRIPT.parse().expect("a URI");
    match &oracle.script {
        None => assert!(!session.is_open(&script)),
        Some(expected) => {
            let document = session
                .with_document(&script, |state| state.document.clone())
                .expect("the script is open");
            let text = document.text_document().expect("a text document");
            assert_eq!(
                (text.text(), text.version()),
                (expected.text.as_str(), expected.version)
            );
            check_text(text);
            assert!(session.snapshot(&script).is_some());
        }
    }
}

fn session() -> &'static Arc<Session> {
    static SESSION: OnceLock<Arc<Session>> = OnceLock::new();
    SESSION.get_or_init(|| Arc::new(Session::new(Default::default())))
}

/// What the target sends, in order, as JSON `{method, params}`: the regression fixture, and
/// what a replay of it must end with (the oracle's cell texts).
struct Log {
    encoding: &'static str,
    messages: Vec<Value>,
}

impl Log {
    fn push(&mut self, method: &str, params: &impl serde::Serialize) {
        if coral_fuzz::dumping() {
            self.messages
                .push(json!({"method": method, "params": params}));
        }
    }

    fn write(&self, oracle: &Oracle) {
        if !coral_fuzz::dumping() {
            return;
        }
        let mut notebooks: Vec<(u8, Vec<&str>)> = oracle
            .notebooks
            .iter()
            .map(|(nb, n)| (*nb, n.cells.iter().map(|c| c.text.as_str()).collect()))
            .collect();
        notebooks.sort_unstable();
        let expected: serde_json::Map<String, Value> = notebooks
            .into_iter()
            .map(|(nb, texts)| (notebook_uri(nb).as_str().to_owned(), json!(texts)))
            .collect();
        let fixture = json!({
            "encoding": self.encoding,
            "messages": self.messages,
            "expected_cells": expected,
        });
        coral_fuzz::dump(&serde_json::to_vec_pretty(&fixture).expect("serialises"));
    }
}

fuzz_target!(|input: Input| {
    let session = session();
    let encoding = match input.encoding % 3 {
        0 => PositionEncoding::Utf16,
        1 => PositionEncoding::Utf8,
        _ => PositionEncoding::Utf32,
    };
    session.set_support(ClientSupport {
        encoding,
        ..ClientSupport::default()
    });
    let mut oracle = Oracle::default();
    let mut log = Log {
        encoding: match encoding {
            PositionEncoding::Utf8 => "utf-8",
            PositionEncoding::Utf16 => "utf-16",
            PositionEncoding::Utf32 => "utf-32",
        },
        messages: Vec::new(),
    };
    let script: Uri = SCRIPT.parse().expect("a URI");

    for op in input.ops.iter().take(48) {
        match op {
            Op::Open {
                nb,
                version,
                cells,
                extra,
            } => {
                let nb = nb % NOTEBOOKS;
                let cells: Vec<&NewCell> = cells.iter().take(CELL_IDS.into()).collect();
                let params = DidOpenNotebookDocumentParams {
                    notebook_document: tower_lsp_server::ls_types::NotebookDocument {
                        uri: notebook_uri(nb),
                        notebook_type: "jupyter-notebook".to_owned(),
                        version: *version,
                        metadata: None,
                        cells: cells
                            .iter()
                            .map(|c| notebook_cell(nb, c.id, c.kind))
                            .collect(),
                    },
                    cell_text_documents: cells
                        .iter()
                        .copied()
                        .chain(extra.iter().take(4))
                        .filter(|c| c.with_text)
                        .map(|c| item(nb, c))
                        .collect(),
                };
                log.push("notebookDocument/didOpen", &params);
                oracle.open(&params, nb);
                // As the handler does, minus the worker.
                let key = params.notebook_document.uri.clone();
                drop(session.open(key, Document::Notebook(NotebookDocument::open(params))));
            }
            Op::Close { nb } => {
                let nb = nb % NOTEBOOKS;
                log.push(
                    "notebookDocument/didClose",
                    &json!({"notebookDocument": {"uri": notebook_uri(nb)}}),
                );
                let cleared = session.close(&notebook_uri(nb));
                match oracle.notebooks.remove(&nb) {
                    None => assert!(cleared.is_none(), "closing nb{nb}, which is not open"),
                    Some(expected) => {
                        let cleared = cleared.expect("an open notebook closes");
                        for cell in &expected.cells {
                            assert!(
                                cleared.iter().any(|u| u.as_str() == cell.uri),
                                "{} cleared",
                                cell.uri
                            );
                        }
                    }
                }
            }
            Op::OpenScript { version, text } => {
                let text = text.render();
                log.push(
                    "textDocument/didOpen",
                    &json!({"textDocument": {"uri": SCRIPT,
                    "languageId": "python", "version": version, "text": text}}),
                );
                oracle.script = Some(OText {
                    text: text.clone(),
                    version: *version,
                });
                drop(session.open(
                    script.clone(),
                    Document::Text(TextDocument::new(text, *version, "python")),
                ));
            }
            Op::ChangeScript { version, edits } => {
                let current = oracle.script.as_ref().map_or(0, |s| s.version);
                let version = version.from(current);
                let params = DidChangeTextDocumentParams {
                    text_document: VersionedTextDocumentIdentifier::new(script.clone(), version),
                    content_changes: lsp_edits(edits),
                };
                log.push("textDocument/didChange", &params);
                did_change(session, params);
                if let Some(expected) = &mut oracle.script {
                    if version > expected.version {
                        if let Some(text) =
                            oracle_apply(&expected.text, &edits[..edits.len().min(8)], encoding)
                        {
                            expected.text = text;
                            expected.version = version;
                        }
                    }
                }
            }
            Op::CloseScript => {
                log.push(
                    "textDocument/didClose",
                    &json!({"textDocument": {"uri": SCRIPT}}),
                );
                let cleared = session.close(&script);
                assert_eq!(cleared.is_some(), oracle.script.take().is_some());
            }
            Op::CellAsText {
                nb,
                cell,
                version,
                edits,
            } => {
                let nb = nb % NOTEBOOKS;
                let params = DidChangeTextDocumentParams {
                    text_document: VersionedTextDocumentIdentifier::new(
                        cell_uri(nb, cell % CELL_IDS),
                        *version,
                    ),
                    content_changes: lsp_edits(edits),
                };
                log.push("textDocument/didChange", &params);
                did_change(session, params);
            }
            Op::Insert { .. } | Op::Delete { .. } | Op::Move { .. } | Op::Change { .. } => {
                let msg = change_message(op, &oracle);
                let params = msg.params();
                log.push("notebookDocument/didChange", &params);
                oracle.change(&msg, encoding);
                notebook_did_change(session, params);
            }
        }
        log.write(&oracle);
        compare(session, &oracle);
    }

    for nb in 0..NOTEBOOKS {
        drop(session.close(&notebook_uri(nb)));
    }
    drop(session.close(&script));
    assert!(
        session.open_documents().is_empty(),
        "closing gives everything back"
    );
    for nb in 0..NOTEBOOKS {
        for id in 0..CELL_IDS {
            assert_eq!(
                session.key_for(&cell_uri(nb, id)),
                None,
                "nb{nb} cell {id} forgotten"
            );
        }
    }
});

/// Builds the `didChange` for one of the change operations, from the oracle's view of the
/// notebook (so that inserts, deletes and moves are well formed and versions are relative).
fn change_message(op: &Op, oracle: &Oracle) -> ChangeMsg {
    let (nb, version) = match op {
        Op::Insert { nb, version, .. }
        | Op::Delete { nb, version, .. }
        | Op::Move { nb, version, .. }
        | Op::Change { nb, version, .. } => (nb % NOTEBOOKS, *version),
        _ => unreachable!("only change operations"),
    };
    let current = oracle.notebooks.get(&nb);
    let cells: Vec<OCell> = current.map(|n| n.cells.clone()).unwrap_or_default();
    let mut msg = ChangeMsg {
        nb,
        version: version.from(current.map_or(0, |n| n.version)),
        start: 0,
        delete: 0,
        structure: None,
        data: Vec::new(),
        text: Vec::new(),
        metadata: None,
    };
    let uri_of = |cell: &OCell| -> Uri { cell.uri.parse().expect("a URI") };
    match op {
        Op::Insert { at, cells: new, .. } => {
            msg.start = at.get();
            let new: Vec<&NewCell> = new.iter().take(4).collect();
            msg.structure = Some((
                new.iter()
                    .map(|c| notebook_cell(nb, c.id, c.kind))
                    .collect(),
                new.iter()
                    .filter(|c| c.with_text)
                    .map(|c| item(nb, c))
                    .collect(),
                Vec::new(),
            ));
        }
        Op::Delete { at, count, .. } => {
            msg.start = at.get();
            msg.delete = count.get();
            let closed = cells
                .iter()
                .skip(msg.start as usize)
                .take(msg.delete as usize)
                .map(uri_of)
                .collect();
            msg.structure = Some((Vec::new(), Vec::new(), closed));
        }
        Op::Move { from, to, .. } => {
            // As VS Code sends a move: one array change over the span, in the new order.
            if !cells.is_empty() {
                let from = usize::from(*from) % cells.len();
                let to = usize::from(*to) % cells.len();
                let (low, high) = (from.min(to), from.max(to));
                let mut span: Vec<OCell> = cells[low..=high].to_vec();
                if from < to {
                    span.rotate_left(1);
                } else {
                    span.rotate_right(1);
                }
                msg.start = low as u32;
                msg.delete = (high - low + 1) as u32;
                let moved = span
                    .iter()
                    .map(|c| NotebookCell {
                        kind: c.kind.clone(),
                        document: uri_of(c),
                        metadata: None,
                        execution_summary: None,
                    })
                    .collect();
                msg.structure = Some((moved, Vec::new(), Vec::new()));
            }
        }
        Op::Change {
            structure,
            data,
            text,
            metadata,
            ..
        } => {
            if let Some(s) = structure {
                msg.start = s.start.get();
                msg.delete = s.delete.get();
                msg.structure = Some((
                    s.cells
                        .iter()
                        .take(6)
                        .map(|&(id, kind)| notebook_cell(nb, id, kind))
                        .collect(),
                    s.did_open.iter().take(6).map(|c| item(nb, c)).collect(),
                    s.did_close
                        .iter()
                        .take(6)
                        .map(|&id| cell_uri(nb, id % CELL_IDS))
                        .collect(),
                ));
            }
            msg.data = data
                .iter()
                .take(4)
                .map(|&(id, kind)| notebook_cell(nb, id, kind))
                .collect();
            for change in text.iter().take(4) {
                // A cell by position; past the end it names a cell id that may not be there.
                let position = usize::from(change.cell);
                let (uri, cell_version) = match cells.get(position) {
                    Some(cell) => (uri_of(cell), cell.version),
                    None => (cell_uri(nb, change.cell % CELL_IDS), 0),
                };
                msg.text
                    .push((uri, change.version.from(cell_version), change.edits.clone()));
            }
            msg.metadata = metadata.as_ref().map(|pairs| {
                pairs
                    .iter()
                    .take(4)
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect()
            });
        }
        _ => unreachable!("only change operations"),
    }
    msg
}
