"""End-to-end: the built `coral-lsp` driven over stdio by pytest-lsp (pygls), a third-party
LSP client that speaks notebookDocument/*."""

from __future__ import annotations

import asyncio
import re

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from conftest import ROOT, Notebook, codes, hint_label, hints, load_ipynb


# Cells the weak-label heuristics (the fallback without a model) label MODEL and EVALUATE.
MODEL_CELL = "from sklearn.linear_model import Ridge\nridge = Ridge().fit(X, y)"
EVALUATE_CELL = ("from sklearn.metrics import mean_squared_error\npredicted = lr.predict(X)\n"
                 "error = mean_squared_error(y, predicted)\nprint(error)")


def regression_notebook() -> Notebook:
    return Notebook("regression_no_eval.ipynb", load_ipynb(ROOT / "examples" / "regression_no_eval.ipynb"))


async def open_notebook(client, nb: Notebook) -> None:
    before = client.refreshes.count
    client.notebook_document_did_open(nb.did_open())
    await client.refreshes.wait(before + 1)


async def change(client, params) -> None:
    before = client.refreshes.count
    client.notebook_document_did_change(params)
    await client.refreshes.wait(before + 1)


async def summary(client, uri: str):
    return await client.protocol.send_request_async("coral/notebookSummary", {"uri": uri})


def field(obj, name):
    """A field of a custom request's result, whatever pygls made of the JSON object."""
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


async def test_capabilities(client):
    caps = client.init_result.capabilities
    assert caps is not None
    assert caps.position_encoding == "utf-16"
    assert caps.inlay_hint_provider
    assert caps.hover_provider
    assert caps.notebook_document_sync is not None


async def test_notebook_sequence(client):
    nb = regression_notebook()
    await open_notebook(client, nb)
    # Every cell got diagnostics (empty lists included).
    assert all(uri in client.diagnostics for uri, *_ in nb.cells)
    assert await hint_label(client, nb.uri_of(1)) == "IMPORT"
    assert await hint_label(client, nb.uri_of(3)) == "EXPLORE"
    assert await hint_label(client, nb.uri_of(0)) is None  # markdown
    # Models are fitted (cells 10, 13, 14) but never evaluated: the finding sits on the last.
    flagged = [i for i, (uri, *_) in enumerate(nb.cells) if "CRL002" in codes(client, uri)]
    assert flagged == [14]

    # Edit a cell so its stage changes: EXPLORE -> MODEL.
    await change(client, nb.set_text(3, MODEL_CELL))
    assert await hint_label(client, nb.uri_of(3)) == "MODEL"

    # Insert an evaluation cell: CRL002 clears, on the cell it was on.
    await change(client, nb.insert(len(nb.cells), "code", EVALUATE_CELL))
    assert await hint_label(client, nb.uri_of(len(nb.cells) - 1)) == "EVALUATE"
    assert "CRL002" not in codes(client, nb.uri_of(14))
    assert all("CRL002" not in codes(client, uri) for uri, *_ in nb.cells)

    # Move the inserted cell to the top: its text and label travel with it.
    moved = nb.uri_of(len(nb.cells) - 1)
    await change(client, nb.move(len(nb.cells) - 1, 0))
    assert nb.uri_of(0) == moved
    assert await hint_label(client, moved) == "EVALUATE"

    # Delete it: the finding comes back.
    await change(client, nb.delete(0))
    assert await hint_label(client, moved) is None
    assert any("CRL002" in codes(client, uri) for uri, *_ in nb.cells)

    # Close: all cleared.
    client.notebook_document_did_close(nb.did_close())
    await asyncio.sleep(0.3)
    assert all(not d for d in client.diagnostics.values())
    assert await hints(client, nb.uri_of(1)) == []


async def test_unknown_cell_uri_and_bad_positions(client):
    nb = regression_notebook()
    await open_notebook(client, nb)

    # Requests on a cell URI the server never saw: answered with nothing.
    unknown = "vscode-notebook-cell:/work/nb.ipynb#nope"
    assert await hints(client, unknown) == []
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=unknown),
                          position=types.Position(0, 0)))
    assert hover is None
    # A text change for an unknown cell is skipped; the rest of the notebook is untouched.
    bogus = nb.edit(1, (0, 0), (0, 0), "")
    bogus.change.cells.text_content[0].document.uri = unknown
    client.notebook_document_did_change(bogus)

    # Out-of-range positions: hover past the last line is an InvalidParams error...
    with pytest.raises(JsonRpcException):
        await client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=nb.uri_of(1)),
                              position=types.Position(999, 0)))
    # ...a character past the end of the line clamps...
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=nb.uri_of(1)),
                          position=types.Position(0, 10_000)))
    assert hover is not None and "IMPORT" in hover.contents.value
    # ...an inlay hint range far past the end is fine...
    found = await client.text_document_inlay_hint_async(types.InlayHintParams(
        text_document=types.TextDocumentIdentifier(uri=nb.uri_of(1)),
        range=types.Range(start=types.Position(500, 0), end=types.Position(9_000, 0))))
    assert not found
    # ...and an edit at a line the cell does not have is rejected, leaving the cell as it was.
    bad = nb.edit(3, (0, 0), (0, 0), "")
    bad.change.cells.text_content[0].changes[0].range = types.Range(
        start=types.Position(40, 0), end=types.Position(41, 0))
    bad.change.cells.text_content[0].changes[0].text = "oops"
    client.notebook_document_did_change(bad)

    result = await summary(client, nb.uri)
    cells = {field(c, "index"): c for c in field(field(result, "files")[0], "cells")}
    assert field(cells[3], "stage") == "EXPLORE"
    assert field(cells[1], "stage") == "IMPORT"


async def test_lower_version_is_ignored(client):
    nb = regression_notebook()
    await open_notebook(client, nb)
    await change(client, nb.set_text(3, MODEL_CELL))
    assert await hint_label(client, nb.uri_of(3)) == "MODEL"
    # A change that claims an older notebook version: ignored.
    stale = nb.set_text(3, "housing.describe()")
    stale.notebook_document.version = 1
    client.notebook_document_did_change(stale)
    result = await summary(client, nb.uri)
    cells = {field(c, "index"): c for c in field(field(result, "files")[0], "cells")}
    assert field(cells[3], "stage") == "MODEL"
    assert await hint_label(client, nb.uri_of(3)) == "MODEL"


async def test_fifty_rapid_edits(debounced_client):
    client = debounced_client
    nb = regression_notebook()
    await open_notebook(client, nb)
    results_before = client.refreshes.count
    # Retype cell 3 as a model fit, 50 keystroke-sized edits as fast as the client sends them
    # (the default debounce of 150 ms is on).
    client.notebook_document_did_change(nb.set_text(3, ""))
    for k in range(1, 50):
        line = len(nb.cells[3][2].split("\n")) - 1
        col = len(nb.cells[3][2].split("\n")[-1])
        piece = MODEL_CELL[len(nb.cells[3][2]): len(MODEL_CELL) * k // 49]
        client.notebook_document_did_change(nb.edit(3, (line, col), (line, col), piece))
    assert nb.cells[3][2] == MODEL_CELL
    # The server coalesces the edits and ends in the right state.
    await client.refreshes.wait(results_before + 1)
    await asyncio.sleep(0.6)
    assert client.refreshes.count - results_before < 10, "edits were debounced"
    result = await summary(client, nb.uri)
    cells = {field(c, "index"): c for c in field(field(result, "files")[0], "cells")}
    assert field(cells[3], "stage") == "MODEL"
    assert await hint_label(client, nb.uri_of(3)) == "MODEL"
    # The server's copy equals ours: an edit by position at the end of the cell still lands.
    await change(client, nb.set_text(3, "housing.head()"))
    assert await hint_label(client, nb.uri_of(3)) == "EXPLORE"


async def test_percent_script_incremental(utf8_client):
    client = utf8_client
    caps = client.init_result.capabilities
    assert caps.position_encoding == "utf-8"
    text = (ROOT / "examples" / "percent_script.py").read_text(encoding="utf-8")
    uri = "file:///work/percent_script.py"
    before = client.refreshes.count
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    await client.refreshes.wait(before + 1)
    found = await hints(client, uri)
    lines = text.split("\n")
    assert found, "hints on the cell markers"
    for hint in found:
        assert lines[hint.position.line].startswith("# %%")
        assert hint.position.character == len(lines[hint.position.line].encode("utf-8"))
    # Append a cell with an incremental edit.
    end = len(lines) - 1
    before = client.refreshes.count
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(end, 0), end=types.Position(end, 0)),
            text="# %% évaluation\n" + EVALUATE_CELL + "\n")]))
    await client.refreshes.wait(before + 1)
    found = await hints(client, uri)
    last = max(found, key=lambda h: h.position.line)
    assert last.position.line == end and last.label == "EVALUATE"
    assert last.position.character == len("# %% évaluation".encode("utf-8"))
    client.text_document_did_close(types.DidCloseTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    await asyncio.sleep(0.3)
    assert not client.diagnostics.get(uri)


async def test_configuration_change_turns_on_stage_diagnostics(client):
    nb = regression_notebook()
    await open_notebook(client, nb)
    assert not [d for d in client.diagnostics.get(nb.uri_of(1), []) if d.code == "stage"]
    client.set_configuration({"stageDiagnostics": True, "debounceMs": 0}, section="coral")
    before = client.refreshes.count
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await client.refreshes.wait(before + 1)
    stage = [d for d in client.diagnostics.get(nb.uri_of(1), []) if d.code == "stage"]
    assert stage and stage[0].message == "stage: IMPORT"
    assert stage[0].severity == types.DiagnosticSeverity.Information


async def test_with_the_model_when_it_loads(model_client):
    """With the shipped model (skipped when no model or no ONNX Runtime is found): hints carry
    the probability and hover shows all five."""
    client = model_client
    nb = regression_notebook()
    await open_notebook(client, nb)
    status = " ".join(m.message for m in client.log_messages if m.message.startswith("coral:"))
    if "coral: model" not in status:
        pytest.skip(f"no model in use: {status}")
    labels = [await hint_label(client, uri) for uri, kind, *_ in nb.cells if kind == "code"]
    assert labels and all(re.fullmatch(r"(IMPORT|WRANGLE|EXPLORE|MODEL|EVALUATE) [01]\.\d\d", l or "")
                          for l in labels), labels
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=nb.uri_of(1)),
                          position=types.Position(0, 0)))
    assert hover is not None
    for stage in ("IMPORT", "WRANGLE", "EXPLORE", "MODEL", "EVALUATE"):
        assert stage in hover.contents.value
    result = await summary(client, nb.uri)
    assert field(field(result, "model"), "fallback") is False
    cell = field(field(result, "files")[0], "cells")[0]
    assert field(cell, "source") == "model"
