"""The Python package against the command line: same labels, same JSON, errors that name the
notebook, and the interpreter released while a batch is labelled."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

import coral
from conftest import ROOT, check_json


@pytest.fixture(scope="module")
def labeler() -> coral.Labeler:
    return coral.Labeler()


def test_the_model_is_found(labeler):
    # Discovery as the CLI's (ORT_DYLIB_PATH or .ort/lib; the packaged or the project's model).
    assert labeler.has_model, labeler.fallback_reason
    info = labeler.model_info
    assert info["featurizer_version"] == coral.FEATURIZER_VERSION
    assert info["fallback"] is False and info["provider"]
    assert coral.ort_library()


def test_same_json_as_check(labeler, sample_notebooks):
    examples = sorted((ROOT / "examples").glob("*.ipynb"))
    paths = sample_notebooks + examples
    cli = check_json(*paths)
    assert cli["model"]["fallback"] is False
    assert len(cli["files"]) == len(paths) and not cli["errors"]
    for path, expected in zip(paths, cli["files"]):
        name = str(path.relative_to(ROOT))
        assert expected["path"] == name
        got = labeler.label_notebook(path.read_text(), name=name)
        assert got == expected, name
    # A batch gives what one notebook at a time gives.
    batch = labeler.label_batch([p.read_text() for p in paths],
                                names=[str(p.relative_to(ROOT)) for p in paths])
    assert batch == cli["files"]


def test_percent_script_as_check(labeler):
    path = ROOT / "examples" / "percent_script.py"
    cli = check_json(path)
    name = str(path.relative_to(ROOT))
    assert labeler.label_script(path.read_text(), name=name) == cli["files"][0]


def test_heuristics_as_check_no_model(sample_notebooks):
    labeler = coral.Labeler(use_model=False)
    assert not labeler.has_model and labeler.fallback_reason
    cli = check_json(*sample_notebooks, extra=["--no-model"])
    for path, expected in zip(sample_notebooks, cli["files"]):
        got = labeler.label_notebook(path.read_bytes(), name=expected["path"])
        assert got == expected
        assert all(c["source"] == "heuristic" for c in got["cells"])


def test_str_bytes_and_dict_agree(labeler, sample_notebooks):
    path = sample_notebooks[0]
    text = path.read_text()
    as_str = labeler.label_notebook(text, name="x")
    assert labeler.label_notebook(text.encode(), name="x") == as_str
    assert labeler.label_notebook(json.loads(text), name="x") == as_str


def test_result_shape(labeler, sample_notebooks):
    result = labeler.label_notebook(sample_notebooks[0].read_text(), name="nb")
    assert set(result) == {"path", "cells", "summary", "findings"}
    cell = result["cells"][0]
    assert cell["stage"] in coral.STAGES
    assert cell["source"] == "model"
    assert set(cell["probabilities"]) == set(coral.STAGES)
    assert abs(sum(cell["probabilities"].values()) - 1) < 1e-3
    assert set(result["summary"]) == {
        "stage_shares", "entropy", "normalized_entropy", "transition_rate"}


def test_bad_json_raises_coral_error_naming_the_notebook(labeler):
    with pytest.raises(coral.CoralError, match=r"^broken\.ipynb: ") as err:
        labeler.label_notebook('{"cells": [', name="broken.ipynb")
    assert isinstance(err.value, ValueError)
    assert err.value.notebook == "broken.ipynb"
    # Unnamed: a dict names itself by its id; in a batch, by its position.
    with pytest.raises(coral.CoralError, match=r"^nb-123: ") as err:
        labeler.label_notebook({"id": "nb-123", "cells": [{"cell_type": "code", "source": 7}]})
    assert err.value.notebook == "nb-123"
    good = '{"cells": [{"cell_type": "code", "source": "import pandas"}]}'
    with pytest.raises(coral.CoralError, match=r"^notebook\[1\]: ") as err:
        labeler.label_batch([good, "not json", good])
    assert err.value.notebook == "notebook[1]"


def test_batch_can_return_errors_in_place(labeler):
    good = '{"cells": [{"cell_type": "code", "source": "import pandas"}]}'
    out = labeler.label_batch([good, "{", good], names=["a", "b", "c"], errors="return")
    assert [r["path"] for r in out] == ["a", "b", "c"]
    assert "error" in out[1] and "cells" not in out[1]
    assert out[0]["cells"][0]["stage"] == "IMPORT"


def test_argument_errors(labeler):
    with pytest.raises(coral.CoralError, match="unknown device"):
        coral.Labeler(device="tpu")
    with pytest.raises(coral.CoralError, match="min_entropy"):
        coral.Labeler(min_entropy=2.0)
    with pytest.raises(coral.CoralError, match="expected a notebook"):
        labeler.label_notebook(42)
    with pytest.raises(coral.CoralError, match="names for"):
        labeler.label_batch(["{}"], names=["a", "b"])
    with pytest.raises(coral.CoralError, match="errors must be"):
        labeler.label_batch([], errors="ignore")
    # An explicit model that cannot be used is an error, as `--check --model` makes it.
    with pytest.raises(coral.CoralError, match="no model found"):
        coral.Labeler(model_dir=str(ROOT / "no-such-model"))


def test_label_batch_releases_the_gil(sample_notebooks):
    # No cache hits across calls: each call labels fresh notebooks (the cell text varies).
    labeler = coral.Labeler(threads=1)
    texts = []
    for i in range(150):
        for path in sample_notebooks:
            nb = json.loads(path.read_text())
            for cell in nb["cells"]:
                cell["source"] = [*cell["source"], f"\n# {i}"]
            texts.append(json.dumps(nb))
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.002)

    ticker = threading.Thread(target=tick)
    ticker.start()
    start = time.perf_counter()
    out = labeler.label_batch(texts)
    end = time.perf_counter()
    done.set()
    ticker.join()
    assert len(out) == len(texts)
    during = [t for t in ticks if start < t < end]
    # Holding the GIL for the whole call would leave the ticker silent until it returned.
    assert end - start > 0.05
    assert len(during) >= 5, (len(during), end - start)


def test_threads_and_repr():
    labeler = coral.Labeler(threads=1)
    assert labeler.threads == 1
    assert "Labeler(" in repr(labeler)


def test_typing_files_ship():
    package = Path(coral.__file__).parent
    assert (package / "py.typed").is_file()
    assert (package / "_coral.pyi").is_file()


def test_the_package_ships_the_model(labeler):
    model = Path(coral.__file__).parent / "_model" / "coral.onnx"
    assert model.is_file()
    # Found before the project's models/, as the CLI finds a model beside its executable first.
    if not os.environ.get("CORAL_MODEL_DIR"):
        assert Path(labeler.model_info["path"]).resolve() == model.resolve()
