//! Faults from outside: a model file truncated under a running server, files that vanish or
//! cannot be read during `--check`, a client that hangs up mid-request, a 50 MB notebook and a
//! 1 MB line. None may panic, hang, or lose another file's results.

mod common;
mod lsp_support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use coral_server::engine::Device;
use coral_server::EngineConfig;
use lsp_support::{heuristics, start, ClientNotebook};
use serde_json::{json, Value};

const MODEL_CELL: &str = "from sklearn.linear_model import Ridge\nridge = Ridge().fit(X, y)";

fn code(source: &str) -> Value {
    json!({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null, "source": source})
}

fn notebook(cells: &[Value]) -> String {
    json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}).to_string()
}

async fn summary<W: tokio::io::AsyncWrite + Unpin>(
    client: &mut lsp_support::TestClient<W>,
    uri: &str,
) -> Value {
    client
        .request("coral/notebookSummary", json!({"uri": uri}))
        .await
}

/// Copies the shipped model, so that the test can break its copy.
fn copy_of_shipped_model(to: &Path) {
    let models = common::workspace().join("models");
    for name in ["coral.onnx", "vocab.json", "transitions.json"] {
        let from = models.join(name);
        if from.is_file() {
            std::fs::copy(&from, to.join(name)).expect("copy the model");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_truncated_under_the_server_keeps_the_loaded_model_serving() {
    if !common::ort_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    copy_of_shipped_model(dir.path());
    let mut client = start(EngineConfig {
        model_dir: Some(dir.path().to_path_buf()),
        device: Device::Cpu,
        threads: Some(1),
        ..EngineConfig::default()
    });
    client.initialize(json!({"debounceMs": 0}), &[]).await;
    let mut nb = ClientNotebook::from_ipynb("examples/regression_no_eval.ipynb");
    client
        .notify("notebookDocument/didOpen", nb.did_open())
        .await;
    client.wait_refreshes(1).await;
    let before = summary(&mut client, &nb.uri).await;
    assert_eq!(before["model"]["fallback"], false, "{before}");

    // The file is cut short on disk; the session in memory is unaffected.
    let model = dir.path().join("coral.onnx");
    let bytes = std::fs::read(&model).expect("read model");
    std::fs::write(&model, &bytes[..bytes.len() / 3]).expect("truncate model");
    let change = nb.set_text(3, MODEL_CELL);
    client.notify("notebookDocument/didChange", change).await;
    client.wait_refreshes(1).await;
    let after = summary(&mut client, &nb.uri).await;
    assert_eq!(after["model"]["fallback"], false, "{after}");

    // A settings change that needs a new engine finds the broken file: the loaded model
    // keeps serving, and the user is told once.
    client.configuration = json!({"device": "auto"});
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": null}),
        )
        .await;
    client.drain(Duration::from_millis(800)).await;
    let warnings: Vec<&String> = client
        .log
        .iter()
        .filter(|l| l.contains("still labelling with the model loaded before"))
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", client.log);
    let change = nb.set_text(3, "df.head()");
    client.notify("notebookDocument/didChange", change).await;
    client.wait_refreshes(1).await;
    let kept = summary(&mut client, &nb.uri).await;
    assert_eq!(kept["model"]["fallback"], false, "{kept}");
    let stage = kept["files"][0]["cells"]
        .as_array()
        .and_then(|cells| cells.iter().find(|c| c["index"] == 3))
        .map(|c| c["stage"].clone());
    assert_eq!(stage, Some(json!("EXPLORE")), "{kept}");
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cell_with_a_one_megabyte_line_is_labelled_and_the_rest_still_answers() {
    let mut client = start(heuristics());
    client.initialize(json!({"debounceMs": 0}), &[]).await;
    let mut nb = ClientNotebook::from_ipynb("examples/regression_no_eval.ipynb");
    client
        .notify("notebookDocument/didOpen", nb.did_open())
        .await;
    client.wait_refreshes(1).await;
    let long_line = format!(
        "values = [{}]",
        (0..150_000)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(long_line.len() > 1 << 20);
    let change = nb.set_text(2, &long_line);
    client.notify("notebookDocument/didChange", change).await;
    client.wait_refreshes(1).await;
    let hover = client.hover(&nb.cell_uri(3), 0, 0).await;
    assert!(hover.is_object(), "hover still answers: {hover}");
    let summary = summary(&mut client, &nb.uri).await;
    assert!(
        summary["files"][0]["cells"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{summary}"
    );
    client.shutdown().await;
}

#[test]
fn check_names_vanished_and_unreadable_files_and_keeps_the_rest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = common::workspace();
    std::fs::copy(
        root.join("examples/titanic_classifier.ipynb"),
        dir.path().join("good.ipynb"),
    )
    .expect("copy");
    // A FIFO would block a plain read forever.
    let fifo = dir.path().join("pipe.ipynb");
    let made = Command::new("mkfifo").arg(&fifo).status();
    let have_fifo = made.is_ok_and(|s| s.success());

    let mut args = vec!["--check", "--no-config", "--no-model", "--format=json"];
    args.extend(["good.ipynb", "deleted.ipynb"]);
    if have_fifo {
        args.push("pipe.ipynb");
    }
    let out = common::coral(dir.path(), &args);
    let stderr = common::stderr(&out);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let report: Value = serde_json::from_str(&common::stdout(&out)).expect("JSON report");
    assert_eq!(report["files"][0]["path"], "good.ipynb");
    assert!(report["files"][0]["cells"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));
    let errors: Vec<(String, String)> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap_or_default().to_owned(),
                e["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(errors[0].0, "deleted.ipynb");
    assert!(errors[0].1.contains("No such file"), "{errors:?}");
    if have_fifo {
        assert_eq!(errors[1].0, "pipe.ipynb");
        assert!(errors[1].1.contains("not a regular file"), "{errors:?}");
    }
}

#[test]
fn check_reads_a_fifty_megabyte_notebook() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Real notebooks grow large through their outputs: 40 cells, each with a 1.25 MB image.
    let image = "iVBORw0KGgo".repeat(120_000);
    let cells: Vec<Value> = (0..40)
        .map(|i| {
            let mut cell = code(&format!("fig{i} = plot(frame, column={i})\nfig{i}.show()"));
            cell["outputs"] = json!([{
                "output_type": "display_data",
                "metadata": {},
                "data": {"image/png": image, "text/plain": "<Figure>"}
            }]);
            cell
        })
        .collect();
    let text = notebook(&cells);
    assert!(text.len() > 50 << 20, "{} bytes", text.len());
    std::fs::write(dir.path().join("big.ipynb"), text).expect("write");
    let out = common::coral(
        dir.path(),
        &[
            "--check",
            "--no-config",
            "--no-model",
            "--format=json",
            "big.ipynb",
        ],
    );
    let stderr = common::stderr(&out);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: Value = serde_json::from_str(&common::stdout(&out)).expect("JSON report");
    assert_eq!(
        report["files"][0]["cells"].as_array().map(Vec::len),
        Some(40),
        "{stderr}"
    );
}

#[test]
fn a_client_that_hangs_up_mid_request_ends_the_server() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_coral-lsp"))
        .args(["--no-model"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start coral-lsp");
    let frame = |message: Value| {
        let body = message.to_string();
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    };
    let open = json!({"jsonrpc": "2.0", "method": "notebookDocument/didOpen", "params": {
        "notebookDocument": {"uri": "file:///w/nb.ipynb", "notebookType": "jupyter-notebook",
            "version": 1, "cells": [{"kind": 2, "document": "c0"}]},
        "cellTextDocuments": [{"uri": "c0", "languageId": "python", "version": 1,
            "text": "import pandas as pd"}]}});
    let mut stdin = server.stdin.take().expect("stdin");
    let messages = [
        frame(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"processId": null, "rootUri": null, "capabilities": {}}})),
        frame(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}})),
        frame(open),
        frame(
            json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover",
            "params": {"textDocument": {"uri": "c0"}, "position": {"line": 0, "character": 3}}}),
        ),
    ];
    for message in &messages {
        stdin.write_all(message.as_bytes()).expect("write");
    }
    // Half a message, then the client is gone.
    stdin
        .write_all(b"Content-Length: 500\r\n\r\n{\"jsonrpc\": \"2.0\", \"id\": 3, ")
        .expect("write");
    drop(stdin);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = server.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = server.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        status.is_some(),
        "the server must exit when stdin closes: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
