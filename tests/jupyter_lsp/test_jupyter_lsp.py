"""coral in JupyterLab's set-up, end to end, without a browser.

A Jupyter server (jupyter_server + jupyter-lsp) runs headless on a loopback port with the
jupyterlab-coral spec installed; the test checks that /lsp/status lists coral, opens
/lsp/ws/coral and sends what jupyterlab-lsp sends for a notebook — the virtual document (all
cells joined into one Python text, magics rewritten) opened, then changed — and checks the
diagnostics coral publishes: one information diagnostic with the stage on each labelled code
cell, on the line JupyterLab shows it, and the pipeline findings. The expected stages are what
`coral-lsp --check` says about the same notebook, so the test holds whatever the heuristics say.

How jupyterlab-lsp builds the virtual document is re-implemented here from its sources, in
Python and independently of coral's Rust emulation (see `virtual_document`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket  # websocket-client

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "fixtures" / "notebooks" / "monthly_sales.ipynb"
CORAL_LSP = os.environ["CORAL_LSP"]
TOKEN = "coral-e2e-token"
TIMEOUT = 60.0

# ---------------------------------------------------------------------------------------------
# The virtual document, as jupyterlab-lsp 5 / JupyterLab 4 make it
# (packages/jupyterlab-lsp/src/transclusions/ipython/overrides.ts; @jupyterlab/lsp
# VirtualDocument.appendCodeBlock and .value: blocks `lines.join("\n") + "\n"` joined with
# "\n" * blankLinesBetweenCells (2); markdown and raw cells leave an empty line).
# ---------------------------------------------------------------------------------------------

LINE_MAGIC_PREFIX = r"^(\s*|\s*\S+\s*=\s*)"
PYTHON_IDENTIFIER = r"""([^?\s'"\(\)-\+\/#]+)"""


def _escape(text: str) -> str:
    return re.sub(r'(["\\])', r"\\\1", text)


def _line_overrides():
    def shell(m):
        return f'{m.group(1)}get_ipython().getoutput("{m.group(2)}{m.group(3)}"){m.group(4) or ""}'

    def pinfo_prefix(m):
        command = "pinfo" if m.group(2) == "?" else "pinfo2"
        return f"{m.group(1)}get_ipython().run_line_magic('{command}', '{m.group(3)}'){m.group(4) or ''}"

    def pinfo_suffix(m):
        command = "pinfo" if m.group(3) == "?" else "pinfo2"
        return f"{m.group(1)}get_ipython().run_line_magic('{command}',  '{m.group(2)}'){m.group(4) or ''}"

    def line_magic(m):
        args = _escape(m.group(3)) if m.group(3) else ""
        return f'{m.group(1)}get_ipython().run_line_magic("{m.group(2)}", "{args}"){m.group(4) or ""}'

    return [
        (re.compile(LINE_MAGIC_PREFIX + r"!([^=\s]+)(.*)(\n)?"), shell),
        (re.compile(r"^(\s*)(\?{1,2})" + PYTHON_IDENTIFIER + r"(\n)?$"), pinfo_prefix),
        (re.compile(r"^(\s*)" + PYTHON_IDENTIFIER + r"(\?{1,2})(\n)?"), pinfo_suffix),
        (re.compile(LINE_MAGIC_PREFIX + r"%(\S+)(.*)(\n)?"), line_magic),
    ]


LINE_OVERRIDES = _line_overrides()
CELL_MAGIC = re.compile(r"^%%(\S+)(.*\n)([\s\S]*)")


def transform(source: str) -> tuple[list[str], list[bool]]:
    """A code cell's lines in the virtual document, and which of them are `skipInspect`
    (jupyterlab-lsp drops diagnostics that start there)."""
    m = CELL_MAGIC.search(source)
    if m:
        name, first_line, content = m.group(1), _escape(m.group(2))[:-1], m.group(3)
        content = content.replace('"""', '\\"\\"\\"')
        if name in ("time", "capture"):
            text = f'# START_CELL_MAGIC("{name}", "{first_line}")\n{content}\n# END_CELL_MAGIC'
        else:
            text = f'get_ipython().run_cell_magic("{name}", "{first_line}", """{content}""")'
        lines = text.split("\n")
        return lines, [True] * len(lines)
    lines, skip = [], []
    for line in source.split("\n"):
        for pattern, replace in LINE_OVERRIDES:
            if pattern.search(line):
                lines.append(pattern.sub(replace, line, count=1))
                skip.append(True)
                break
        else:
            lines.append(line)
            skip.append(False)
    return lines, skip


def virtual_document(cells: list[tuple[str, str]]) -> tuple[str, dict[int, int]]:
    """The text, and for each code cell index the line its label goes on (its first line that
    is neither blank nor skipped; the first line when all are skipped)."""
    blocks, label_lines, line = [], {}, 0
    for index, (kind, source) in enumerate(cells):
        if kind == "code":
            lines, skip = transform(source)
            shown = [i for i, text in enumerate(lines) if text.strip() and not skip[i]]
            content = [i for i, text in enumerate(lines) if text.strip()]
            if content:
                label_lines[index] = line + (shown[0] if shown else content[0])
        else:
            lines = [""]
        blocks.append("\n".join(lines) + "\n")
        line += len(lines) + 2
    return "\n\n".join(blocks), label_lines


def load(path: Path) -> list[tuple[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for cell in data["cells"]:
        source = cell.get("source", "")
        out.append((cell["cell_type"], "".join(source) if isinstance(source, list) else source))
    return out


def write_notebook(path: Path, cells: list[tuple[str, str]]) -> None:
    def lines(s):
        parts = s.split("\n")
        return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])

    nb = {
        "cells": [
            {"cell_type": k, "metadata": {}, "source": lines(s),
             **({"outputs": [], "execution_count": None} if k == "code" else {})}
            for k, s in cells
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# What coral should say: `coral-lsp --check` on the same cells
# ---------------------------------------------------------------------------------------------

SEVERITY = {"error": 1, "warning": 2, "info": 3}


def expected_diagnostics(cells, label_lines, env) -> set[tuple]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "expected.ipynb"
        write_notebook(path, cells)
        run = subprocess.run(
            [CORAL_LSP, "--check", "--no-config", "--no-model", "--format", "json", str(path)],
            capture_output=True, text=True, env=env, timeout=120,
        )
    if run.returncode not in (0, 1):
        raise AssertionError(f"coral-lsp --check failed ({run.returncode}): {run.stderr}")
    report = json.loads(run.stdout)["files"][0]
    expected = set()
    for cell in report["cells"]:
        if cell["stage"] is not None:
            expected.add((label_lines[cell["index"]], "stage", 3, f"stage: {cell['stage']}"))
    for finding in report["findings"]:
        # A finding about the whole notebook goes on the first code cell.
        cell = finding["cell"] if finding["cell"] is not None else min(label_lines)
        expected.add((label_lines[cell], finding["rule"], SEVERITY[finding["severity"]], None))
    return expected


def seen(diagnostics) -> set[tuple]:
    out = set()
    for d in diagnostics:
        assert d.get("source") == "coral", d
        code = d.get("code")
        message = d["message"] if code == "stage" else None
        out.add((d["range"]["start"]["line"], code, d.get("severity"), message))
    return out


# ---------------------------------------------------------------------------------------------
# A Jupyter server, and an LSP client on its WebSocket
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url: str):
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read().decode("utf-8"))


class Client:
    """JSON-RPC over jupyter-lsp's WebSocket: one JSON message per text frame."""

    def __init__(self, url: str):
        self.ws = websocket.create_connection(url, header=[f"Authorization: token {TOKEN}"], timeout=1)
        self.next_id = 0
        self.diagnostics: dict[str, list] = {}
        self.publishes = 0

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps({"jsonrpc": "2.0", **message}))

    def notify(self, method: str, params) -> None:
        self.send({"method": method, "params": params})

    def poll(self, until: float) -> dict | None:
        """One message (handled), or None when nothing came before `until`."""
        if time.monotonic() > until:
            return None
        try:
            raw = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return None
        message = json.loads(raw)
        method = message.get("method")
        if method == "textDocument/publishDiagnostics":
            self.diagnostics[message["params"]["uri"]] = message["params"]["diagnostics"]
            self.publishes += 1
        elif method is not None and "id" in message:
            # What JupyterLab answers: null for each configuration item, null otherwise.
            result = None
            if method == "workspace/configuration":
                result = [None for _ in message["params"]["items"]]
            self.send({"id": message["id"], "result": result})
        return message

    def request(self, method: str, params):
        self.next_id += 1
        ident = self.next_id
        self.send({"id": ident, "method": method, "params": params})
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            message = self.poll(deadline)
            if message and message.get("id") == ident and "method" not in message:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result")
        raise AssertionError(f"no answer to {method} in {TIMEOUT}s")

    def wait_for(self, uri: str, expected: set[tuple], what: str) -> None:
        """Until the latest diagnostics of `uri` are `expected`."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if uri in self.diagnostics and seen(self.diagnostics[uri]) == expected:
                print(f"ok: {what}: {len(expected)} diagnostics")
                return
            self.poll(deadline)
        got = seen(self.diagnostics.get(uri, []))
        raise AssertionError(
            f"{what}: diagnostics differ\n  missing: {sorted(expected - got, key=str)}\n"
            f"  unexpected: {sorted(got - expected, key=str)}"
        )

    def close(self) -> None:
        self.ws.close()


def capabilities() -> dict:
    """Roughly what jupyterlab-lsp 5 declares (features: diagnostics, hover, completion…)."""
    return {
        "textDocument": {
            "synchronization": {"dynamicRegistration": True, "didSave": True},
            "hover": {"dynamicRegistration": True, "contentFormat": ["markdown", "plaintext"]},
            "publishDiagnostics": {"tagSupport": {"valueSet": [1, 2]}},
            "completion": {"dynamicRegistration": True},
        },
        "workspace": {
            "configuration": True,
            "didChangeConfiguration": {"dynamicRegistration": True},
        },
    }


def start_server(root: Path, env: dict, log) -> tuple[subprocess.Popen, int]:
    """`python -m jupyter_server` on a free loopback port (jupyter-lsp is enabled by the
    jupyter_server_config.d file its package installs)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "jupyter_server",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
            "--ServerApp.open_browser=False",
            # CI containers run as root; the server refuses that unless told.
            *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the Jupyter server exited ({process.returncode})")
        try:
            http_json(f"http://127.0.0.1:{port}/api/status")
            return process, port
        except OSError:
            time.sleep(0.3)
    raise AssertionError("the Jupyter server did not answer in time")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------------------------


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="coral-jupyter-lsp-"))
    root = (work / "root").resolve()
    (root / "analysis").mkdir(parents=True)
    saved_path = root / "analysis" / "monthly_sales.ipynb"
    shutil.copy(FIXTURE, saved_path)
    no_model = work / "no-model"
    no_model.mkdir()
    env = {
        **os.environ,
        "CORAL_LSP": CORAL_LSP,
        # No model in that folder: coral labels with its heuristics, as `--check --no-model`.
        "CORAL_MODEL_DIR": str(no_model),
        "CORAL_LOG": os.environ.get("CORAL_LOG", "info"),
        "JUPYTER_CONFIG_DIR": str(work / "config"),
        "JUPYTER_DATA_DIR": str(work / "data"),
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
    }
    log_path = work / "jupyter.log"
    log = open(log_path, "w", encoding="utf-8")
    process = client = None
    try:
        process, port = start_server(root, env, log)
        # 1. jupyter-lsp knows coral (from the jupyter_lsp_spec_v1 entry point).
        status = http_json(f"http://127.0.0.1:{port}/lsp/status")
        assert "coral" in status["sessions"], f"coral not in /lsp/status: {list(status['sessions'])}"
        spec = status["sessions"]["coral"]["spec"]
        assert spec["languages"] == ["python"], spec
        assert spec.get("requires_documents_on_disk") is False, spec
        print(f"ok: /lsp/status lists coral ({spec['display_name']}); sessions: {sorted(status['sessions'])}")

        # 2. The handshake of jupyterlab-lsp's LSPConnection (rootUri: the virtual documents
        #    folder, as DocumentConnectionManager.solveUris gives for notebooks).
        client = Client(f"ws://127.0.0.1:{port}/lsp/ws/coral")
        virtual_root = (root / ".virtual_documents").as_uri()
        result = client.request("initialize", {
            "processId": None, "rootUri": virtual_root, "workspaceFolders": None,
            "initializationOptions": None, "capabilities": capabilities(),
        })
        assert result["serverInfo"]["name"] == "coral-lsp", result
        assert result["capabilities"]["hoverProvider"], result
        client.notify("initialized", {})
        client.notify("workspace/didChangeConfiguration", {"settings": {}})

        # 3. The notebook opens: didOpen and the same text again under version 0, then the
        #    user's serverSettings ("coral.debounceMs": 0, dotted paths expanded).
        saved = load(saved_path)
        text, label_lines = virtual_document(saved)
        uri = f"{virtual_root}/analysis/monthly_sales.ipynb"
        client.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 0, "text": text}})
        client.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": 0}, "contentChanges": [{"text": text}]})
        client.notify("workspace/didChangeConfiguration", {"settings": {"coral": {"debounceMs": 0}}})
        expected = expected_diagnostics(saved, label_lines, env)
        assert any(code == "stage" for _, code, _, _ in expected), expected
        client.wait_for(uri, expected, "opened notebook: stage per code cell + findings")
        if os.environ.get("CORAL_E2E_VERBOSE"):
            for line, code, _, message in sorted(seen(client.diagnostics[uri]), key=str):
                print(f"   line {line:3} {code:7} {message or ''} | {text.split(chr(10))[line]}")

        # 4. Hover anywhere in a cell shows its label: the second line of the read_csv cell,
        #    and the second function of a cell that holds two blank lines.
        lines = text.split("\n")
        read_line = next(i for i, l in enumerate(lines) if l.startswith("sales = sales.dropna()"))
        hover = client.request("textDocument/hover", {
            "textDocument": {"uri": uri}, "position": {"line": read_line, "character": 3}})
        assert hover and "WRANGLE" in hover["contents"]["value"], hover
        share_line = next(i for i, l in enumerate(lines) if l.startswith("def share"))
        hover = client.request("textDocument/hover", {
            "textDocument": {"uri": uri}, "position": {"line": share_line, "character": 4}})
        assert hover and "cell 5" in hover["contents"]["value"], hover
        print("ok: hover inside cells")

        # 5. The user edits without saving: a cell changes, an evaluation cell is added.
        live = list(saved)
        live[3] = ("code", "sales = pd.read_csv('data/sales.csv', parse_dates=['month'])\nsales = sales.dropna()")
        live.append(("code", "from sklearn.metrics import mean_squared_error\n"
                             "predicted = model.predict(sales[['month']])\n"
                             "error = mean_squared_error(sales['revenue'], predicted)\n"
                             "print(error)"))
        text, label_lines = virtual_document(live)
        client.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": 1}, "contentChanges": [{"text": text}]})
        expected = expected_diagnostics(live, label_lines, env)
        assert not any(code == "CRL002" for _, code, _, _ in expected), expected
        client.wait_for(uri, expected, "edited notebook (unsaved): stages follow, CRL002 clears")

        # 6. A notebook with nothing saved behind it: cells are split from the text alone.
        lone = f"{virtual_root}/analysis/never_saved.ipynb"
        client.notify("textDocument/didOpen", {"textDocument": {
            "uri": lone, "languageId": "python", "version": 0, "text": text}})
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and not any(
                d.get("code") == "stage" for d in client.diagnostics.get(lone, [])):
            client.poll(deadline)
        stages = {d["message"] for d in client.diagnostics.get(lone, []) if d.get("code") == "stage"}
        assert {"stage: IMPORT", "stage: MODEL"} <= stages, stages
        print(f"ok: never-saved notebook labelled from the text alone: {sorted(stages)}")

        # 7. Closing clears the diagnostics.
        for closed in (uri, lone):
            client.notify("textDocument/didClose", {"textDocument": {"uri": closed}})
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and (client.diagnostics.get(uri) or client.diagnostics.get(lone)):
            client.poll(deadline)
        assert not client.diagnostics.get(uri) and not client.diagnostics.get(lone), client.diagnostics
        print("ok: closing clears diagnostics")
        client.request("shutdown", None)
        print("all JupyterLab end-to-end checks passed")
        if os.environ.get("CORAL_E2E_VERBOSE"):
            log.flush()
            print(log_path.read_text(encoding="utf-8", errors="replace"), file=sys.stderr)
        return 0
    except BaseException:
        log.flush()
        print(f"--- Jupyter server log ({log_path}) ---", file=sys.stderr)
        print(log_path.read_text(encoding="utf-8", errors="replace")[-20000:], file=sys.stderr)
        raise
    finally:
        if client is not None:
            client.close()
        if process is not None:
            stop_server(process)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
