#!/usr/bin/env python3
"""The paper's stack on the cells `cargo bench -p coral-server --bench check` labels: Python `ast`
featurization + a PyTorch encoder of the model's shape, end to end, in cells/s.

Notebooks: the first --notebooks (default 1000) records of ../shared/data/notebooks
(`$CORAL_CORPUS`), chosen exactly as server/benches/check.rs chooses them: files named
`shard-*.jsonl.gz` in sorted order, lines in file order, a line skipped when it is not a valid
corpus record (coral-core's `CorpusRecord::from_json_line`), a shard abandoned at its first
undecodable line. Every code cell counts (empty ones get no model run, as in coral).

Timed, like the Rust bench (reading and JSON decoding are not):
  1. featurize: per code cell, IPython magic/shell/help lines blanked (as bench/ast_reference.py),
     `ast.parse`, a pre-order walk into a node sequence with parent indices (kind token + value
     subtokens per node, wrappers such as `Expr` and `Module` folded away, as coral does with
     tree-sitter), then the nearest markdown cell at most 3 cells back as word positions;
     [CLS] first; vocabulary lookup in models/vocab.json; cut at the window (--max-len). Runs in
     a `multiprocessing` pool of --threads forked workers (the GIL allows no other parallelism),
     8 notebooks per task, all notebooks before any inference;
  2. batch: per chunk of 64 notebooks (`--check`'s chunk), cells sorted by length, batches of
     --batch-size padded to the longest, the dense graph attention mask built with numpy
     (itself, [CLS] both ways, tree edges, code <-> markdown; padding attends only to itself);
  3. infer: `bench/coral_torch.py`'s encoder, random weights, eval mode, torch.inference_mode(),
     torch.set_num_threads(--threads).

Prints one JSON object. Deterministic (fixed seeds), no network.
"""

import argparse
import ast
import gzip
import hashlib
import json
import multiprocessing
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from ast_reference import blank_magics  # noqa: E402  (the same magic blanking as the ast bench)
from coral_torch import PAPER, SHIPPED, onnx_config, split_into  # noqa: E402

DEFAULT_CORPUS = os.path.join(ROOT, "..", "shared", "data", "notebooks")
CHUNK = 64  # server/src/check/mod.rs
MARKDOWN_CONTEXT_WINDOW = 3
MAX_MARKDOWN_TOKENS = 256
TEXT_VALUE_CAP = 4
NAME_VALUE_CAP = 6
NODE_VALUE_CAP = 12
PAD, UNK, CLS = 0, 1, 2


# ------------------------------------------------------------------------------------------
# Corpus selection (server/benches/check.rs `read_corpus`)

def _valid_cell(cell):
    if not isinstance(cell, dict):
        return None
    kind = cell.get("cell_type")
    if kind not in ("code", "markdown", "raw"):
        return None
    src = cell.get("source")
    if src is None:
        src = ""
    elif isinstance(src, list):
        if not all(isinstance(p, str) for p in src):
            return None
        src = "".join(src)
    elif not isinstance(src, str):
        return None
    return (kind, src)


def read_corpus(folder, limit):
    names = sorted(n for n in os.listdir(folder) if n.startswith("shard-") and n.endswith(".jsonl.gz"))
    out = []
    for name in names:
        with gzip.open(os.path.join(folder, name), "rb") as f:
            for raw in f:
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    break  # Rust's `lines()` yields an error: the shard is abandoned
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(rec, dict) or not isinstance(rec.get("id"), str) \
                        or not isinstance(rec.get("cells"), list):
                    continue
                cells = [_valid_cell(c) for c in rec["cells"]]
                if any(c is None for c in cells):
                    continue
                out.append(cells)
                if len(out) >= limit:
                    return out
    return out


# ------------------------------------------------------------------------------------------
# Featurization with Python's ast

# Kind tokens named as tree-sitter names them where the vocabulary has them (speed does not
# depend on it, but the [UNK] rate stays realistic).
KIND = {
    "Call": "@call", "Assign": "@assignment", "AnnAssign": "@assignment",
    "AugAssign": "@augmented_assignment", "Attribute": "@attribute", "Subscript": "@subscript",
    "keyword": "@keyword_argument", "List": "@list", "Tuple": "@tuple", "Dict": "@dictionary",
    "Set": "@set", "BinOp": "@binary_operator", "Compare": "@comparison_operator",
    "BoolOp": "@boolean_operator", "UnaryOp": "@unary_operator", "Import": "@import_statement",
    "ImportFrom": "@import_from_statement", "alias": "@aliased_import",
    "FunctionDef": "@function_definition", "AsyncFunctionDef": "@function_definition",
    "ClassDef": "@class_definition", "For": "@for_statement", "While": "@while_statement",
    "If": "@if_statement", "With": "@with_statement", "Try": "@try_statement",
    "Return": "@return_statement", "Lambda": "@lambda", "ListComp": "@list_comprehension",
    "DictComp": "@dictionary_comprehension", "GeneratorExp": "@generator_expression",
    "comprehension": "@for_in_clause", "Slice": "@slice", "JoinedStr": "@string",
    "FormattedValue": "@interpolation", "Starred": "@list_splat", "IfExp": "@conditional_expression",
    "arg": "@identifier", "Name": "@identifier", "Raise": "@raise_statement",
    "Assert": "@assert_statement", "Delete": "@delete_statement", "Pass": "@pass_statement",
    "Break": "@break_statement", "Continue": "@continue_statement", "Global": "@global_statement",
}
WRAPPERS = (ast.Module, ast.Expr, ast.arguments, ast.Interactive)
OPERATORS = (ast.operator, ast.boolop, ast.cmpop, ast.unaryop)
_kind_cache = {}


def kind_token(node):
    cls = type(node)
    tok = _kind_cache.get(cls)
    if tok is None:
        tok = KIND.get(cls.__name__) or "@" + cls.__name__.lower()
        _kind_cache[cls] = tok
    return tok


def values_of(node, out):
    """Value subtokens a node carries itself (names, literals)."""
    if isinstance(node, ast.Name):
        split_into(node.id, NAME_VALUE_CAP, out)
    elif isinstance(node, ast.Attribute):
        split_into(node.attr, NAME_VALUE_CAP, out)
    elif isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, str):
            split_into(v, TEXT_VALUE_CAP, out)
        elif isinstance(v, bool) or v is None:
            out.append(str(v).lower())
        elif isinstance(v, (int, float)):
            out.append(str(v) if isinstance(v, int) and abs(v) < 100 else
                       "<float>" if isinstance(v, float) else "<num>")
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        split_into(node.name, NAME_VALUE_CAP, out)
    elif isinstance(node, ast.arg):
        split_into(node.arg, NAME_VALUE_CAP, out)
    elif isinstance(node, ast.keyword) and node.arg:
        split_into(node.arg, NAME_VALUE_CAP, out)
    elif isinstance(node, ast.alias):
        split_into(node.name, NAME_VALUE_CAP, out)
        if node.asname:
            split_into(node.asname, NAME_VALUE_CAP, out)
    elif isinstance(node, ast.ImportFrom) and node.module:
        split_into(node.module, NAME_VALUE_CAP, out)
    elif isinstance(node, (ast.Global, ast.Nonlocal)):
        for n in node.names:
            split_into(n, NAME_VALUE_CAP, out)
    del out[NODE_VALUE_CAP:]


def featurize_code(source, vocab, max_len):
    """[CLS] + code positions (up to max_len): (token ids, node of each position, node parents)."""
    ids = [CLS]
    node_of = [-1]
    parents = []
    try:
        tree = ast.parse(blank_magics(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ids, node_of, parents
    get = vocab.get
    # Pre-order walk, iterative; (node, owner) with owner = nearest kept ancestor's node id.
    stack = [(tree, -1)]
    while stack and len(ids) < max_len:
        node, owner = stack.pop()
        if isinstance(node, ast.expr_context):
            continue
        if isinstance(node, OPERATORS):
            if owner >= 0:
                ids.append(get(type(node).__name__.lower(), UNK))
                node_of.append(owner)
            continue
        if isinstance(node, WRAPPERS) or (
                isinstance(node, ast.Name) and owner >= 0):
            me = owner
            if isinstance(node, ast.Name):  # a name is a value of its owner
                vals = []
                split_into(node.id, NAME_VALUE_CAP, vals)
                for v in vals:
                    ids.append(get(v, UNK))
                    node_of.append(owner)
        else:
            me = len(parents)
            parents.append(owner)
            ids.append(get(kind_token(node), UNK))
            node_of.append(me)
            vals = []
            values_of(node, vals)
            for v in vals:
                ids.append(get(v, UNK))
                node_of.append(me)
        children = list(ast.iter_child_nodes(node))
        for child in reversed(children):
            stack.append((child, me))
    del ids[max_len:]
    del node_of[max_len:]
    return ids, node_of, parents


def featurize_notebook(cells, vocab, max_len):
    """One entry per code cell: None for an empty cell, else (token ids, number of code
    positions ([CLS] included; markdown follows), node of each position, parent node of each
    position) as plain lists (cheap to send back from a worker)."""
    out = []
    for index, (kind, source) in enumerate(cells):
        if kind != "code":
            continue
        if not source.strip():
            out.append(None)
            continue
        ids, node_of, parents = featurize_code(source, vocab, max_len)
        n_code = len(ids)
        md = None
        for j in range(index - 1, max(0, index - MARKDOWN_CONTEXT_WINDOW) - 1, -1):
            if cells[j][0] == "markdown":
                md = cells[j][1]
                break
        if md is not None and n_code < max_len:
            words = []
            split_into(md, MAX_MARKDOWN_TOKENS, words)
            for w in words[:max_len - n_code]:
                ids.append(vocab.get(w, UNK))
                node_of.append(-1)
        parent_of_pos = [parents[n] if n >= 0 else -1 for n in node_of]
        out.append((ids, n_code, node_of, parent_of_pos))
    return out


# Worker state: set in the parent before the pool forks.
_NOTEBOOKS = None
_VOCAB = None
_MAX_LEN = None


def _featurize_range(bounds):
    lo, hi = bounds
    return [featurize_notebook(_NOTEBOOKS[i], _VOCAB, _MAX_LEN) for i in range(lo, hi)]


def _noop(_):
    return None


# ------------------------------------------------------------------------------------------
# Batching and the mask

def collate(inputs):
    """inputs: featurize_notebook entries. Returns int64 tokens, segments [b, l] and the bool
    mask [b, l, l] (true = may attend)."""
    b = len(inputs)
    l = max(len(x[0]) for x in inputs)
    tokens = np.zeros((b, l), dtype=np.int64)
    segs = np.full((b, l), -1, dtype=np.int64)
    node = np.full((b, l), -1, dtype=np.int64)
    par = np.full((b, l), -1, dtype=np.int64)
    for i, (ids, n_code, nd, pp) in enumerate(inputs):
        n = len(ids)
        tokens[i, :n] = ids
        segs[i, :n_code] = 0
        segs[i, n_code:n] = 1
        node[i, :n] = nd
        par[i, :n] = pp
    real = segs >= 0
    code = segs == 0
    ni, nj = node[:, :, None], node[:, None, :]
    tree = (ni >= 0) & (nj >= 0) & ((ni == nj) | (par[:, :, None] == nj) | (ni == par[:, None, :]))
    edge = (code[:, :, None] & code[:, None, :] & tree) | (segs[:, :, None] != segs[:, None, :])
    edge[:, 0, :] = True
    edge[:, :, 0] = True
    mask = edge & real[:, :, None] & real[:, None, :]
    mask |= np.eye(l, dtype=bool)[None]
    segs[segs < 0] = 0
    return tokens, segs, mask


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--notebooks", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="featurizing worker processes and torch threads (default: all cores)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--paper", action="store_true",
                    help="the paper's size: d_model 256, 4 layers, 4 heads, FFN 1024 (vocab from --vocab)")
    ap.add_argument("--d-model", type=int)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--heads", type=int)
    ap.add_argument("--ffn", type=int)
    ap.add_argument("--topics", type=int)
    ap.add_argument("--vocab", type=int, help="embedding rows (default: the shipped model's)")
    ap.add_argument("--max-len", type=int, help="window M (default: the shipped model's, 160)")
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "models"),
                    help="coral.onnx (shape) + vocab.json (token table); default models/")
    ap.add_argument("--all-rows", action="store_true",
                    help="last layer computes every row (stock nn.TransformerEncoder), not [CLS] only")
    ap.add_argument("--dedup", action="store_true",
                    help="run identical model inputs once, as coral's engine does")
    ap.add_argument("--corpus", default=os.environ.get("CORAL_CORPUS", DEFAULT_CORPUS))
    args = ap.parse_args()

    import torch
    from coral_torch import CoralEncoder

    torch.manual_seed(7)
    torch.set_num_threads(args.threads)

    shape = dict(SHIPPED)
    cfg = onnx_config(os.path.join(args.model_dir, "coral.onnx"))
    if cfg:
        shape.update({k: cfg[k] for k in ("d_model", "layers", "heads", "ffn", "topics", "max_len") if k in cfg})
        shape["vocab"] = cfg.get("vocab_size", shape["vocab"])
    if args.paper:
        shape.update({k: PAPER[k] for k in ("d_model", "layers", "heads", "ffn", "topics", "max_len")})
    for k in ("d_model", "layers", "heads", "ffn", "topics", "vocab", "max_len"):
        v = getattr(args, k)
        if v is not None:
            shape[k] = v

    with open(os.path.join(args.model_dir, "vocab.json"), encoding="utf-8") as f:
        tokens = json.load(f)["tokens"]
    vocab = {t: i for i, t in enumerate(tokens) if i < shape["vocab"]}

    t0 = time.perf_counter()
    notebooks = read_corpus(args.corpus, args.notebooks)
    load_s = time.perf_counter() - t0
    n_cells = sum(1 for nb in notebooks for k, _ in nb if k == "code")
    print(f"read {len(notebooks)} notebooks ({n_cells} code cells) in {load_s:.1f}s", file=sys.stderr)

    model = CoralEncoder(shape["vocab"], shape["d_model"], shape["layers"], shape["heads"], shape["ffn"],
                         shape["topics"], cls_only_last=not args.all_rows).eval()

    global _NOTEBOOKS, _VOCAB, _MAX_LEN
    _NOTEBOOKS, _VOCAB, _MAX_LEN = notebooks, vocab, shape["max_len"]
    jobs = max(1, args.threads)
    pool = None
    if jobs > 1:
        pool = multiprocessing.get_context("fork").Pool(jobs)
        pool.map(_noop, range(jobs * 4))  # workers started before the timer

    # Warm-up (untimed): torch's first calls allocate and pick kernels.
    warm = featurize_notebook(notebooks[0], vocab, shape["max_len"]) if notebooks else []
    warm = [x for x in warm if x is not None] or [([CLS], 1, [-1], [-1])]
    with torch.inference_mode():
        for _ in range(3):
            t, s, m = collate(warm[:args.batch_size])
            model(torch.from_numpy(t), torch.from_numpy(s), torch.from_numpy(m))

    feat_s = batch_s = infer_s = 0.0
    inferred = batches = dedup_hits = positions = padded = 0
    seen = set()
    start = time.perf_counter()
    # 1. featurize every notebook (forked workers, ranges of 8 notebooks, order kept)
    if pool is not None:
        ranges = [(a, min(a + 8, len(notebooks))) for a in range(0, len(notebooks), 8)]
        all_feats = [nb for part in pool.imap(_featurize_range, ranges) for nb in part]
    else:
        all_feats = _featurize_range((0, len(notebooks)))
    feat_s = time.perf_counter() - start
    # 2.+3. per `--check` chunk of 64 notebooks: dedup, sort by length, batch, mask, forward
    for lo in range(0, len(notebooks), CHUNK):
        feats = all_feats[lo:lo + CHUNK]
        todo = []
        for nb in feats:
            for cell in nb:
                if cell is None:
                    continue
                if args.dedup:
                    key = hashlib.blake2b(repr(cell).encode(), digest_size=16).digest()
                    if key in seen:
                        dedup_hits += 1
                        continue
                    seen.add(key)
                todo.append(cell)
        todo.sort(key=lambda c: len(c[0]))
        with torch.inference_mode():
            for b0 in range(0, len(todo), args.batch_size):
                batch = todo[b0:b0 + args.batch_size]
                t3 = time.perf_counter()
                tok, seg, mask = collate(batch)
                tok, seg, mask = torch.from_numpy(tok), torch.from_numpy(seg), torch.from_numpy(mask)
                t4 = time.perf_counter()
                out = model(tok, seg, mask)
                probs = out[4].numpy()  # what a caller would read
                t5 = time.perf_counter()
                batch_s += t4 - t3
                infer_s += t5 - t4
                inferred += len(batch)
                batches += 1
                positions += sum(len(c[0]) for c in batch)
                padded += len(batch) * tok.shape[1]
                del probs
    total = time.perf_counter() - start
    if pool is not None:
        pool.close()
        pool.join()

    lengths = [len(c[0]) for nb in (featurize_notebook(x, vocab, shape["max_len"]) for x in notebooks[:200])
               for c in nb if c is not None]
    result = {
        "notebooks": len(notebooks),
        "cells": n_cells,
        "threads": args.threads,
        "shape": shape,
        "last_layer": "all rows" if args.all_rows else "[CLS] row only",
        "dedup": args.dedup,
        "cells_inferred": inferred,
        "dedup_hits": dedup_hits,
        "batches": batches,
        "mean_positions_per_inferred_cell": round(positions / max(1, inferred), 1),
        "padding_overhead": round(padded / max(1, positions) - 1, 3),
        "seconds": round(total, 2),
        "cells_per_s": round(n_cells / total, 1),
        "split_s": {"featurize": round(feat_s, 2), "collate_and_mask": round(batch_s, 2),
                    "forward": round(infer_s, 2),
                    "other": round(total - feat_s - batch_s - infer_s, 2)},
        "featurize_cells_per_s": round(n_cells / feat_s, 1) if feat_s else None,
        "infer_cells_per_s": round(inferred / (batch_s + infer_s), 1) if inferred else None,
        "share_at_window_first_200_notebooks": round(
            sum(1 for l in lengths if l >= shape["max_len"]) / max(1, len(lengths)), 3),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
