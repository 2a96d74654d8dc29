"""Shared fixtures: the repository, the coral-lsp binary, the bundled sample notebooks."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path
from typing import List

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SAMPLE = HERE / "data" / "notebooks"


def coral_lsp() -> Path:
    """`$CORAL_LSP`, else the workspace's debug build, else its release build."""
    given = os.environ.get("CORAL_LSP")
    if given:
        return Path(given)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    for profile in ("debug", "release"):
        candidate = target / profile / "coral-lsp"
        if candidate.is_file():
            return candidate
    pytest.skip("no coral-lsp binary: build it (cargo build -p coral-server) or set CORAL_LSP")


def check_json(*paths: Path, extra: List[str] = ()) -> dict:
    """`coral-lsp --check --format json` on `paths`, run from the repository root."""
    done = subprocess.run(
        [str(coral_lsp()), "--check", "--format", "json", "--no-config", "--no-progress",
         *extra, *[str(p.relative_to(ROOT)) for p in paths]],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    # 0: clean, 1: findings; 2 would be an unreadable file or a usage error.
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def sample_notebooks() -> List[Path]:
    return sorted(SAMPLE.glob("*.ipynb"))


@pytest.fixture(scope="session")
def sample_shard(tmp_path_factory, sample_notebooks) -> Path:
    """The sample as one gzipped JSON Lines shard in the corpus's schema."""
    path = tmp_path_factory.mktemp("shards") / "shard-000.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for nb_path in sample_notebooks:
            nb = json.loads(nb_path.read_text())
            record = {
                "id": "nb-" + nb_path.stem,
                "repo": "coral/sample",
                "path": nb_path.name,
                "commit": "0" * 40,
                "cells": [
                    {"cell_type": c["cell_type"], "source": "".join(c["source"])}
                    for c in nb["cells"]
                ],
            }
            out.write(json.dumps(record) + "\n")
    return path
