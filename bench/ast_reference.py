#!/usr/bin/env python3
"""Reference featurization benchmark: Python `ast.parse` + `ast.walk` per code cell.

This is the approach of the CORAL paper's reference implementation: every code cell is parsed
with Python's own parser and its AST walked; the node count is the cell's size measure. It is
the baseline the Rust featurizer is compared against.

Pipeline:
  1. select the first N non-empty code cells (shards in sorted name order, notebooks in file
     order, cells in notebook order), or read an identical selection with --from-cells;
  2. blank IPython magic / shell / help lines: a line whose stripped form starts with `%` or `!`
     or ends with `?` is replaced by an empty line (line numbers are kept);
  3. timed: `ast.parse` + `ast.walk` over every cell, counting nodes. Only this loop is inside
     the timer; reading, selection and blanking are not.

Prints one JSON object on stdout. Standard library only.
"""

import argparse
import ast
import glob
import gzip
import json
import multiprocessing
import os
import platform
import sys
import time

DEFAULT_SHARDS = "/work/shared/data/notebooks/shard-*.jsonl.gz"
BIG_CELL_NODES = 160


def cell_source(source):
    """nbformat allows `source` as a string or a list of strings."""
    if isinstance(source, list):
        return "".join(source)
    return source or ""


def select_from_shards(pattern, limit):
    """First `limit` non-empty code cells across the shards matching `pattern`."""
    paths = sorted(glob.glob(pattern))
    if not paths:
        sys.exit(f"ast_reference: no shard matches {pattern!r}")
    cells = []
    notebooks = 0
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                nb = json.loads(line)
                notebooks += 1
                for index, cell in enumerate(nb.get("cells", [])):
                    if cell.get("cell_type") != "code":
                        continue
                    src = cell_source(cell.get("source"))
                    if not src.strip():
                        continue
                    cells.append({"id": nb.get("id"), "cell": index, "source": src})
                    if len(cells) >= limit:
                        return cells, notebooks, paths
    return cells, notebooks, paths


def select_from_dump(path, limit):
    cells = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            cells.append({"id": rec.get("id"), "cell": rec.get("cell"), "source": rec["source"]})
            if limit and len(cells) >= limit:
                break
    return cells


def is_magic_line(line):
    s = line.strip()
    return s.startswith("%") or s.startswith("!") or s.endswith("?")


def blank_magics(source):
    # splitlines(keepends) would also split on \x0c, \x1c etc.; split on \n only, as Jupyter does.
    lines = source.split("\n")
    return "\n".join("" if is_magic_line(l) else l for l in lines)


def parse_walk(sources):
    """The timed kernel: node count per source, None where parsing fails."""
    counts = []
    append = counts.append
    for src in sources:
        try:
            tree = ast.parse(src)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            # ValueError: NUL bytes in the source; RecursionError: pathologically deep nesting.
            append(None)
            continue
        n = 0
        for _ in ast.walk(tree):
            n += 1
        append(n)
    return counts


def _worker_chunk(sources):
    t0 = time.perf_counter()
    counts = parse_walk(sources)
    return counts, time.perf_counter() - t0


def _noop(_):
    return None


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, -(-p * len(sorted_values) // 100))  # ceil(p/100 * n)
    return sorted_values[int(rank) - 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, default=20000, help="number of code cells (default 20000)")
    ap.add_argument("--shards", default=DEFAULT_SHARDS, help=f"glob of corpus shards (default {DEFAULT_SHARDS})")
    ap.add_argument("--from-cells", metavar="FILE", help="read cells from a --dump-cells file instead of the shards")
    ap.add_argument("--dump-cells", metavar="FILE", help="write the selected cells as JSON lines "
                    '{"id", "cell", "source", "py_nodes"} (original, un-blanked source)')
    ap.add_argument("--jobs", type=int, default=0, help="also measure all-cores throughput with N worker processes "
                    "(0 = skip; -1 = os.cpu_count())")
    ap.add_argument("--repeat", type=int, default=3, help="timed repetitions of the single-process loop; "
                    "the best is reported (default 3)")
    args = ap.parse_args()

    t_load = time.perf_counter()
    notebooks = None
    shard_paths = None
    if args.from_cells:
        cells = select_from_dump(args.from_cells, args.cells)
        source_desc = args.from_cells
    else:
        cells, notebooks, shard_paths = select_from_shards(args.shards, args.cells)
        source_desc = args.shards
    load_s = time.perf_counter() - t_load
    if not cells:
        sys.exit("ast_reference: no code cells selected")

    sources = [blank_magics(c["source"]) for c in cells]
    blanked_lines = sum(
        1 for c in cells for l in c["source"].split("\n") if is_magic_line(l)
    )

    # Single process: only parse+walk inside the timer. One untimed warm-up pass.
    counts = parse_walk(sources)
    runs = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        counts = parse_walk(sources)
        runs.append(time.perf_counter() - t0)
    best = min(runs)

    n = len(sources)
    ok = sorted(c for c in counts if c is not None)
    result = {
        "source": source_desc,
        "cells": n,
        "notebooks_read": notebooks,
        "source_bytes": sum(len(s.encode("utf-8")) for s in sources),
        "magic_lines_blanked": blanked_lines,
        "parse_ok": len(ok),
        "parse_ok_rate": round(len(ok) / n, 4),
        "seconds": round(best, 4),
        "seconds_all_runs": [round(r, 4) for r in runs],
        "cells_per_s": round(n / best, 1),
        "us_per_cell": round(best / n * 1e6, 2),
        "mean_nodes_per_cell": round(sum(ok) / len(ok), 2) if ok else None,
        f"share_over_{BIG_CELL_NODES}_nodes": round(sum(1 for c in ok if c > BIG_CELL_NODES) / len(ok), 4) if ok else None,
        "nodes_p50": percentile(ok, 50),
        "nodes_p90": percentile(ok, 90),
        "nodes_p99": percentile(ok, 99),
        "nodes_max": ok[-1] if ok else None,
        "load_and_select_s": round(load_s, 2),
        "python": platform.python_implementation() + " " + platform.python_version(),
        "cpu_count": os.cpu_count(),
        "note": "node stats are over cells that parsed; percentiles are nearest-rank",
    }

    if args.jobs:
        jobs = os.cpu_count() if args.jobs < 0 else args.jobs
        # Several chunks per worker to balance uneven cells; order is kept by Pool.map.
        nchunks = jobs * 8
        size = -(-n // nchunks)
        chunks = [sources[i:i + size] for i in range(0, n, size)]
        with multiprocessing.Pool(jobs) as pool:
            pool.map(_noop, range(jobs * 4))  # start the workers before timing
            t0 = time.perf_counter()
            parts = pool.map(_worker_chunk, chunks, chunksize=1)
            wall = time.perf_counter() - t0
        par_counts = [c for part, _ in parts for c in part]
        assert par_counts == counts, "parallel node counts differ from single-process ones"
        result["jobs"] = jobs
        result["jobs_seconds"] = round(wall, 4)
        result["jobs_cells_per_s"] = round(n / wall, 1)
        result["jobs_speedup"] = round(best / wall, 2)
        result["jobs_note"] = "wall clock of Pool.map over pre-started workers, including sending sources"

    if args.dump_cells:
        with open(args.dump_cells, "w", encoding="utf-8") as f:
            for c, nodes in zip(cells, counts):
                f.write(json.dumps({"id": c["id"], "cell": c["cell"], "source": c["source"],
                                    "py_nodes": nodes}, ensure_ascii=False))
                f.write("\n")
        result["dumped_to"] = args.dump_cells

    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
