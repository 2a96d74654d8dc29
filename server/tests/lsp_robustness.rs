//! In-process tests of what an editor must not be able to break: unknown URIs, invalid
//! positions, versions that do not rise, rapid edits, settings, percent scripts in UTF-8.

mod lsp_support;

use std::time::Duration;

use lsp_support::{heuristics, render, start, ClientNotebook};
use serde_json::{json, Value};

/// A cell the heuristics label MODEL.
const MODEL_CELL: &str = "from sklearn.linear_model import Ridge\nridge = Ridge().fit(X, y)";

async fn summary_stage<W: tokio::io::AsyncWrite + Unpin>(
    client: &mut lsp_support::TestClient<W>,
    uri: &str,
    index: usize,
) -> Value {
    let summary = client
        .request("coral/notebookSummary", json!({"uri": uri}))
        .await;
    summary["files"][0]["cells"]
        .as_array()
        .and_then(|cells| cells.iter().find(|c| c["index"] == index))
        .map_or(Value::Null, |c| c["stage"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_answered_and_ignored() {
    let mut client = start(heuristics());
    client
        .initialize(json!({"debounceMs": 0}), &["utf-16"])
        .await;
    let mut nb = ClientNotebook::from_ipynb("examples/regression_no_eval.ipynb");
    client
        .notify("notebookDocument/didOpen", nb.did_open())
        .await;
    client.wait_refreshes(1).await;
    let before = render(&mut client, &nb).await;

    // Unknown notebook, unknown cell: nothing happens, requests get empty answers.
    client
        .notify(
            "notebookDocument/didChange",
            json!({"notebookDocument": {"uri": "file:///elsewhere.ipynb", "version": 9},
                   "change": {"cells": {"textContent": []}}}),
        )
        .await;
    let unknown = "vscode-notebook-cell:/work/nb.ipynb#nope";
    assert_eq!(client.inlay_hints(unknown, 10).await, Value::Null);
    assert_eq!(client.hover(unknown, 0, 0).await["result"], Value::Null);
    let mut change = nb.set_text(3, "lr.fit(X, y)");
    change["change"]["cells"]["textContent"][0]["document"]["uri"] = json!(unknown);
    nb.cells[3].2 = "housing.describe()".to_owned();
    client.notify("notebookDocument/didChange", change).await;

    // Invalid positions: a hover past the last line is InvalidParams; an edit past the last
    // line is rejected as a whole; a character past the end of a line clamps.
    let hover = client.hover(&nb.cell_uri(3), 40, 0).await;
    assert_eq!(hover["error"]["code"], -32602, "{hover}");
    let hover = client.hover(&nb.cell_uri(3), 0, 9999).await;
    assert!(hover["result"]["contents"]["value"]
        .as_str()
        .unwrap_or("")
        .contains("EXPLORE"));
    nb.version += 1;
    client
        .notify(
            "notebookDocument/didChange",
            json!({"notebookDocument": {"uri": nb.uri, "version": nb.version},
                   "change": {"cells": {"textContent": [{
                       "document": {"uri": nb.cell_uri(3), "version": 7},
                       "changes": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "model = "},
                                   {"range": {"start": {"line": 12, "character": 0}, "end": {"line": 13, "character": 0}}, "text": ""}]
                   }]}}}),
        )
        .await;
    // A structure change far past the end appends instead of panicking.
    nb.version += 1;
    client
        .notify(
            "notebookDocument/didChange",
            json!({"notebookDocument": {"uri": nb.uri, "version": nb.version},
                   "change": {"cells": {"structure": {"array": {"start": 500, "deleteCount": 90}}}}}),
        )
        .await;
    // Malformed params: the server logs and goes on.
    client
        .notify("notebookDocument/didChange", json!({"nonsense": true}))
        .await;
    client
        .notify("textDocument/didOpen", json!([1, 2, 3]))
        .await;

    // A lower version is ignored.
    let mut stale = nb.set_text(3, "lr = LinearRegression().fit(X, y)");
    stale["notebookDocument"]["version"] = json!(1);
    nb.cells[3].2 = "housing.describe()".to_owned();
    client.notify("notebookDocument/didChange", stale).await;

    // The server is alive and its notebook is as before.
    client.drain(Duration::from_millis(200)).await;
    assert_eq!(summary_stage(&mut client, &nb.uri, 3).await, "EXPLORE");
    assert_eq!(render(&mut client, &nb).await, before);

    // And it still follows real edits.
    let change = nb.set_text(3, MODEL_CELL);
    client.notify("notebookDocument/didChange", change).await;
    client.wait_refreshes(1).await;
    assert_eq!(summary_stage(&mut client, &nb.uri, 3).await, "MODEL");
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_edits_are_debounced_and_end_right() {
    let mut client = start(heuristics());
    client.initialize(json!({"debounceMs": 100}), &[]).await;
    let mut nb = ClientNotebook::from_ipynb("examples/regression_no_eval.ipynb");
    client
        .notify("notebookDocument/didOpen", nb.did_open())
        .await;
    client.wait_refreshes(1).await;
    let refreshes = client.refreshes;
    // 50 edits: retype cell 3 as a model fit, one keystroke-sized edit at a time.
    let change = nb.set_text(3, "");
    client.notify("notebookDocument/didChange", change).await;
    for k in 1..=49 {
        let change = nb.set_text(3, &MODEL_CELL[..MODEL_CELL.len() * k / 49]);
        client.notify("notebookDocument/didChange", change).await;
    }
    client.wait_refreshes(1).await;
    client.drain(Duration::from_millis(400)).await;
    assert!(
        client.refreshes - refreshes < 10,
        "debounced: {} results",
        client.refreshes - refreshes
    );
    assert_eq!(summary_stage(&mut client, &nb.uri, 3).await, "MODEL");
    let hints = client.inlay_hints(&nb.cell_uri(3), 10).await;
    assert_eq!(hints[0]["label"], "MODEL");
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn percent_script_in_utf8_with_incremental_edits() {
    let mut client = start(heuristics());
    let init = client
        .initialize(json!({"debounceMs": 0}), &["utf-8", "utf-16"])
        .await;
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-8");
    let uri = "file:///work/segments.py";
    let text = "# %% [markdown]\n# # Données\n\n# %% chargé\nimport pandas as pd\n\n# %%\ndf = pd.read_csv('é.csv')\n\n# %%\ndf.head()\n";
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
        )
        .await;
    client.wait_refreshes(1).await;
    let hints = client.inlay_hints(uri, 100).await;
    insta::assert_json_snapshot!("percent_hints_utf8", hints);

    // Turn `df.head()` into a model fit with an incremental edit (UTF-8 columns).
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2},
                   "contentChanges": [{"range": {"start": {"line": 10, "character": 0}, "end": {"line": 10, "character": 9}},
                                       "text": MODEL_CELL}]}),
        )
        .await;
    client.wait_refreshes(1).await;
    let hints = client.inlay_hints(uri, 100).await;
    let labels: Vec<&str> = hints
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["label"].as_str())
        .collect();
    assert_eq!(labels, ["IMPORT", "WRANGLE", "MODEL"]);
    // A version that does not rise, and an edit on a line the file lacks: both ignored.
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2},
                   "contentChanges": [{"text": "everything replaced"}]}),
        )
        .await;
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 3},
                   "contentChanges": [{"range": {"start": {"line": 99, "character": 0}, "end": {"line": 99, "character": 0}}, "text": "x"}]}),
        )
        .await;
    let summary = client
        .request(
            "coral/notebookSummary",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let stages: Vec<Value> = summary["files"][0]["cells"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["stage"].clone())
        .collect();
    assert_eq!(stages, [json!("IMPORT"), json!("WRANGLE"), json!("MODEL")]);

    // A Python file without `# %%` is not a notebook: no hints, no diagnostics.
    let plain = "file:///work/plain.py";
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": plain, "languageId": "python", "version": 1, "text": "import os\n"}}),
        )
        .await;
    client.wait_refreshes(1).await;
    assert_eq!(client.inlay_hints(plain, 10).await, json!([]));
    assert_eq!(client.diagnostics.get(plain), Some(&Vec::new()));

    client
        .notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    client.drain(Duration::from_millis(200)).await;
    assert_eq!(client.diagnostics.get(uri), Some(&Vec::new()));
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_switch_surfaces_and_thresholds() {
    let mut client = start(heuristics());
    client.configuration = json!({"stageDiagnostics": true, "requireStages": ["EVALUATE"], "ignore": ["scattered-imports"]});
    client
        .initialize(
            json!({"debounceMs": 0, "inlayHints": false, "bogus": 1}),
            &[],
        )
        .await;
    let nb = ClientNotebook::from_ipynb("examples/regression_no_eval.ipynb");
    client
        .notify("notebookDocument/didOpen", nb.did_open())
        .await;
    // The pulled configuration re-labels after the first result.
    client.drain(Duration::from_millis(600)).await;
    assert!(
        client.log.iter().any(|l| l.contains("bogus")),
        "{:?}",
        client.log
    );
    assert!(
        client.log.iter().any(|l| l.contains("heuristics only")),
        "{:?}",
        client.log
    );
    // Inlay hints are off; stage diagnostics are on; EVALUATE is required.
    assert_eq!(client.inlay_hints(&nb.cell_uri(1), 10).await, Value::Null);
    insta::assert_snapshot!("settings_stage_diagnostics", render(&mut client, &nb).await);

    // Push new settings: stage diagnostics off again.
    client.configuration = json!({"stageDiagnostics": false});
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": null}),
        )
        .await;
    client.drain(Duration::from_millis(600)).await;
    let all: Vec<Value> = client.diagnostics.values().flatten().cloned().collect();
    assert!(all.iter().all(|d| d["code"] != "stage"), "{all:?}");
    assert!(all.iter().any(|d| d["code"] == "CRL002"));
    client.shutdown().await;
}

/// Codes of every diagnostic published last, over all URIs.
fn codes<W>(client: &lsp_support::TestClient<W>) -> Vec<String> {
    let mut codes: Vec<String> = client
        .diagnostics
        .values()
        .flatten()
        .filter_map(|d| d["code"].as_str().map(str::to_owned))
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workspace_coral_toml_sits_under_the_editor_settings() {
    let workspace = tempfile::tempdir().expect("temp dir");
    let config = workspace.path().join("coral.toml");
    std::fs::write(
        &config,
        "require-stages = [\"EVALUATE\"]\nignore = [\"model-without-evaluate\"]\n",
    )
    .expect("write coral.toml");
    let mut client = start(heuristics());
    client
        .initialize_in(Some(workspace.path()), json!({"debounceMs": 0}), &[])
        .await;
    let nb = ClientNotebook::from_ipynb("examples/regression_no_eval.ipynb");
    client
        .notify("notebookDocument/didOpen", nb.did_open())
        .await;
    client.drain(Duration::from_millis(600)).await;
    assert!(
        client.log.iter().any(|l| l.contains("coral.toml")),
        "the log names the file: {:?}",
        client.log
    );
    let found = codes(&client);
    assert!(
        found.contains(&"CRL006".to_owned()),
        "required by the file: {found:?}"
    );
    assert!(
        !found.contains(&"CRL002".to_owned()),
        "ignored by the file: {found:?}"
    );

    // The editor's settings win key by key; an empty `select` is every rule, as in --check
    // (it used to silence every rule in the server).
    client.configuration = json!({"ignore": [], "select": []});
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": null}),
        )
        .await;
    client.drain(Duration::from_millis(600)).await;
    let found = codes(&client);
    assert!(found.contains(&"CRL002".to_owned()), "{found:?}");
    assert!(
        found.contains(&"CRL006".to_owned()),
        "still the file's: {found:?}"
    );

    // The file changes on disk: the server reads it again when told.
    std::fs::write(&config, "min-entropy = 0.0\n").expect("rewrite coral.toml");
    client
        .notify(
            "workspace/didChangeWatchedFiles",
            json!({"changes": [{"uri": format!("file://{}", config.display()), "type": 2}]}),
        )
        .await;
    client.drain(Duration::from_millis(600)).await;
    let found = codes(&client);
    assert!(!found.contains(&"CRL006".to_owned()), "{found:?}");
    assert!(found.contains(&"CRL002".to_owned()), "{found:?}");

    // A broken file is reported and left out; the editor's settings still apply.
    std::fs::write(&config, "min-entrpy = 0.5\n").expect("break coral.toml");
    client
        .notify(
            "workspace/didChangeWatchedFiles",
            json!({"changes": [{"uri": format!("file://{}", config.display()), "type": 2}]}),
        )
        .await;
    client.drain(Duration::from_millis(600)).await;
    assert!(
        client.log.iter().any(|l| l.contains("min-entrpy")),
        "{:?}",
        client.log
    );
    assert!(codes(&client).contains(&"CRL002".to_owned()));
    client.shutdown().await;
}
