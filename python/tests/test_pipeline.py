"""The Ray Data pipeline on the bundled sample with two workers, and the report on its output."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import coral
from coral_study import label as study_label
from coral_study import report as study_report

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_local():
    study_label.start_ray(None, workers=2, threads=1)
    yield
    ray.shutdown()


def non_empty_code_cells(notebook: dict) -> int:
    return sum(
        c["cell_type"] == "code" and not study_label.is_empty(study_label.cell_source(c))
        for c in notebook["cells"])


def test_two_workers_label_shards_and_ipynb(ray_local, tmp_path, sample_notebooks, sample_shard):
    out = tmp_path / "labels"
    run = study_label.label([str(sample_shard), str(sample_notebooks[0].parent)], out,
                            workers=2, threads=1, batch_size=2)
    expected_cells = 2 * sum(non_empty_code_cells(json.loads(p.read_text()))
                             for p in sample_notebooks)
    assert run["workers"] == 2
    assert run["notebooks"] == 2 * len(sample_notebooks)
    assert run["unreadable_notebooks"] == 0
    assert run["cell_rows"] == expected_cells

    cells = pq.ParquetDataset(str(out / "cells")).read().to_pandas()
    notebooks = pq.ParquetDataset(str(out / "notebooks")).read().to_pandas()
    assert len(cells) == expected_cells
    assert set(notebooks["id"]) == (
        {"nb-" + p.stem for p in sample_notebooks} | {str(p) for p in sample_notebooks})

    # The same labels as the package gives for each notebook on its own.
    labeler = coral.Labeler()
    for path in sample_notebooks:
        direct = labeler.label_notebook(path.read_text(), name=str(path))
        want = [(c["index"], c["stage"]) for c in direct["cells"]
                if c["index"] in set(cells[cells.notebook_id == str(path)]["index"])]
        for nb_id in (str(path), "nb-" + path.stem):
            got = cells[cells.notebook_id == nb_id].sort_values("index")
            assert list(zip(got["index"], got["stage"])) == want, nb_id
        row = notebooks[notebooks.id == str(path)].iloc[0]
        assert row["normalized_entropy"] == pytest.approx(
            direct["summary"]["normalized_entropy"])
        assert list(row["findings"]) == [f["rule"] for f in direct["findings"]]

    # The report on that output: every figure, and its numbers beside it.
    report_dir = tmp_path / "report"
    assert study_report.main([str(out), "--out", str(report_dir)]) == 0
    page = (report_dir / "index.html").read_text()
    assert page.count("<svg") == 6
    for heading in ("Stage shares", "Transitions", "Normalized stage entropy",
                    "against notebook size", "Findings", "could differ"):
        assert heading in page
    summary = json.loads((report_dir / "summary.json").read_text())
    assert summary["stats"]["cell_rows"] == expected_cells


def test_unreadable_notebook_becomes_an_error_row(ray_local, tmp_path):
    shard = tmp_path / "bad.jsonl"
    good = {"id": "nb-good", "repo": "r", "path": "p.ipynb", "commit": "0",
            "cells": [{"cell_type": "code", "source": "import pandas as pd"}]}
    bad = {"id": "nb-bad", "cells": [{"cell_type": "code", "source": 3}]}
    shard.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    run = study_label.label([str(shard)], tmp_path / "out", workers=2, threads=1)
    assert run["unreadable_notebooks"] == 1 and run["cell_rows"] == 1
    notebooks = pq.ParquetDataset(str(tmp_path / "out" / "notebooks")).read().to_pandas()
    error = notebooks.set_index("id").loc["nb-bad", "error"]
    assert "cell 0" in error or "source" in error, error


def test_a_line_separator_inside_a_record_does_not_split_it(ray_local, tmp_path):
    # JSON may hold U+2028 raw in a string; JSON Lines still ends a record only at "\n".
    record = {"id": "nb-sep", "cells": [
        {"cell_type": "code", "source": "import pandas as pd\n# a\u2028b"},
        {"cell_type": "code", "source": "df = pd.read_csv('x.csv')\r\x85"}]}
    shard = tmp_path / "sep.jsonl"
    shard.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    assert "\u2028" in shard.read_text(encoding="utf-8")
    run = study_label.label([str(shard)], tmp_path / "out", workers=1, threads=1)
    assert (run["notebooks"], run["unreadable_notebooks"], run["cell_rows"]) == (1, 0, 2)
