"""coral in JupyterLab, in a real browser.

One JupyterLab (jupyterlab + jupyterlab-lsp + jupyterlab-coral, no token, a free loopback port,
a temporary root holding a notebook written here) starts coral-lsp from `$CORAL_LSP`; Debian's
Chromium, driven by Playwright, opens the notebook and checks what a user sees:

1. every code cell gets coral's information diagnostic (the underline on its first line), and
   hovering it shows `stage: <STAGE> <p>`;
2. jupyterlab-lsp's diagnostics panel lists one coral row per code cell, with the cell number;
3. turning an EXPLORE cell into a model fit (typed into the cell, not saved) turns its stage into
   MODEL;
4. Ctrl+hover inside a cell shows coral's hover: the stage and the five probabilities.

What coral should say is what `coral-lsp --check --format json` says about the same cells
(`$CORAL_CHECK`, default `$CORAL_LSP`), so the test holds whatever the model says, as long as
the premise holds (the edited cell is EXPLORE before and MODEL after). The model must be loaded
(probabilities are part of the check): scripts/fetch-onnxruntime.sh provides ONNX Runtime.
Screenshots go to target/browser/ (`$CORAL_BROWSER_OUT`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import TIMEOUT_S, free_port, shoot, wait_until
from notebook import CELLS, EDITED, MODEL_FIT, STAGES, check, write_notebook

CORAL_LSP = os.environ.get("CORAL_LSP", "")
NOTEBOOK = "analysis/churn.ipynb"

CURRENT_PAGE = None  # for conftest's failure screenshot


def expected_rows(report) -> set[tuple]:
    """jupyterlab-lsp's diagnostics panel, as coral should fill it: (cell number, code, stage
    text or None). Cell numbers count from 1 over all cells, as the panel does."""
    rows = set()
    first_code = min(c["index"] for c in report["cells"])
    for cell in report["cells"]:
        if cell["stage"] is not None:
            p = cell["probabilities"][cell["stage"]]
            rows.add((cell["index"] + 1, "stage", f"{cell['stage']} {p:.2f}"))
    for finding in report["findings"]:
        index = finding["cell"] if finding["cell"] is not None else first_code
        rows.add((index + 1, finding["rule"], None))
    return rows


def stage_text(message: str) -> str | None:
    """`EXPLORE 0.98` out of a stage diagnostic's message as shown."""
    m = re.search(r"\b(" + "|".join(STAGES) + r") (\d\.\d\d)\b", message)
    return f"{m.group(1)} {m.group(2)}" if m else None


# ---------------------------------------------------------------------------------------------
# JupyterLab, and one page on it
# ---------------------------------------------------------------------------------------------


class Lab:
    def __init__(self, url, page, work, log_path, env):
        self.url, self.page, self.work, self.log_path, self.env = url, page, work, log_path, env

    def cell(self, index: int):
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index)

    def lint_tooltip(self, index: int) -> str:
        """Hover the first information underline of cell `index`; the lint tooltip's text."""
        page = self.page
        page.mouse.move(1, 1)
        page.locator(".cm-tooltip-lint").wait_for(state="detached", timeout=TIMEOUT_S * 1000)
        self.cell(index).locator(".cm-lintRange-info").first.hover()
        tip = page.locator(".cm-tooltip-lint")
        tip.wait_for(timeout=TIMEOUT_S * 1000)
        return tip.inner_text()

    def panel_rows(self) -> list[dict]:
        """The diagnostics panel's table, one dict per row keyed by column id."""
        return self.page.locator("table.lsp-diagnostics-listing").evaluate(
            """t => {
                const ids = [...t.querySelectorAll('thead th')].map(th => th.dataset.id);
                return [...t.querySelectorAll('tbody tr')].map(tr => Object.fromEntries(
                    [...tr.children].map((td, i) => [ids[i], td.innerText.trim()])));
            }"""
        )

    def seen_rows(self) -> set[tuple]:
        out = set()
        for row in self.panel_rows():
            assert row.get("Source") == "coral", row
            code = row.get("Code")
            text = stage_text(row["Message"]) if code == "stage" else None
            out.add((int(row["Cell"]), code, text))
        return out

    def wait_for_rows(self, expected: set[tuple], what: str) -> None:
        try:
            wait_until(what, lambda: self.seen_rows() == expected)
        except AssertionError:
            seen = self.seen_rows()
            raise AssertionError(
                f"{what}: the diagnostics panel differs\n  missing: {sorted(expected - seen, key=str)}\n"
                f"  unexpected: {sorted(seen - expected, key=str)}") from None


def start_lab(root: Path, work: Path, env: dict, log) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
            # CI containers run as root; the server refuses that unless told.
            *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def up():
        if process.poll() is not None:
            raise AssertionError(f"JupyterLab exited ({process.returncode}); log: {log.name}")
        try:
            with urllib.request.urlopen(f"{base}/lsp/status", timeout=5) as response:
                return json.loads(response.read().decode("utf-8"))
        except OSError:
            return None

    status = wait_until("JupyterLab to answer /lsp/status", up, timeout=120)
    assert "coral" in status["sessions"], f"jupyter-lsp does not list coral: {sorted(status['sessions'])}"
    return process, base


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def lab(browser, artefacts):
    global CURRENT_PAGE
    if not CORAL_LSP or not Path(CORAL_LSP).is_file():
        pytest.fail(f"CORAL_LSP must name the coral-lsp binary (got {CORAL_LSP!r})")
    work = Path(tempfile.mkdtemp(prefix="coral-browser-lab-"))
    root = work / "root"
    write_notebook(root / NOTEBOOK, CELLS)
    settings = work / "settings"
    # No "official Jupyter news?" toast over the notebook.
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false"}\n', encoding="utf-8")
    env = {
        **os.environ,
        "CORAL_LSP": CORAL_LSP,
        "CORAL_LOG": os.environ.get("CORAL_LOG", "info"),
        "JUPYTER_CONFIG_DIR": str(work / "config"),
        "JUPYTER_DATA_DIR": str(work / "data"),
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"),
        "IPYTHONDIR": str(work / "ipython"),
    }
    log_path = work / "jupyterlab.log"
    log = open(log_path, "w", encoding="utf-8")
    process = context = None
    try:
        started = time.monotonic()
        process, base = start_lab(root, work, env, log)
        print(f"JupyterLab up at {base} in {time.monotonic() - started:.1f}s (coral-lsp: {CORAL_LSP})")
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_S * 1000)
        CURRENT_PAGE = page
        page.goto(f"{base}/lab/tree/{NOTEBOOK}")
        page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        yield Lab(base, page, work, log_path, env)
    except BaseException:
        if CURRENT_PAGE is not None:  # the page as it was when the set-up failed
            CURRENT_PAGE.screenshot(path=str(artefacts / "FAILED-jupyterlab-setup.png"))
        raise
    finally:
        CURRENT_PAGE = None
        if context is not None:
            context.close()
        if process is not None:
            stop(process)
        log.close()
        shutil.copy(log_path, artefacts / "jupyterlab.log")
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The tests, in order, on one page
# ---------------------------------------------------------------------------------------------


def test_each_code_cell_shows_its_stage(lab, artefacts):
    report = check(CELLS, lab.work, lab.env)
    stages = {c["index"]: c for c in report["cells"] if c["stage"] is not None}
    code_cells = [i for i, (kind, _) in enumerate(CELLS) if kind == "code"]
    assert sorted(stages) == code_cells, f"--check labels {sorted(stages)}, code cells {code_cells}"
    wait_until(f"the notebook's {len(CELLS)} cells", lambda: lab.page.locator(
        ".jp-Notebook .jp-Cell").count() == len(CELLS))

    started = time.monotonic()
    def bare():  # notebook cell numbers (from 1) without an information underline
        return [i + 1 for i in code_cells if lab.cell(i).locator(".cm-lintRange-info").count() == 0]

    try:
        wait_until("coral's diagnostic (an information underline) on every code cell",
                   lambda: not bare())
    except AssertionError as error:
        raise AssertionError(f"{error}: cells {bare()} have no diagnostic") from None
    print(f"diagnostics on all {len(code_cells)} code cells after {time.monotonic() - started:.1f}s")
    for index in code_cells:
        cell = stages[index]
        want = f"stage: {cell['stage']} {cell['probabilities'][cell['stage']]:.2f}"
        tip = lab.lint_tooltip(index)
        assert want in tip and "coral" in tip, f"cell {index}: tooltip {tip!r}, expected {want!r}"
        print(f"ok: cell {index + 1}: {want}")
    shoot(lab.page, artefacts, "jupyterlab-1-stage-tooltip")


def test_diagnostics_panel_lists_the_stages(lab, artefacts):
    page = lab.page
    page.mouse.move(1, 1)
    page.keyboard.press("Escape")
    # As a user would: the command palette (Ctrl+Shift+C), "Show diagnostics panel".
    page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").wait_for()
    page.keyboard.type("Show diagnostics panel")
    page.locator(".lm-CommandPalette-item.lm-mod-active", has_text="Show diagnostics panel").wait_for()
    page.keyboard.press("Enter")
    page.locator("table.lsp-diagnostics-listing").wait_for()
    expected = expected_rows(check(CELLS, lab.work, lab.env))
    lab.wait_for_rows(expected, "opened notebook")
    print(f"ok: diagnostics panel: {sorted(expected)}")
    shoot(page, artefacts, "jupyterlab-2-diagnostics-panel")


def test_edit_turns_explore_into_model(lab, artefacts):
    before = {c["index"]: c["stage"] for c in check(CELLS, lab.work, lab.env)["cells"]}
    edited = list(CELLS)
    edited[EDITED] = ("code", MODEL_FIT)
    report = check(edited, lab.work, lab.env)
    after = {c["index"]: c for c in report["cells"]}
    assert before[EDITED] == "EXPLORE" and after[EDITED]["stage"] == "MODEL", (
        f"premise: --check says cell {EDITED} is {before[EDITED]} before the edit and "
        f"{after[EDITED]['stage']} after (the model changed? pick another edit)")

    page = lab.page
    editor = lab.cell(EDITED).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(MODEL_FIT)
    page.keyboard.press("Escape")  # command mode: what a user leaves behind
    assert lab.cell(EDITED).locator(".cm-content").inner_text().strip() == MODEL_FIT

    lab.wait_for_rows(expected_rows(report), "edited notebook (unsaved)")
    p = after[EDITED]["probabilities"]["MODEL"]
    tip = lab.lint_tooltip(EDITED)
    assert f"stage: MODEL {p:.2f}" in tip, f"edited cell's tooltip: {tip!r}"
    print(f"ok: cell {EDITED + 1} EXPLORE -> MODEL {p:.2f}")
    shoot(page, artefacts, "jupyterlab-3-edited-cell-is-model")


def test_hover_shows_the_probabilities(lab, artefacts):
    edited = list(CELLS)
    edited[EDITED] = ("code", MODEL_FIT)
    cell = next(c for c in check(edited, lab.work, lab.env)["cells"] if c["index"] == EDITED)

    page = lab.page
    page.mouse.move(1, 1)
    page.locator(".cm-tooltip-lint").wait_for(state="detached")
    # The cell's second line ("ridge = Ridge().fit(X, y)"): coral answers anywhere in a cell.
    line = lab.cell(EDITED).locator(".cm-line").nth(1)
    line.scroll_into_view_if_needed()
    box = line.bounding_box()
    # jupyterlab-lsp shows the hover while Ctrl is held (its default modifier key).
    page.keyboard.down("Control")
    try:
        page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
        page.mouse.move(box["x"] + 40, box["y"] + box["height"] / 2, steps=4)
        hover = page.locator(".lsp-hover")
        hover.wait_for()
        text = hover.inner_text()
        headers = hover.locator("th").all_inner_texts()
        values = hover.locator("td").all_inner_texts()
        bold = hover.locator("td strong").all_inner_texts()
        shoot(page, artefacts, "jupyterlab-4-hover-probabilities")
    finally:
        page.keyboard.up("Control")
    assert f"cell {EDITED}" in text and "MODEL" in text, f"hover: {text!r}"
    assert [h.strip() for h in headers] == list(STAGES), f"hover table headers: {headers}"
    shown = [float(v.strip()) for v in values]
    want = [cell["probabilities"][s] for s in STAGES]
    # --check's JSON rounds to 4 decimals, the hover to 2: allow one unit of the last digit.
    assert len(shown) == 5 and all(abs(a - b) <= 0.011 for a, b in zip(shown, want)), (
        f"hover probabilities {shown}, --check {want}")
    assert abs(sum(shown) - 1.0) <= 0.03, shown
    assert len(bold) == 1 and float(bold[0]) == shown[STAGES.index("MODEL")], f"bold: {bold}"
    print(f"ok: hover on cell {EDITED + 1}: " + ", ".join(f"{s} {v:.2f}" for s, v in zip(STAGES, shown)))
