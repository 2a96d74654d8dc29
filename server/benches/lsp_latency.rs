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

#[path = "support/lsp_process.rs"]
mod lsp_process;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use lsp_process::{Lsp, TIMEOUT};

const CELLS: usize = 100;
const WARMUP: usize = 10;

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
