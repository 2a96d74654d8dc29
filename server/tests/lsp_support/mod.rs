//! A small LSP client for in-process tests: the server runs on an in-memory duplex pipe and
//! this side speaks JSON-RPC to it, answering the server's requests like an editor would.

#![allow(dead_code, clippy::missing_panics_doc)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{
    AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf,
};
use tokio::sync::mpsc;

use coral_server::engine::EngineConfig;

/// How long to wait for the server before a test fails.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Reads framed JSON-RPC messages from `reader` into a channel.
async fn read_messages<R: tokio::io::AsyncRead + Unpin>(
    reader: R,
    tx: mpsc::UnboundedSender<Value>,
) {
    let mut reader = BufReader::new(reader);
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length:") {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let Some(length) = length else { return };
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let Ok(message) = serde_json::from_slice::<Value>(&body) else {
            return;
        };
        if tx.send(message).is_err() {
            return;
        }
    }
}

/// The client side.
pub struct TestClient<W> {
    writer: W,
    incoming: mpsc::UnboundedReceiver<Value>,
    next_id: i64,
    /// Latest diagnostics per URI.
    pub diagnostics: BTreeMap<String, Vec<Value>>,
    /// Every publishDiagnostics, in order: (uri, number of diagnostics).
    pub published: Vec<(String, usize)>,
    /// `workspace/inlayHint/refresh` requests seen.
    pub refreshes: usize,
    /// `window/logMessage` texts.
    pub log: Vec<String>,
    /// What `workspace/configuration` answers.
    pub configuration: Value,
    /// Responses that arrived while waiting for something else.
    responses: HashMap<i64, Value>,
}

/// A server on an in-memory pipe and a client talking to it.
pub fn start(engine: EngineConfig) -> TestClient<WriteHalf<DuplexStream>> {
    let (client_io, server_io) = tokio::io::duplex(1 << 22);
    let (server_read, server_write) = tokio::io::split(server_io);
    let (service, socket) = coral_server::lsp::service(engine);
    tokio::spawn(tower_lsp_server::Server::new(server_read, server_write, socket).serve(service));
    let (client_read, client_write): (ReadHalf<DuplexStream>, _) = tokio::io::split(client_io);
    TestClient::new(client_read, client_write)
}

/// A heuristics-only engine (so results do not depend on whether a model ships).
pub fn heuristics() -> EngineConfig {
    EngineConfig {
        use_model: false,
        ..EngineConfig::default()
    }
}

impl<W: tokio::io::AsyncWrite + Unpin> TestClient<W> {
    pub fn new<R: tokio::io::AsyncRead + Unpin + Send + 'static>(reader: R, writer: W) -> Self {
        let (tx, incoming) = mpsc::unbounded_channel();
        tokio::spawn(read_messages(reader, tx));
        TestClient {
            writer,
            incoming,
            next_id: 0,
            diagnostics: BTreeMap::new(),
            published: Vec::new(),
            refreshes: 0,
            log: Vec::new(),
            configuration: Value::Null,
            responses: HashMap::new(),
        }
    }

    async fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).expect("json");
        let header = format!("Content-Length: {}\r\n\r\n", body.len());
        self.writer
            .write_all(header.as_bytes())
            .await
            .expect("write");
        self.writer.write_all(&body).await.expect("write");
        self.writer.flush().await.expect("flush");
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Sends a request and returns its response (`result` or `error` object).
    pub async fn request_raw(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            if let Some(response) = self.responses.remove(&id) {
                return response;
            }
            let message = self.next().await;
            self.handle(message).await;
        }
    }

    /// Sends a request; panics on an error response.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.request_raw(method, params).await;
        assert!(response.get("error").is_none(), "{method}: {response}");
        response.get("result").cloned().unwrap_or(Value::Null)
    }

    async fn next(&mut self) -> Value {
        tokio::time::timeout(TIMEOUT, self.incoming.recv())
            .await
            .expect("the server answered in time")
            .expect("the server is alive")
    }

    /// Handles one message from the server: responses are kept, requests answered,
    /// notifications recorded.
    async fn handle(&mut self, message: Value) {
        let method = message
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let id = message.get("id").cloned();
        match (method.as_deref(), id) {
            (None, Some(id)) => {
                if let Some(id) = id.as_i64() {
                    self.responses.insert(id, message);
                }
            }
            (Some(method), Some(id)) => {
                let result = match method {
                    "workspace/configuration" => {
                        let n = message
                            .pointer("/params/items")
                            .and_then(Value::as_array)
                            .map_or(1, Vec::len);
                        Value::Array(vec![self.configuration.clone(); n])
                    }
                    "workspace/inlayHint/refresh" => {
                        self.refreshes += 1;
                        Value::Null
                    }
                    _ => Value::Null,
                };
                self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}))
                    .await;
            }
            (Some("textDocument/publishDiagnostics"), None) => {
                let uri = message
                    .pointer("/params/uri")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let list = message
                    .pointer("/params/diagnostics")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                self.published.push((uri.clone(), list.len()));
                self.diagnostics.insert(uri, list);
            }
            (Some("window/logMessage"), None) => {
                if let Some(text) = message.pointer("/params/message").and_then(Value::as_str) {
                    self.log.push(text.to_owned());
                }
            }
            _ => {}
        }
    }

    /// Handles messages until the server has sent `n` more inlay hint refreshes (each marks
    /// the end of one labelling result).
    pub async fn wait_refreshes(&mut self, n: usize) {
        let target = self.refreshes + n;
        while self.refreshes < target {
            let message = self.next().await;
            self.handle(message).await;
        }
    }

    /// Handles whatever arrives within `window`.
    pub async fn drain(&mut self, window: Duration) {
        while let Ok(Some(message)) = tokio::time::timeout(window, self.incoming.recv()).await {
            self.handle(message).await;
        }
    }

    /// `initialize` + `initialized` with a VS Code-like set of capabilities.
    pub async fn initialize(&mut self, options: Value, encodings: &[&str]) -> Value {
        self.initialize_in(None, options, encodings).await
    }

    /// [`TestClient::initialize`] with `folder` as the workspace folder.
    pub async fn initialize_in(
        &mut self,
        folder: Option<&std::path::Path>,
        options: Value,
        encodings: &[&str],
    ) -> Value {
        let folders = folder
            .map(|f| json!([{"uri": format!("file://{}", f.display()), "name": "workspace"}]));
        let result = self
            .request(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": null,
                    "workspaceFolders": folders,
                    "capabilities": {
                        "general": {"positionEncodings": encodings},
                        "workspace": {
                            "configuration": true,
                            "inlayHint": {"refreshSupport": true},
                            "didChangeConfiguration": {"dynamicRegistration": true},
                            "didChangeWatchedFiles": {"dynamicRegistration": true}
                        },
                        "textDocument": {"inlayHint": {}, "hover": {"contentFormat": ["markdown"]}},
                        "notebookDocument": {"synchronization": {}}
                    },
                    "initializationOptions": options
                }),
            )
            .await;
        self.notify("initialized", json!({})).await;
        result
    }

    pub async fn shutdown(&mut self) {
        self.request("shutdown", Value::Null).await;
        self.notify("exit", Value::Null).await;
    }

    pub async fn inlay_hints(&mut self, uri: &str, lines: u32) -> Value {
        self.request(
            "textDocument/inlayHint",
            json!({"textDocument": {"uri": uri},
                   "range": {"start": {"line": 0, "character": 0}, "end": {"line": lines, "character": 0}}}),
        )
        .await
    }

    pub async fn hover(&mut self, uri: &str, line: u32, character: u32) -> Value {
        self.request_raw(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )
        .await
    }
}

/// A notebook held on the client side, with helpers that make the notifications an editor
/// would send.
pub struct ClientNotebook {
    pub uri: String,
    pub version: i32,
    /// (cell uri, kind, text, version)
    pub cells: Vec<(String, &'static str, String, i32)>,
    next_cell: usize,
}

impl ClientNotebook {
    /// From an .ipynb in the repository (path relative to the workspace root).
    pub fn from_ipynb(path: &str) -> ClientNotebook {
        let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(path);
        let bytes = std::fs::read(&full).expect("example notebook");
        let notebook = coral_core::Notebook::from_ipynb(&bytes).expect("valid notebook");
        let name = std::path::Path::new(path)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("nb.ipynb")
            .to_owned();
        let mut nb = ClientNotebook {
            uri: format!("file:///work/{name}"),
            version: 1,
            cells: Vec::new(),
            next_cell: 0,
        };
        for cell in notebook.cells {
            let kind = match cell.kind {
                coral_core::CellKind::Code => "code",
                _ => "markdown",
            };
            nb.push(kind, &cell.source);
        }
        nb
    }

    fn new_cell_uri(&mut self) -> String {
        let uri = format!("vscode-notebook-cell:/work/nb.ipynb#c{}", self.next_cell);
        self.next_cell += 1;
        uri
    }

    fn push(&mut self, kind: &'static str, text: &str) {
        let uri = self.new_cell_uri();
        self.cells.push((uri, kind, text.to_owned(), 1));
    }

    pub fn cell_uri(&self, index: usize) -> String {
        self.cells[index].0.clone()
    }

    fn lsp_cell(uri: &str, kind: &str) -> Value {
        json!({"kind": if kind == "code" { 2 } else { 1 }, "document": uri})
    }

    fn item(uri: &str, kind: &str, text: &str, version: i32) -> Value {
        json!({"uri": uri, "languageId": if kind == "code" { "python" } else { "markdown" },
               "version": version, "text": text})
    }

    pub fn did_open(&self) -> Value {
        json!({
            "notebookDocument": {
                "uri": self.uri, "notebookType": "jupyter-notebook", "version": self.version,
                "cells": self.cells.iter().map(|(u, k, _, _)| Self::lsp_cell(u, k)).collect::<Vec<_>>()
            },
            "cellTextDocuments": self.cells.iter().map(|(u, k, t, v)| Self::item(u, k, t, *v)).collect::<Vec<_>>()
        })
    }

    /// Replaces a cell's whole text (as a ranged edit over all of it).
    pub fn set_text(&mut self, index: usize, text: &str) -> Value {
        self.version += 1;
        let cell = &mut self.cells[index];
        cell.3 += 1;
        let old = std::mem::replace(&mut cell.2, text.to_owned());
        let lines: Vec<&str> = old.split('\n').collect();
        let last = lines.last().map_or(0, |l| l.encode_utf16().count());
        json!({
            "notebookDocument": {"uri": self.uri, "version": self.version},
            "change": {"cells": {"textContent": [{
                "document": {"uri": cell.0, "version": cell.3},
                "changes": [{"range": {"start": {"line": 0, "character": 0},
                                       "end": {"line": lines.len() - 1, "character": last}},
                             "text": text}]
            }]}}
        })
    }

    /// Inserts a new cell at `index`.
    pub fn insert(&mut self, index: usize, kind: &'static str, text: &str) -> Value {
        self.version += 1;
        let uri = self.new_cell_uri();
        self.cells
            .insert(index, (uri.clone(), kind, text.to_owned(), 1));
        json!({
            "notebookDocument": {"uri": self.uri, "version": self.version},
            "change": {"cells": {"structure": {
                "array": {"start": index, "deleteCount": 0, "cells": [Self::lsp_cell(&uri, kind)]},
                "didOpen": [Self::item(&uri, kind, text, 1)]
            }}}
        })
    }

    /// Moves the cell at `from` to `to`, the way VS Code reports it: one array change over
    /// the affected span, no didOpen/didClose.
    pub fn move_cell(&mut self, from: usize, to: usize) -> Value {
        self.version += 1;
        let cell = self.cells.remove(from);
        self.cells.insert(to, cell);
        let (start, end) = (from.min(to), from.max(to) + 1);
        json!({
            "notebookDocument": {"uri": self.uri, "version": self.version},
            "change": {"cells": {"structure": {
                "array": {"start": start, "deleteCount": end - start,
                          "cells": self.cells[start..end].iter().map(|(u, k, _, _)| Self::lsp_cell(u, k)).collect::<Vec<_>>()}
            }}}
        })
    }

    /// Deletes the cell at `index`.
    pub fn delete(&mut self, index: usize) -> Value {
        self.version += 1;
        let (uri, _, _, _) = self.cells.remove(index);
        json!({
            "notebookDocument": {"uri": self.uri, "version": self.version},
            "change": {"cells": {"structure": {
                "array": {"start": index, "deleteCount": 1},
                "didClose": [{"uri": uri}]
            }}}
        })
    }

    pub fn did_close(&self) -> Value {
        json!({
            "notebookDocument": {"uri": self.uri},
            "cellTextDocuments": self.cells.iter().map(|(u, _, _, _)| json!({"uri": u})).collect::<Vec<_>>()
        })
    }
}

/// A readable picture of what the editor shows: per cell, its first line, hint and
/// diagnostics.
pub async fn render<W: tokio::io::AsyncWrite + Unpin>(
    client: &mut TestClient<W>,
    nb: &ClientNotebook,
) -> String {
    let mut out = String::new();
    for (i, (uri, kind, text, _)) in nb.cells.clone().iter().enumerate() {
        let first = text.lines().next().unwrap_or("");
        let first: String = first.chars().take(48).collect();
        let hints = client.inlay_hints(uri, 1000).await;
        let hint = hints
            .as_array()
            .and_then(|h| h.first())
            .map(|h| {
                format!(
                    "  ⟵ {} @{}:{}",
                    h["label"].as_str().unwrap_or("?"),
                    h["position"]["line"],
                    h["position"]["character"]
                )
            })
            .unwrap_or_default();
        let short = uri.rsplit('#').next().unwrap_or(uri);
        let _ = writeln!(out, "[{i}] {short} {kind:<8} {first}{hint}");
        for d in client.diagnostics.get(uri).cloned().unwrap_or_default() {
            let _ = writeln!(
                out,
                "      {} {} {}",
                match d["severity"].as_i64() {
                    Some(1) => "error",
                    Some(2) => "warning",
                    Some(3) => "info",
                    _ => "hint",
                },
                d["code"].as_str().unwrap_or(""),
                d["message"].as_str().unwrap_or("")
            );
        }
    }
    out
}
