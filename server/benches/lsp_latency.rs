//! Latency of the language server on a notebook edit: a 100-cell notebook is opened, then one
//! code cell at a time is changed and the time from sending `notebookDocument/didChange` to
//! receiving `textDocument/publishDiagnostics` for that cell is measured (debounce 0).
//!
//! Runs the built `coral-lsp` as an editor would (a process on stdio), and — side by side, in
//! the same run — `ruff server` when it is on PATH (or `$RUFF`), which also publishes
//! diagnostics on notebook edits. Prints p50/p95/p99 and each server's peak memory.
//!
//! ```text
//! cargo bench -p coral-server --bench lsp_latency            # 200 edits
//! LSP_BENCH_EDITS=1000 cargo bench -p coral-server --bench lsp_latency
//! CORAL_LSP=target/release/coral-lsp RUFF=.venv/bin/ruff cargo bench ...
//! ```

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::needless_pass_by_value
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const CELLS: usize = 100;
const WARMUP: usize = 10;
const TIMEOUT: Duration = Duration::from_secs(30);

struct Message {
    at: Instant,
    body: Value,
}

/// An LSP server process and a minimal client for it.
struct Lsp {
    name: String,
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    incoming: Receiver<Message>,
    next_id: i64,
    log: Vec<String>,
}

fn send(stdin: &Mutex<ChildStdin>, message: &Value) {
    let body = serde_json::to_vec(message).unwrap();
    let mut stdin = stdin.lock().unwrap();
    let _ = write!(stdin, "Content-Length: {}\r\n\r\n", body.len());
    let _ = stdin.write_all(&body);
    let _ = stdin.flush();
}

impl Lsp {
    fn spawn(name: &str, program: &str, args: &[&str]) -> Option<Lsp> {
        let mut child = Command::new(program)
            .args(args)
            .env("CORAL_LOG", "warn")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdin = Arc::new(Mutex::new(child.stdin.take()?));
        let stdout = child.stdout.take()?;
        let (tx, incoming) = mpsc::channel();
        let answer = stdin.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length:") {
                        length = v.trim().parse::<usize>().ok();
                    }
                }
                let Some(length) = length else { return };
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let at = Instant::now();
                let Ok(body) = serde_json::from_slice::<Value>(&body) else {
                    return;
                };
                // Answer the server's requests at once (configuration, refresh, registration).
                if let (Some(id), Some(method)) =
                    (body.get("id"), body.get("method").and_then(Value::as_str))
                {
                    let result = if method == "workspace/configuration" {
                        let n = body
                            .pointer("/params/items")
                            .and_then(Value::as_array)
                            .map_or(1, Vec::len);
                        Value::Array(vec![Value::Null; n])
                    } else {
                        Value::Null
                    };
                    send(
                        &answer,
                        &json!({"jsonrpc": "2.0", "id": id, "result": result}),
                    );
                }
                if tx.send(Message { at, body }).is_err() {
                    return;
                }
            }
        });
        Some(Lsp {
            name: name.to_owned(),
            child,
            stdin,
            incoming,
            next_id: 0,
            log: Vec::new(),
        })
    }

    fn notify(&self, method: &str, params: Value) {
        send(
            &self.stdin,
            &json!({"jsonrpc": "2.0", "method": method, "params": params}),
        );
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        send(
            &self.stdin,
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        );
        loop {
            let message = self.recv().expect("response");
            if message.body.get("id").and_then(Value::as_i64) == Some(id)
                && message.body.get("method").is_none()
            {
                return message.body.get("result").cloned().unwrap_or(Value::Null);
            }
        }
    }

    fn recv(&mut self) -> Option<Message> {
        match self.incoming.recv_timeout(TIMEOUT) {
            Ok(message) => {
                if message.body.get("method").and_then(Value::as_str) == Some("window/logMessage") {
                    if let Some(text) = message
                        .body
                        .pointer("/params/message")
                        .and_then(Value::as_str)
                    {
                        self.log.push(text.to_owned());
                    }
                }
                Some(message)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Waits for publishDiagnostics for `uri`; returns when it arrived.
    fn wait_diagnostics(&mut self, uri: &str) -> Option<Instant> {
        loop {
            let message = self.recv()?;
            if message.body.get("method").and_then(Value::as_str)
                == Some("textDocument/publishDiagnostics")
                && message.body.pointer("/params/uri").and_then(Value::as_str) == Some(uri)
            {
                return Some(message.at);
            }
        }
    }

    fn drain(&mut self, quiet: Duration) {
        while let Ok(message) = self.incoming.recv_timeout(quiet) {
            drop(message);
        }
    }

    fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    fn stop(mut self) {
        self.next_id += 1;
        send(
            &self.stdin,
            &json!({"jsonrpc": "2.0", "id": self.next_id, "method": "shutdown"}),
        );
        std::thread::sleep(Duration::from_millis(100));
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// 100 cells cycled from the example notebooks (code and markdown).
fn notebook_cells() -> Vec<(bool, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut pool = Vec::new();
    for name in [
        "titanic_classifier.ipynb",
        "regression_no_eval.ipynb",
        "sales_exploration.ipynb",
    ] {
        if let Ok(bytes) = std::fs::read(root.join(name)) {
            if let Ok(nb) = coral_core::Notebook::from_ipynb(&bytes) {
                pool.extend(
                    nb.cells
                        .into_iter()
                        .map(|c| (c.kind == coral_core::CellKind::Code, c.source)),
                );
            }
        }
    }
    if pool.is_empty() {
        pool.push((
            true,
            "import pandas as pd\ndf = pd.read_csv('a.csv')\ndf.head()".to_owned(),
        ));
    }
    pool.iter().cycle().take(CELLS).cloned().collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

struct Result {
    name: String,
    samples: Vec<f64>,
    rss_kib: Option<u64>,
    note: String,
}

fn run(mut lsp: Lsp, init_options: Value, edits: usize) -> Option<Result> {
    let cells = notebook_cells();
    let nb_uri = "file:///tmp/coral-bench/bench.ipynb";
    let cell_uri = |i: usize| format!("vscode-notebook-cell:/tmp/coral-bench/bench.ipynb#ch{i:04}");
    lsp.request(
        "initialize",
        json!({
            "processId": std::process::id(),
            "rootUri": "file:///tmp/coral-bench",
            "capabilities": {
                "general": {"positionEncodings": ["utf-16"]},
                "workspace": {"configuration": true, "inlayHint": {"refreshSupport": true}},
                "textDocument": {"publishDiagnostics": {}, "inlayHint": {}},
                "notebookDocument": {"synchronization": {}}
            },
            "initializationOptions": init_options
        }),
    );
    lsp.notify("initialized", json!({}));
    lsp.notify(
        "notebookDocument/didOpen",
        json!({
            "notebookDocument": {
                "uri": nb_uri, "notebookType": "jupyter-notebook", "version": 1,
                "cells": cells.iter().enumerate().map(|(i, (code, _))| json!({"kind": if *code {2} else {1}, "document": cell_uri(i)})).collect::<Vec<_>>()
            },
            "cellTextDocuments": cells.iter().enumerate().map(|(i, (code, text))| json!({
                "uri": cell_uri(i), "languageId": if *code {"python"} else {"markdown"}, "version": 1, "text": text
            })).collect::<Vec<_>>()
        }),
    );
    let code: Vec<usize> = cells
        .iter()
        .enumerate()
        .filter(|(_, (c, _))| *c)
        .map(|(i, _)| i)
        .collect();
    let last_code = *code.last()?;
    lsp.wait_diagnostics(&cell_uri(last_code))?;
    lsp.drain(Duration::from_millis(300));

    let mut versions = vec![1i32; cells.len()];
    let mut texts: Vec<String> = cells.iter().map(|(_, t)| t.clone()).collect();
    let mut notebook_version = 1;
    let mut samples = Vec::new();
    for round in 0..WARMUP + edits {
        let cell = code[(round * 7) % code.len()];
        notebook_version += 1;
        versions[cell] += 1;
        // Append one statement at the end of the cell: new tokens, so the cell is labelled again.
        let lines: Vec<&str> = texts[cell].split('\n').collect();
        let line = lines.len() - 1;
        let character = lines[line].encode_utf16().count();
        let insert = format!("\nvalue_{round} = {round}");
        texts[cell].push_str(&insert);
        let uri = cell_uri(cell);
        let start = Instant::now();
        lsp.notify(
            "notebookDocument/didChange",
            json!({
                "notebookDocument": {"uri": nb_uri, "version": notebook_version},
                "change": {"cells": {"textContent": [{
                    "document": {"uri": uri, "version": versions[cell]},
                    "changes": [{"range": {"start": {"line": line, "character": character},
                                           "end": {"line": line, "character": character}},
                                 "text": insert}]
                }]}}
            }),
        );
        let at = lsp.wait_diagnostics(&uri)?;
        if round >= WARMUP {
            samples.push(at.duration_since(start).as_secs_f64() * 1000.0);
        }
        // Let the rest of this round's notifications arrive before the next edit.
        lsp.drain(Duration::from_millis(15));
    }
    let rss_kib = lsp.peak_rss_kib();
    let note = lsp
        .log
        .iter()
        .find(|l| l.starts_with("coral:"))
        .cloned()
        .unwrap_or_default();
    let name = lsp.name.clone();
    lsp.stop();
    samples.sort_by(f64::total_cmp);
    Some(Result {
        name,
        samples,
        rss_kib,
        note,
    })
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let edits: usize = std::env::var("LSP_BENCH_EDITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let coral =
        std::env::var("CORAL_LSP").unwrap_or_else(|_| env!("CARGO_BIN_EXE_coral-lsp").to_owned());
    let ruff = std::env::var("RUFF").unwrap_or_else(|_| "ruff".to_owned());

    println!("lsp_latency: {CELLS}-cell notebook, {edits} one-cell edits, didChange → publishDiagnostics for that cell");
    let mut results = Vec::new();
    match Lsp::spawn("coral-lsp", &coral, &[]) {
        Some(lsp) => match run(lsp, json!({"debounceMs": 0}), edits) {
            Some(r) => results.push(r),
            None => println!("coral-lsp: no diagnostics within {TIMEOUT:?}"),
        },
        None => println!("coral-lsp: cannot start {coral}"),
    }
    match Lsp::spawn("ruff server", &ruff, &["server"]) {
        Some(lsp) => match run(lsp, json!({}), edits) {
            Some(r) => results.push(r),
            None => println!("ruff server: no diagnostics within {TIMEOUT:?}"),
        },
        None => println!("ruff server: not found (`pip install ruff` or set RUFF) — coral only"),
    }
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>9} {:>12}",
        "server", "p50 ms", "p95 ms", "p99 ms", "max ms", "peak RSS"
    );
    for r in &results {
        println!(
            "{:<12} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9} MiB",
            r.name,
            percentile(&r.samples, 50.0),
            percentile(&r.samples, 95.0),
            percentile(&r.samples, 99.0),
            r.samples.last().copied().unwrap_or(f64::NAN),
            r.rss_kib
                .map_or_else(|| "?".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0)),
        );
        if !r.note.is_empty() {
            println!("  {}", r.note);
        }
    }
    if let [coral, ruff] = results.as_slice() {
        println!(
            "coral p99 / ruff p99 = {:.2}× (goal ≤ 3×)",
            percentile(&coral.samples, 99.0) / percentile(&ruff.samples, 99.0)
        );
    }
}
