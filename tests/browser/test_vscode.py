"""coral's VS Code extension in a real VS Code (code-server), in a real browser.

code-server (VS Code 1.139 for the browser, Node 24) runs with no auth on a free loopback port,
no extension gallery, a temporary user-data and extensions folder into which the built .vsix is
installed (`--install-extension`), `coral.server.path` set to `$CORAL_LSP`, and a temporary
workspace holding the notebook of notebook.py. Chromium opens the notebook from the explorer
and checks, against `coral-lsp --check`:

1. every code cell's status bar item reads `<STAGE> <p>%`, and its first line ends with the
   inlay hint `<STAGE> <p>`;
2. the notebook toolbar's "Show pipeline" opens the pipeline webview, whose stage strip has one
   block per code cell, in order, coloured by stage.

run.sh sets code-server up (`$CORAL_CODE_SERVER`, `$CORAL_CODE_SERVER_NODE`, `$CORAL_VSIX`);
without it this module is skipped and says why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import TIMEOUT_S, free_port, shoot, wait_until
from notebook import CELLS, STAGES, check, write_notebook

CORAL_LSP = os.environ.get("CORAL_LSP", "")
CODE_SERVER = os.environ.get("CORAL_CODE_SERVER", "")
NODE_DIR = os.environ.get("CORAL_CODE_SERVER_NODE", "")  # a folder holding Node 24's `node`
VSIX = os.environ.get("CORAL_VSIX", "")
CODE_CELLS = [i for i, (kind, _) in enumerate(CELLS) if kind == "code"]

CURRENT_PAGE = None  # for conftest's failure screenshot


def user_settings(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "coral.server.path": CORAL_LSP,
        # Nothing between the user and the notebook: no trust prompt, welcome page, chat, tips.
        "security.workspace.trust.enabled": False,
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "workbench.secondarySideBar.defaultVisibility": "hidden",
        "chat.disableAIFeatures": True,
        "telemetry.telemetryLevel": "off",
        "update.mode": "none",
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "extensions.ignoreRecommendations": True,
    }, indent=1) + "\n", encoding="utf-8")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Code:
    def __init__(self, page, work, env):
        self.page, self.work, self.env = page, work, env

    def row(self, index: int):
        """The notebook editor's list row of cell `index`."""
        return self.page.locator(f".notebookOverlay .monaco-list-row[data-index='{index}']")

    def status_items(self, index: int) -> list[str]:
        return [t.strip() for t in self.row(index).locator(".cell-status-item").all_inner_texts()]

    def first_line(self, index: int) -> str:
        lines = self.row(index).locator(".view-line")
        if lines.count() == 0:
            return ""
        return lines.first.inner_text().replace("\xa0", " ")

    def strip_blocks(self):
        """The blocks of the pipeline webview's stage strip (VS Code nests each webview in two
        iframes, and the notebook's output renderer is a webview too: the one with blocks)."""
        for frame in self.page.frames:
            blocks = frame.locator("[data-cell][class*='stage-']")
            try:
                if blocks.count() > 0:
                    return blocks
            except Exception:  # a frame that went away meanwhile
                continue
        return None


def open_notebook(page) -> None:
    """Click churn.ipynb in the explorer until it opens in the notebook editor. Clicked before
    the workbench has read the built-in extensions' manifests, VS Code opens the file as JSON
    text: then close that tab and click again."""
    row = page.locator(".explorer-folders-view .monaco-list-row", has_text="churn.ipynb")
    notebook = page.locator(".notebookOverlay").first
    deadline = time.monotonic() + TIMEOUT_S * 2
    while True:
        row.click()
        try:
            notebook.wait_for(timeout=10_000)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
        print("churn.ipynb opened as text (extensions not registered yet): closing it, clicking again")
        tab = page.locator(".tabs-container .tab.active")
        tab.hover()
        tab.locator(".tab-actions .action-label").first.click()
        time.sleep(2)


@pytest.fixture(scope="module")
def code(browser, artefacts):
    global CURRENT_PAGE
    if not CODE_SERVER:
        pytest.skip(os.environ.get("CORAL_CODE_SERVER_WHY", "code-server is not set up (run.sh does it)"))
    if not CORAL_LSP or not Path(CORAL_LSP).is_file():
        pytest.fail(f"CORAL_LSP must name the coral-lsp binary (got {CORAL_LSP!r})")
    work = Path(tempfile.mkdtemp(prefix="coral-browser-code-"))
    user_data, extensions, workspace = work / "user-data", work / "extensions", work / "workspace"
    extensions.mkdir()
    write_notebook(workspace / "churn.ipynb", CELLS)
    # coral.server.path is machine-overridable: in code-server (a remote window) VS Code reads
    # such settings from the remote machine's settings too, so both files carry it.
    user_settings(user_data / "User" / "settings.json")
    user_settings(user_data / "Machine" / "settings.json")
    config = work / "config.yaml"
    config.write_text("", encoding="utf-8")
    env = {
        **os.environ,
        "PATH": f"{NODE_DIR}{os.pathsep}{os.environ['PATH']}" if NODE_DIR else os.environ["PATH"],
        # No extension gallery: code-server would otherwise ask one on the network.
        "EXTENSIONS_GALLERY": "{}",
        "XDG_CONFIG_HOME": str(work / "xdg-config"),
        "XDG_DATA_HOME": str(work / "xdg-data"),
        "XDG_CACHE_HOME": str(work / "xdg-cache"),
        "CORAL_LOG": os.environ.get("CORAL_LOG", "info"),
    }
    common = ["--config", str(config), "--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]
    install = subprocess.run([CODE_SERVER, *common, "--install-extension", VSIX],
                             capture_output=True, text=True, env=env, timeout=300)
    assert install.returncode == 0 and "successfully installed" in install.stdout, (
        f"code-server --install-extension {VSIX}: {install.returncode}\n{install.stdout}\n{install.stderr}")
    print(f"installed {Path(VSIX).name} into code-server")

    port = free_port()
    log_path = work / "code-server.log"
    log = open(log_path, "w", encoding="utf-8")
    process = context = None
    try:
        started = time.monotonic()
        process = subprocess.Popen(
            [CODE_SERVER, *common, "--auth", "none", "--bind-addr", f"127.0.0.1:{port}",
             "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust",
             "--disable-getting-started-override", str(workspace)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"

        def up():
            if process.poll() is not None:
                raise AssertionError(f"code-server exited ({process.returncode}); log: {log_path}")
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_until("code-server to answer /healthz", up, timeout=120)
        print(f"code-server up at {base} in {time.monotonic() - started:.1f}s")
        # Tall enough for the whole notebook: VS Code renders only the cells in view.
        context = browser.new_context(viewport={"width": 1400, "height": 1700})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_S * 1000)
        CURRENT_PAGE = page
        page.goto(f"{base}/?folder={workspace}")
        open_notebook(page)
        yield Code(page, work, env)
    except BaseException:
        if CURRENT_PAGE is not None:  # the page as it was when the set-up failed
            CURRENT_PAGE.screenshot(path=str(artefacts / "FAILED-vscode-setup.png"))
            (artefacts / "FAILED-vscode-setup.html").write_text(CURRENT_PAGE.content(), encoding="utf-8")
        raise
    finally:
        CURRENT_PAGE = None
        if context is not None:
            context.close()
        if process is not None:
            stop(process)
        log.close()
        shutil.copy(log_path, artefacts / "code-server.log")
        shutil.rmtree(work, ignore_errors=True)


STAGE = "|".join(STAGES)


def test_status_bar_items_and_inlay_hints(code, artefacts):
    report = check(CELLS, code.work, code.env)
    cells = {c["index"]: c for c in report["cells"]}
    assert sorted(i for i, c in cells.items() if c["stage"]) == CODE_CELLS, cells

    def status(index):  # (stage, percent) of the cell's coral item, or None
        for text in code.status_items(index):
            m = re.search(rf"({STAGE}) (\d+)%$", text)
            if m:
                return m.group(1), int(m.group(2))
        return None

    def hint(index):  # (stage, probability) of the inlay hint on the cell's first line
        # The hint is injected text right after the line's code (its spacing is CSS padding).
        m = re.search(rf"({STAGE}) (\d\.\d\d)$", code.first_line(index).rstrip())
        return (m.group(1), float(m.group(2))) if m else None

    started = time.monotonic()
    try:
        wait_until("a coral status bar item and inlay hint on every code cell",
                   lambda: all(status(i) and hint(i) for i in CODE_CELLS), timeout=TIMEOUT_S * 2)
    except AssertionError as error:
        raise AssertionError(f"{error}: " + "; ".join(
            f"cell {i}: status {code.status_items(i)} line {code.first_line(i)!r}" for i in CODE_CELLS)) from None
    print(f"status bar items and inlay hints on all {len(CODE_CELLS)} code cells after "
          f"{time.monotonic() - started:.1f}s")
    for index in CODE_CELLS:
        want = cells[index]["stage"]
        p = cells[index]["probabilities"][want]
        stage, percent = status(index)
        assert stage == want and abs(percent - 100 * p) <= 1, f"cell {index}: status {stage} {percent}%, --check {want} {p}"
        stage, shown = hint(index)
        assert stage == want and abs(shown - p) <= 0.011, f"cell {index}: inlay hint {stage} {shown}, --check {want} {p}"
        print(f"ok: cell {index}: status bar '{want} {percent}%', inlay hint '{want} {shown:.2f}'")
    shoot(code.page, artefacts, "vscode-1-status-bar-and-inlay-hints")


def test_pipeline_view_draws_the_stage_strip(code, artefacts):
    report = check(CELLS, code.work, code.env)
    want = [c["stage"] for c in sorted(report["cells"], key=lambda c: c["index"])]
    page = code.page
    # The notebook toolbar's "Show pipeline" (coral.showPipeline), as a user clicks it.
    page.locator(".notebook-toolbar-container").get_by_text("Show pipeline").click()

    def stages():
        blocks = code.strip_blocks()
        if blocks is None:
            return None
        classes = blocks.evaluate_all("els => els.map(e => e.className)")
        return [next((s for s in STAGES if f"stage-{s}" in c.split()), None) for c in classes]

    wait_until(f"the pipeline strip's {len(want)} blocks", lambda: stages() == want)
    print(f"ok: pipeline view strip: {' '.join(s[0] for s in stages())}")
    shoot(page, artefacts, "vscode-2-pipeline-view")
