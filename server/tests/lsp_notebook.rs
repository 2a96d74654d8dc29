//! In-process language server tests: the server runs on an in-memory pipe, a test client
//! drives it through what an editor does with a notebook, and snapshots record what the
//! editor would show (inlay hints and diagnostics per cell) after each step.

mod lsp_support;

use lsp_support::{heuristics, render, start, ClientNotebook};
use serde_json::{json, Value};

const EVALUATE_CELL: &str = "from sklearn.metrics import mean_squared_error\npredicted = lr.predict(X)\nerror = mean_squared_error(y, predicted)\nprint(error)";

fn fast() -> Value {
    json!({"debounceMs": 0})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notebook_lifecycle_hints_and_diagnostics_follow() {
    let mut client = start(heuristics());
    let init = client.initialize(fast(), &["utf-16"]).await;
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-16");
    assert_eq!(init["capabilities"]["inlayHintProvider"], true);
    assert_eq!(
        init["capabilities"]["notebookDocumentSync"]["notebookSelector"][0]["notebook"],
        "*"
    );

    let mut nb = ClientNotebook::from_ipynb("examples/regression_no_eval.ipynb");
    client
        .notify("notebookDocument/didOpen", nb.did_open())
        .await;
    client.wait_refreshes(1).await;
    // Every cell got a list (empty ones included), so stale diagnostics can clear.
    assert!(nb
        .cells
        .iter()
        .all(|(uri, ..)| client.diagnostics.contains_key(uri)));
    insta::assert_snapshot!("lifecycle_1_open", render(&mut client, &nb).await);

    // Cell 3 `housing.describe()` (EXPLORE) becomes a model fit.
    let change = nb.set_text(
        3,
        "from sklearn.linear_model import Ridge\nridge = Ridge().fit(X, y)",
    );
    client.notify("notebookDocument/didChange", change).await;
    client.wait_refreshes(1).await;
    insta::assert_snapshot!(
        "lifecycle_2_edit_stage_changes",
        render(&mut client, &nb).await
    );

    // Insert an evaluation cell at the end: the model-without-evaluate finding clears.
    let change = nb.insert(nb.cells.len(), "code", EVALUATE_CELL);
    client.notify("notebookDocument/didChange", change).await;
    client.wait_refreshes(1).await;
    insta::assert_snapshot!("lifecycle_3_insert", render(&mut client, &nb).await);

    // Move the statsmodels import (cell 12) to the top: the scattered-imports finding moves.
    let change = nb.move_cell(12, 1);
    client.notify("notebookDocument/didChange", change).await;
    client.wait_refreshes(1).await;
    insta::assert_snapshot!("lifecycle_4_move", render(&mut client, &nb).await);

    // Delete the inserted evaluation cell (now last): the finding comes back.
    let removed = nb.cell_uri(nb.cells.len() - 1);
    let change = nb.delete(nb.cells.len() - 1);
    client.notify("notebookDocument/didChange", change).await;
    client.wait_refreshes(1).await;
    insta::assert_snapshot!("lifecycle_5_delete", render(&mut client, &nb).await);
    // The deleted cell is unknown now: no hints, no hover, no error.
    assert_eq!(client.inlay_hints(&removed, 10).await, Value::Null);
    assert_eq!(client.hover(&removed, 0, 0).await["result"], Value::Null);

    // Close: every cell's diagnostics are cleared.
    client
        .notify("notebookDocument/didClose", nb.did_close())
        .await;
    client.drain(std::time::Duration::from_millis(300)).await;
    assert!(
        client.diagnostics.values().all(Vec::is_empty),
        "{:?}",
        client.diagnostics
    );
    assert_eq!(client.inlay_hints(&nb.cell_uri(1), 10).await, Value::Null);
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_and_summary() {
    let mut client = start(heuristics());
    client.initialize(fast(), &[]).await;
    let nb = ClientNotebook::from_ipynb("examples/titanic_classifier.ipynb");
    client
        .notify("notebookDocument/didOpen", nb.did_open())
        .await;
    client.wait_refreshes(1).await;

    // Hover on the first line of cell 3 (`train = pd.read_csv(...)`).
    let hover = client.hover(&nb.cell_uri(3), 0, 4).await;
    insta::assert_snapshot!(
        "hover_read_csv",
        hover["result"]["contents"]["value"].as_str().unwrap_or("")
    );
    // Not on the first line: no hover.
    let hover = client.hover(&nb.cell_uri(3), 1, 0).await;
    assert_eq!(hover["result"], Value::Null);

    let summary = client
        .request("coral/notebookSummary", json!({"uri": nb.uri}))
        .await;
    assert_eq!(summary["version"], 1);
    assert_eq!(summary["model"]["fallback"], true);
    insta::assert_json_snapshot!("summary_titanic", summary["files"][0]);
    // A cell URI names its notebook too.
    let by_cell = client
        .request("coral/notebookSummary", json!({"uri": nb.cell_uri(5)}))
        .await;
    assert_eq!(by_cell["files"][0]["cells"], summary["files"][0]["cells"]);
    let unknown = client
        .request_raw(
            "coral/notebookSummary",
            json!({"uri": "file:///nope.ipynb"}),
        )
        .await;
    assert_eq!(unknown["error"]["code"], -32602);
    client.shutdown().await;
}
