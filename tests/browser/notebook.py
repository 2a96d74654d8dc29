"""The notebook both browser tests open, and what coral should say about it.

The notebook is written here (not copied from a corpus): markdown context, and one code cell per
stage (two EXPLORE). What coral should say is what `coral-lsp --check --format json` says about
the same cells, so the tests hold whatever the model says, as long as their premises hold.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

#: The oracle: `coral-lsp --check` (`$CORAL_CHECK`, default `$CORAL_LSP`, the server under test).
CORAL_CHECK = os.environ.get("CORAL_CHECK") or os.environ.get("CORAL_LSP", "")
STAGES = ("IMPORT", "WRANGLE", "EXPLORE", "MODEL", "EVALUATE")

#: The notebook under test: markdown context, and one code cell per stage (two EXPLORE).
CELLS = [
    ("markdown", "# Customer churn\n\nWhich customers leave, and can we predict it?"),
    ("code", "import pandas as pd\nimport numpy as np\n"
             "from sklearn.model_selection import train_test_split\n"
             "from sklearn.linear_model import LogisticRegression\n"
             "from sklearn.metrics import accuracy_score"),
    ("markdown", "## Load and clean"),
    ("code", 'df = pd.read_csv("churn.csv")\ndf = df.dropna()\n'
             'df["tenure_years"] = df["tenure"] / 12'),
    ("markdown", "## Explore"),
    ("code", "df.describe()"),
    ("code", 'df["churn"].value_counts().plot(kind="bar")'),
    ("markdown", "## Model"),
    ("code", 'X = df[["tenure_years", "monthly_charges"]]\ny = df["churn"]\n'
             "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
             "model = LogisticRegression().fit(X_train, y_train)"),
    ("code", "accuracy_score(y_test, model.predict(X_test))"),
]
#: The EXPLORE cell the user rewrites, and what they type.
EDITED = 6
MODEL_FIT = "from sklearn.linear_model import Ridge\nridge = Ridge().fit(X, y)"


def write_notebook(path: Path, cells) -> None:
    def lines(s: str):
        parts = s.split("\n")
        return [p + "\n" for p in parts[:-1]] + [parts[-1]]

    path.parent.mkdir(parents=True, exist_ok=True)
    nb = {
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": lines(source),
             **({"outputs": [], "execution_count": None} if kind == "code" else {})}
            for kind, source in cells
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4, "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")


def check(cells, work: Path, env: dict) -> dict:
    """`coral-lsp --check --format json` on `cells`, written under `work` (outside what the
    editor sees)."""
    path = work / "oracle" / "notebook.ipynb"
    write_notebook(path, cells)
    run = subprocess.run(
        [CORAL_CHECK, "--check", "--no-config", "--format", "json", str(path)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    if run.returncode not in (0, 1):
        raise AssertionError(f"{CORAL_CHECK} --check failed ({run.returncode}): {run.stderr}")
    report = json.loads(run.stdout)
    if report["model"].get("fallback"):
        pytest.fail("coral-lsp --check ran without its model (no ONNX Runtime or no models/); "
                    "the probabilities are part of the checks: run scripts/fetch-onnxruntime.sh")
    return report["files"][0]
