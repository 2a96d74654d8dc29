"""Label notebooks on Ray Data and write the labels as Parquet.

    python -m coral_study.label INPUT... --out DIR [--workers N] [--threads T] [--address ADDR]

INPUT: corpus shards (``*.jsonl``, ``*.jsonl.gz``: one notebook record per line, as in
``shared/data/notebooks``), ``.ipynb`` files, or folders holding either (recursively). Without
``--address`` a local Ray cluster is started for the run; with it, the run joins that cluster.

Ray Data reads the files, a pool of ``--workers`` actors, each holding one ``coral.Labeler`` of
``--threads`` threads, labels batches of notebooks (``map_batches``), and two Parquet datasets
are written through pyarrow:

- ``DIR/notebooks/``: one row per notebook (summary, findings, stage strip; ``error`` for an
  unreadable one);
- ``DIR/cells/``: one row per non-empty code cell (stage, source, probabilities, lines);

and ``DIR/run.json`` says what ran, how long it took and how many rows were written.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import pyarrow as pa
import pyarrow.compute as pc

STAGES = ("IMPORT", "WRANGLE", "EXPLORE", "MODEL", "EVALUATE")
LETTERS = {"IMPORT": "I", "WRANGLE": "W", "EXPLORE": "E", "MODEL": "M", "EVALUATE": "V", None: "."}
RULES = ("CRL001", "CRL002", "CRL003", "CRL004", "CRL005", "CRL006")

# Rust's `char::is_whitespace` (Unicode White_Space), which decides a cell is empty in coral-core.
# Python's `str.strip()` also strips U+001C..U+001F, so it would call a few more cells empty.
RUST_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

CELL_TYPE = pa.struct([
    ("index", pa.int32()),
    ("code_index", pa.int32()),
    ("stage", pa.string()),
    ("source", pa.string()),
    ("heuristic_rule", pa.string()),
    ("lines", pa.int32()),
    *[(f"p_{s.lower()}", pa.float32()) for s in STAGES],
])

NOTEBOOK_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("repo", pa.string()),
    ("path", pa.string()),
    ("origin", pa.string()),
    ("code_cells", pa.int32()),
    ("empty_cells", pa.int32()),
    ("labelled_cells", pa.int32()),
    ("model_cells", pa.int32()),
    ("lines", pa.int32()),
    ("strip", pa.string()),
    *[(f"share_{s.lower()}", pa.float64()) for s in STAGES],
    ("entropy", pa.float64()),
    ("normalized_entropy", pa.float64()),
    ("transition_rate", pa.float64()),
    ("findings", pa.list_(pa.string())),
    *[(rule.lower(), pa.bool_()) for rule in RULES],
    ("error", pa.string()),
    # The labelling actor's CPU time (all its threads) for the batch, shared out per notebook.
    ("cpu_seconds", pa.float64()),
    ("cells", pa.list_(CELL_TYPE)),
])


def is_empty(source: str) -> bool:
    return not source.strip(RUST_WHITESPACE)


def cell_source(cell: Dict[str, Any]) -> str:
    source = cell.get("source")
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def expand(inputs: Iterable[str]) -> Tuple[List[str], List[str]]:
    """The shard files and the ``.ipynb`` files among ``inputs`` (folders searched, sorted)."""
    shards: List[str] = []
    notebooks: List[str] = []

    def add(path: Path) -> None:
        name = path.name
        if name.endswith((".jsonl", ".jsonl.gz")):
            shards.append(str(path))
        elif name.endswith(".ipynb"):
            notebooks.append(str(path))

    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in found.relative_to(path).parts)
                if found.is_file() and not hidden:
                    add(found)
        elif path.is_file():
            add(path)
        else:
            raise SystemExit(f"coral_study.label: {item}: no such file or folder")
    return shards, notebooks


def parse_record(text: str) -> Dict[str, Any]:
    """The notebook as a dict, or ``{}`` when it is not a JSON object (coral then says why)."""
    try:
        record = json.loads(text)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def notebook_name(record: Dict[str, Any], origin: str) -> str:
    """A corpus record's ``id``; an ``.ipynb`` file's path."""
    name = record.get("id")
    return name if isinstance(name, str) and name else origin


def notebook_row(record: Dict[str, Any], origin: str, result: Dict[str, Any]) -> Dict[str, Any]:
    """One notebook's row: what coral said about it, and the corpus record's identity."""
    raw_cells = record.get("cells") if isinstance(record.get("cells"), list) else []
    empty = {
        i for i, c in enumerate(raw_cells)
        if isinstance(c, dict) and c.get("cell_type") == "code" and is_empty(cell_source(c))
    }
    row: Dict[str, Any] = {
        "id": result["path"],
        "repo": record.get("repo") if isinstance(record.get("repo"), str) else None,
        "path": record.get("path") if isinstance(record.get("path"), str) else origin,
        "origin": origin,
    }
    if "error" in result:
        row.update(error=result["error"], cells=[], findings=[])
        return row
    cells = []
    for cell in result["cells"]:
        if cell["index"] in empty:
            continue
        probs = cell.get("probabilities") or {}
        cells.append({
            "index": cell["index"],
            "code_index": len(cells),
            "stage": cell["stage"],
            "source": cell["source"],
            "heuristic_rule": cell["heuristic_rule"],
            "lines": cell["lines"],
            **{f"p_{s.lower()}": probs.get(s) for s in STAGES},
        })
    summary = result["summary"]
    rules = [f["rule"] for f in result["findings"]]
    row.update(
        code_cells=len(result["cells"]),
        empty_cells=len(result["cells"]) - len(cells),
        labelled_cells=sum(c["stage"] is not None for c in cells),
        model_cells=sum(c["source"] == "model" for c in cells),
        lines=sum(c["lines"] for c in cells),
        strip="".join(LETTERS.get(c["stage"], ".") for c in cells),
        **{f"share_{s.lower()}": summary["stage_shares"].get(s, 0.0) for s in STAGES},
        entropy=summary["entropy"],
        normalized_entropy=summary["normalized_entropy"],
        transition_rate=summary["transition_rate"],
        findings=rules,
        **{rule.lower(): rule in rules for rule in RULES},
        error=None,
        cells=cells,
    )
    return row


class LabelActor:
    """One Ray actor: one ``coral.Labeler``, loaded once, labelling batch after batch."""

    def __init__(self, threads: int, model_dir: Optional[str], device: str, use_model: bool):
        import coral  # in the worker process

        self.labeler = coral.Labeler(model_dir=model_dir, device=device, threads=threads,
                                     use_model=use_model)

    def __call__(self, batch: pa.Table) -> pa.Table:
        cpu = time.process_time()
        texts = batch.column("text").to_pylist()
        origins = batch.column("origin").to_pylist()
        # Parsed here for the record's identity and the cells' emptiness; coral parses the
        # text itself, so what it labels is exactly what `--check` would read.
        records = [parse_record(t) for t in texts]
        names = [notebook_name(r, o) for r, o in zip(records, origins)]
        results = self.labeler.label_batch(texts, names=names, errors="return")
        rows = [notebook_row(r, o, res) for r, o, res in zip(records, origins, results)]
        share = (time.process_time() - cpu) / max(len(rows), 1)
        for row in rows:
            row["cpu_seconds"] = share
        return pa.Table.from_pylist(rows, schema=NOTEBOOK_SCHEMA)


def explode_cells(batch: pa.Table) -> pa.Table:
    """Notebook rows to cell rows: one per element of ``cells``, with the notebook's id."""
    cells = batch.column("cells").combine_chunks()
    parents = pc.list_parent_indices(cells)
    flat = pc.list_flatten(cells)
    ids = pc.take(batch.column("id"), parents)
    columns = {"notebook_id": ids}
    for i, field in enumerate(CELL_TYPE):
        columns[field.name] = pc.struct_field(flat, [i])
    return pa.table(columns)


def _shard_lines(batch: pa.Table) -> pa.Table:
    """Whole shard files to one row per notebook record (``text``, ``origin``: the shard).

    JSON Lines records end at ``\\n`` only. Ray's ``read_text`` splits with ``str.splitlines``,
    which also breaks at U+2028, U+0085 and other separators that JSON strings may hold raw, and
    so cut two corpus notebooks in half; the split is done here instead."""
    texts: List[str] = []
    origins: List[str] = []
    for raw, path in zip(batch.column("bytes").to_pylist(), batch.column("path").to_pylist()):
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        for line in raw.split(b"\n"):
            if line.strip():
                texts.append(line.decode("utf-8", errors="replace"))
                origins.append(os.path.basename(path))
    return pa.table({"text": pa.array(texts, pa.string()), "origin": pa.array(origins, pa.string())})


def _ipynb_text(batch: pa.Table) -> pa.Table:
    raw = batch.column("bytes").to_pylist()
    texts = [b.decode("utf-8", errors="replace") for b in raw]
    return pa.table({"text": pa.array(texts, pa.string()), "origin": batch.column("path")})


def build_dataset(shards: List[str], notebooks: List[str], limit: Optional[int]):
    import ray.data

    parts = []
    if shards:
        # A read task needs almost no CPU; asking for little keeps it from waiting on actors.
        files = ray.data.read_binary_files(shards, include_paths=True, num_cpus=0.25)
        parts.append(files.map_batches(_shard_lines, batch_size=1, batch_format="pyarrow",
                                       num_cpus=0.25))
    if notebooks:
        files = ray.data.read_binary_files(notebooks, include_paths=True, num_cpus=0.25)
        parts.append(files.map_batches(_ipynb_text, batch_format="pyarrow", num_cpus=0.25))
    if not parts:
        raise SystemExit("coral_study.label: no .jsonl(.gz) shards or .ipynb files found")
    ds = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])
    return ds.limit(limit) if limit else ds


def start_ray(address: Optional[str], workers: int, threads: int, quiet: bool = True) -> None:
    """Joins ``address``, or starts a local cluster sized for ``workers`` × ``threads``."""
    import ray

    if ray.is_initialized():
        return
    env = {k: os.environ[k] for k in ("ORT_DYLIB_PATH", "CORAL_MODEL_DIR") if os.environ.get(k)}
    kwargs: Dict[str, Any] = {
        "runtime_env": {"env_vars": env} if env else None,
        "include_dashboard": False,
        "log_to_driver": not quiet,
        "logging_level": "warning" if quiet else "info",
    }
    if address:
        ray.init(address=address, **kwargs)
    else:
        # The actors reserve a CPU per labelling thread; reading and writing reserve a quarter
        # each, so one logical CPU beyond the machine's keeps them from queueing behind the pool.
        cores = os.cpu_count() or 1
        ray.init(num_cpus=max(cores, workers * threads) + 1, **kwargs)
    if quiet:
        ctx = __import__("ray.data", fromlist=["DataContext"]).DataContext.get_current()
        ctx.enable_progress_bars = False
        # Ray logs each dataset's execution plan at INFO; the run summary says what matters.
        import logging

        logging.getLogger("ray.data").setLevel(logging.WARNING)


def _model_info(model_dir: Optional[str], device: str, use_model: bool) -> Dict[str, Any]:
    """What the actors labelled with, as the driver finds it (same search, same machine in a
    local run)."""
    import warnings

    import coral

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = coral.Labeler(model_dir=model_dir, device=device, threads=1,
                             use_model=use_model).model_info
    return {k: info[k] for k in ("path", "featurizer_version", "device", "fallback")}


def label(
    inputs: List[str],
    out: Path,
    workers: int = 1,
    threads: int = 1,
    batch_size: int = 64,
    model_dir: Optional[str] = None,
    device: str = "auto",
    use_model: bool = True,
    limit: Optional[int] = None,
) -> Dict[str, Any]:
    """Labels ``inputs`` into ``out`` on the Ray cluster this process is connected to (see
    :func:`start_ray`); returns what ``run.json`` records."""
    import ray
    import ray.data
    import pyarrow.parquet as pq

    shards, notebooks = expand(inputs)
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("notebooks", "cells"):
        for old in (out / sub).glob("*.parquet"):
            old.unlink()

    start = time.perf_counter()
    ds = build_dataset(shards, notebooks, limit)
    labelled = ds.map_batches(
        LabelActor,
        fn_constructor_kwargs={"threads": threads, "model_dir": model_dir, "device": device,
                               "use_model": use_model},
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=threads,
    ).materialize()
    labelled_at = time.perf_counter()
    labelled.drop_columns(["cells"]).write_parquet(str(out / "notebooks"))
    labelled.map_batches(explode_cells, batch_format="pyarrow", num_cpus=0.25).write_parquet(
        str(out / "cells"))
    end = time.perf_counter()

    notebook_rows = pq.ParquetDataset(str(out / "notebooks")).read(
        columns=["code_cells", "empty_cells", "error", "cpu_seconds"])
    cell_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in (out / "cells").glob("*.parquet"))
    unreadable = notebook_rows.num_rows - notebook_rows.column("error").null_count
    run = {
        "inputs": [str(p) for p in inputs],
        "shards": len(shards),
        "ipynb_files": len(notebooks),
        "workers": workers,
        "threads_per_worker": threads,
        "batch_size": batch_size,
        "ray_address": ray.get_runtime_context().gcs_address,
        "cluster_cpus": ray.cluster_resources().get("CPU"),
        "notebooks": notebook_rows.num_rows,
        "unreadable_notebooks": unreadable,
        "cell_rows": cell_rows,
        "empty_code_cells": int(pc.sum(notebook_rows.column("empty_cells")).as_py() or 0),
        "seconds_label": round(labelled_at - start, 3),
        "seconds_total": round(end - start, 3),
        "cells_per_second": round(cell_rows / (end - start), 1) if end > start else None,
        "actor_cpu_seconds": round(pc.sum(notebook_rows.column("cpu_seconds")).as_py() or 0, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "model": _model_info(model_dir, device, use_model),
    }
    (out / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    return run


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m coral_study.label",
        description="Label notebooks on Ray Data; write Parquet (one row per cell, one per "
                    "notebook).")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help=".jsonl/.jsonl.gz shards, .ipynb files, or folders of them")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1)),
                        help="labelling actors (default: one per core)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per actor's Labeler (default 1)")
    parser.add_argument("--batch-size", type=int, default=64, help="notebooks per batch")
    parser.add_argument("--address", default=None,
                        help="an existing Ray cluster (ray://host:10001 or host:6379); "
                             "default: start a local one")
    parser.add_argument("--model", default=None, help="model folder (default: as coral finds it)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--no-model", action="store_true", help="heuristics only")
    parser.add_argument("--limit", type=int, default=None, help="label only the first N notebooks")
    parser.add_argument("--verbose", action="store_true", help="Ray's progress bars and logs")
    args = parser.parse_args(argv)

    start_ray(args.address, args.workers, args.threads, quiet=not args.verbose)
    run = label(args.inputs, args.out, workers=args.workers, threads=args.threads,
                batch_size=args.batch_size, model_dir=args.model, device=args.device,
                use_model=not args.no_model, limit=args.limit)
    print(json.dumps(run, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
