"""Shared pieces of the browser tests: one Chromium (Debian's, driven by Playwright), the
artefacts folder, a screenshot of the page whenever a test fails, and small helpers."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
#: Debian's Chromium. Playwright's own browser download is not used (nor reachable here).
CHROMIUM = os.environ.get("CORAL_CHROMIUM", "/usr/bin/chromium")
#: Screenshots and logs, kept after the run.
ARTEFACTS = Path(os.environ.get("CORAL_BROWSER_OUT", ROOT / "target" / "browser")).resolve()
#: How long one thing a user waits for (a page, a diagnostic, a tooltip) may take.
TIMEOUT_S = float(os.environ.get("CORAL_BROWSER_TIMEOUT", "60"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what: str, check, timeout: float = TIMEOUT_S, every: float = 0.25):
    """`check()`'s first truthy value; AssertionError naming `what` (and the last value seen)
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last seen: {last!r}")
        time.sleep(every)


@pytest.fixture(scope="session")
def artefacts() -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium (or set CORAL_CHROMIUM)")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                # Root in CI containers: Chromium's sandbox needs user namespaces it may not get.
                "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                # The pages under test are on loopback; the browser resolves no other host.
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            ],
        )
        try:
            yield b
        finally:
            b.close()


def shoot(page, artefacts: Path, name: str) -> Path:
    path = artefacts / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def pytest_runtest_setup(item):
    # The tests of a module are steps on one page: after a failed step, the rest are skipped.
    failed = getattr(item.module, "_FAILED_STEP", None)
    if failed is not None:
        pytest.skip(f"an earlier step failed: {failed}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call"):
        item.module._FAILED_STEP = item.name
    if report.when in ("setup", "call") and report.failed:
        page = getattr(item.module, "CURRENT_PAGE", None)
        if page is not None:
            try:
                ARTEFACTS.mkdir(parents=True, exist_ok=True)
                path = ARTEFACTS / f"FAILED-{item.name}-{report.when}.png"
                page.screenshot(path=str(path))
                report.sections.append(("failure screenshot", str(path)))
            except Exception as error:  # the page may be gone
                report.sections.append(("failure screenshot", f"none: {error}"))
