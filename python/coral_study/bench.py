"""Throughput of the Ray pipeline against single-process ``coral-lsp --check``, in one run.

    python -m coral_study.bench [CORPUS_DIR] --out DIR [--workers 1 2] [--coral-lsp PATH]

1. Counts the corpus's notebooks and non-empty code cells in plain Python (the expected row
   count).
2. Starts one local Ray cluster, then for each worker count labels the whole corpus with
   ``coral_study.label`` (one thread per worker) into ``DIR/ray-N/`` and times it (Ray's own
   start-up is left out; reading, labelling and writing Parquet are in).
3. Writes each shard record as an ``.ipynb`` file into a temporary folder outside the repository
   (not timed; removed afterwards) and times ``coral-lsp --check --format json`` on it, once with
   its default threads (all cores) and once with ``--threads 1``.
4. Checks that every Ray run wrote one cell row per non-empty code cell and that its labels equal
   ``--check``'s, cell by cell.

The load average is recorded before and after every step: on a shared machine it says how much
of the CPU the runs had. Results go to ``DIR/bench.json`` and, as a table, to stdout.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from . import label as study_label

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "notebooks"


def _records(corpus: Path) -> Iterator[Tuple[str, str]]:
    for shard in sorted(corpus.glob("shard-*.jsonl*")):
        opener = gzip.open if shard.name.endswith(".gz") else open
        with opener(shard, "rt", encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield shard.name, line


def count(corpus: Path) -> Dict[str, int]:
    notebooks = code = non_empty = 0
    for _, line in _records(corpus):
        record = json.loads(line)
        notebooks += 1
        for cell in record.get("cells", []):
            if cell.get("cell_type") == "code":
                code += 1
                non_empty += not study_label.is_empty(study_label.cell_source(cell))
    return {"notebooks": notebooks, "code_cells": code, "non_empty_code_cells": non_empty}


def _load() -> List[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _wait_for_idle_cluster(timeout: float = 120.0) -> None:
    """Until the previous run's actors have let go of their CPUs (else the next pool queues)."""
    import ray

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ray.available_resources().get("CPU", 0) >= ray.cluster_resources().get("CPU", 0):
            return
        time.sleep(0.5)


def run_ray(corpus: Path, out: Path, workers: int, batch_size: int) -> Dict[str, Any]:
    _wait_for_idle_cluster()
    before = _load()
    run = study_label.label([str(corpus)], out, workers=workers, threads=1,
                            batch_size=batch_size)
    return {"what": f"Ray Data, {workers} worker(s) × 1 thread", "workers": workers,
            "seconds": run["seconds_total"], "seconds_label": run["seconds_label"],
            "cells": run["cell_rows"], "notebooks": run["notebooks"],
            "unreadable": run["unreadable_notebooks"],
            "cells_per_second": round(run["cell_rows"] / run["seconds_total"], 1),
            "cpu_seconds": run["actor_cpu_seconds"],
            "cells_per_cpu_second": round(run["cell_rows"] / run["actor_cpu_seconds"], 1)
            if run["actor_cpu_seconds"] else None,
            "load_before": before, "load_after": _load(), "out": str(out)}


def write_ipynb(corpus: Path, folder: Path) -> int:
    """Each record as ``<id>.ipynb`` (its JSON as it is: coral reads a record as a notebook)."""
    n = 0
    for _, line in _records(corpus):
        record_id = json.loads(line)["id"]
        (folder / f"{record_id}.ipynb").write_text(line, encoding="utf-8")
        n += 1
    return n


def run_check(binary: Path, folder: Path, threads: Optional[int], json_out: Path
              ) -> Dict[str, Any]:
    args = [str(binary), "--check", "--format", "json", "--no-config", "--no-progress"]
    if threads:
        args += ["--threads", str(threads)]
    before = _load()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(json_out, "w") as out:
        done = subprocess.run([*args, str(folder)], stdout=out, stderr=subprocess.PIPE,
                              text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    if done.returncode not in (0, 1):
        raise SystemExit(f"coral-lsp --check failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(json_out.read_text())
    return {"what": f"coral-lsp --check, {'all cores' if not threads else f'{threads} thread'}",
            "threads": threads or os.cpu_count(), "seconds": round(seconds, 3),
            "cpu_seconds": round(cpu, 1),
            "notebooks": len(report["files"]), "errors": len(report["errors"]),
            "cells_listed": sum(len(f["cells"]) for f in report["files"]),
            "load_before": before, "load_after": _load(), "json": str(json_out)}


def compare(ray_out: Path, check_json: Path) -> Dict[str, Any]:
    """Cell-by-cell agreement of a Ray run's labels with ``--check``'s."""
    import pyarrow.parquet as pq

    cells = pq.ParquetDataset(str(ray_out / "cells")).read(
        columns=["notebook_id", "index", "stage"]).to_pylist()
    ray_labels = {(c["notebook_id"], c["index"]): c["stage"] for c in cells}
    report = json.loads(check_json.read_text())
    same = differ = missing = 0
    for f in report["files"]:
        nb_id = Path(f["path"]).stem
        for c in f["cells"]:
            key = (nb_id, c["index"])
            if key not in ray_labels:
                missing += 1  # an empty cell: not a row
                continue
            if ray_labels[key] == c["stage"]:
                same += 1
            else:
                differ += 1
    return {"same": same, "differ": differ, "check_cells_without_row": missing,
            "ray_rows": len(ray_labels)}


def projection(results: Dict[str, Any], notebooks: float = 1.1e6,
               price_per_cpu_hour: float = 0.04) -> str:
    """Markdown: the measured runs, then the time and cost of ``notebooks`` notebooks at the
    measured rates, with the arithmetic written out."""
    exp = results["expected"]
    per_nb = exp["non_empty_code_cells"] / exp["notebooks"]
    cells = notebooks * per_nb
    lines = ["| run | wall s | cells/s | CPU s | cells per CPU-second | load avg (1 min) "
             "before → after |", "|---|---:|---:|---:|---:|---|"]
    for r in results["runs"]:
        lines.append(
            f"| {r['what']} | {r['seconds']:,.1f} | {r['cells_per_second']:,.0f} | "
            f"{r.get('cpu_seconds') or 0:,.0f} | {r.get('cells_per_cpu_second') or 0:,.0f} | "
            f"{r['load_before'][0]} → {r['load_after'][0]} |")
    lines += ["", f"Projection for {notebooks:,.0f} notebooks at this corpus's "
              f"{exp['non_empty_code_cells']:,} / {exp['notebooks']:,} = {per_nb:.2f} non-empty "
              f"code cells per notebook: {notebooks:,.0f} × {per_nb:.2f} = {cells / 1e6:.2f} M "
              f"cells.", ""]
    for r in results["runs"]:
        rate = r.get("cells_per_cpu_second")
        if not rate:
            continue
        cpu_h = cells / rate / 3600
        lines.append(
            f"- {r['what']}: {cells / 1e6:.2f} M cells ÷ {rate:,.0f} cells per CPU-second = "
            f"{cells / rate:,.0f} CPU-seconds = **{cpu_h:,.1f} CPU-hours**; on 100 cores "
            f"{cpu_h / 100 * 60:,.0f} min; at ${price_per_cpu_hour:.2f} per CPU-hour "
            f"**${cpu_h * price_per_cpu_hour:,.2f}**.")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coral_study.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS.resolve())
    parser.add_argument("--out", type=Path, default=Path("/tmp/coral-bench"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--coral-lsp", type=Path, default=None,
                        help="default: the workspace's target/release/coral-lsp")
    parser.add_argument("--check-threads", type=int, nargs="*", default=[0],
                        help="--check runs: 0 for its default (all cores), N for --threads N")
    parser.add_argument("--skip-check", action="store_true")
    parser.add_argument("--summarize", type=Path, default=None, metavar="BENCH_JSON",
                        help="only print the table and projection of an earlier run")
    args = parser.parse_args(argv)
    if args.summarize:
        print(projection(json.loads(args.summarize.read_text())))
        return 0

    root = Path(__file__).resolve().parents[2]
    binary = args.coral_lsp or root / "target" / "release" / "coral-lsp"
    args.out.mkdir(parents=True, exist_ok=True)
    results: Dict[str, Any] = {"corpus": str(args.corpus), "cpus": os.cpu_count(),
                               "started": time.strftime("%Y-%m-%d %H:%M:%S"), "runs": []}
    t = time.perf_counter()
    results["expected"] = count(args.corpus)
    results["expected"]["seconds_to_count"] = round(time.perf_counter() - t, 1)
    print(f"corpus: {results['expected']}", flush=True)

    study_label.start_ray(None, workers=max(args.workers), threads=1)
    for workers in args.workers:
        r = run_ray(args.corpus, args.out / f"ray-{workers}", workers, args.batch_size)
        r["rows_equal_non_empty_cells"] = (
            r["cells"] == results["expected"]["non_empty_code_cells"])
        results["runs"].append(r)
        print(json.dumps(r), flush=True)
    import ray

    ray.shutdown()

    if not args.skip_check:
        with tempfile.TemporaryDirectory(prefix="coral-bench-ipynb-") as tmp:
            folder = Path(tmp) / "notebooks"
            folder.mkdir()
            written = write_ipynb(args.corpus, folder)
            print(f"wrote {written} .ipynb files to {folder}", flush=True)
            for threads in [t or None for t in args.check_threads]:
                name = "check-all" if threads is None else f"check-{threads}"
                r = run_check(binary, folder, threads, args.out / f"{name}.json")
                cells = results["expected"]["non_empty_code_cells"]
                r["cells_per_second"] = round(cells / r["seconds"], 1)
                r["cells_per_cpu_second"] = round(cells / r["cpu_seconds"], 1)
                results["runs"].append(r)
                print(json.dumps(r), flush=True)
        for extra in args.out.glob("check-*.json"):
            if extra.name != "check-all.json":
                extra.unlink()  # only the default run is compared
        for r in results["runs"]:
            if "workers" in r:
                r["agreement_with_check"] = compare(Path(r["out"]), args.out / "check-all.json")
                print(f"ray-{r['workers']} vs --check: {r['agreement_with_check']}", flush=True)

    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    (args.out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(projection(results))
    ok = all(r.get("rows_equal_non_empty_cells", True) for r in results["runs"])
    agree = all(r.get("agreement_with_check", {}).get("differ", 0) == 0 for r in results["runs"])
    return 0 if ok and agree else 1


if __name__ == "__main__":
    sys.exit(main())
