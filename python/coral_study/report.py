"""The corpus study as one self-contained HTML page (figures inline as SVG).

    python -m coral_study.report PARQUET_DIR --out report/

PARQUET_DIR is the output of ``python -m coral_study.label``: ``notebooks/`` and ``cells/``
Parquet datasets (and ``run.json``). The page shows, each beside the CORAL paper's number where
the paper gives one: stage shares of cells and of lines, the stage-transition matrix and how
often consecutive cells change stage, the distribution of normalized entropy, entropy and stage
mix against notebook size, and findings rates. ``summary.json`` beside it holds every number on
the page.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

STAGES = ("IMPORT", "WRANGLE", "EXPLORE", "MODEL", "EVALUATE")
LETTER = {"I": "IMPORT", "W": "WRANGLE", "E": "EXPLORE", "M": "MODEL", "V": "EVALUATE"}
COLORS = {"IMPORT": "#7f7f7f", "WRANGLE": "#1f77b4", "EXPLORE": "#2ca02c", "MODEL": "#d62728",
          "EVALUATE": "#9467bd"}
SIZE_BINS = [(3, 5), (6, 10), (11, 20), (21, 40), (41, 80), (81, None)]
RULE_NAMES = {
    "CRL001": "low entropy (normalized < 0.35)",
    "CRL002": "model never evaluated",
    "CRL003": "evaluation without a model",
    "CRL004": "scattered imports",
    "CRL005": "empty pipeline",
    "CRL006": "missing required stage",
}
MAX_BYTES = 5 * 1024 * 1024

# What the paper (Ge et al., CORAL, §VI-A and §III-C) reports that this corpus can be held against.
PAPER = {
    "wrangle_line_share": 0.23,
    "transition_more_likely_than_not": 0.5,
    "median_cell_lines": 2,
}


def _load(parquet_dir: Path):
    import pyarrow.parquet as pq

    notebooks = pq.ParquetDataset(str(parquet_dir / "notebooks")).read().to_pandas()
    cells = pq.ParquetDataset(str(parquet_dir / "cells")).read(
        columns=["notebook_id", "code_index", "stage", "source", "lines",
                 *[f"p_{s.lower()}" for s in STAGES]]).to_pandas()
    run_file = parquet_dir / "run.json"
    run = json.loads(run_file.read_text()) if run_file.is_file() else {}
    return notebooks, cells, run


def compute(notebooks, cells) -> Dict[str, Any]:
    """Every number the page shows."""
    import numpy as np

    ok = notebooks[notebooks["error"].isna()].copy()
    labelled = cells[cells["stage"].notna()]
    stats: Dict[str, Any] = {
        "notebooks": int(len(notebooks)),
        "unreadable_notebooks": int(notebooks["error"].notna().sum()),
        "code_cells": int(ok["code_cells"].sum()),
        "empty_code_cells": int(ok["empty_cells"].sum()),
        "cell_rows": int(len(cells)),
        "labelled_cells": int(len(labelled)),
        "model_cells": int((cells["source"] == "model").sum()),
        "repos": int(ok["repo"].nunique()),
    }

    # Stage shares: pooled over the corpus (cells; lines, counted as coral counts them, an
    # empty-looking cell as one line) and the mean of each notebook's line shares (the
    # paper's "on average ... of their code").
    cell_counts = labelled["stage"].value_counts()
    line_counts = labelled.assign(l=labelled["lines"].clip(lower=1)).groupby("stage")["l"].sum()
    stats["cell_share"] = {s: float(cell_counts.get(s, 0) / max(len(labelled), 1)) for s in STAGES}
    stats["line_share"] = {s: float(line_counts.get(s, 0) / max(line_counts.sum(), 1))
                           for s in STAGES}
    has_labels = ok[ok["labelled_cells"] > 0]
    stats["mean_notebook_line_share"] = {
        s: float(has_labels[f"share_{s.lower()}"].mean()) for s in STAGES}
    stats["median_cell_lines"] = float(np.median(cells["lines"])) if len(cells) else None

    # Transitions between consecutive labelled code cells (empty cells skipped, as coral's
    # transition rate skips them).
    matrix = np.zeros((5, 5), dtype=np.int64)
    index = {s: i for i, s in enumerate(STAGES)}
    for strip in ok["strip"].dropna():
        stages = [LETTER[c] for c in strip if c in LETTER]
        for a, b in zip(stages, stages[1:]):
            matrix[index[a], index[b]] += 1
    pairs = int(matrix.sum())
    stats["transition_counts"] = matrix.tolist()
    stats["pairs"] = pairs
    stats["pooled_transition_rate"] = float((pairs - np.trace(matrix)) / pairs) if pairs else None
    with_pairs = ok[ok["labelled_cells"] >= 2]
    stats["mean_notebook_transition_rate"] = float(with_pairs["transition_rate"].mean())
    stats["median_notebook_transition_rate"] = float(with_pairs["transition_rate"].median())
    stats["share_notebooks_transition_above_half"] = float(
        (with_pairs["transition_rate"] > 0.5).mean())

    ent = has_labels["normalized_entropy"]
    stats["entropy"] = {
        "mean": float(ent.mean()), "median": float(ent.median()),
        "p10": float(ent.quantile(0.1)), "p90": float(ent.quantile(0.9)),
        "below_0_35": float((ent < 0.35).mean()),
    }

    sizes = []
    for lo, hi in SIZE_BINS:
        sel = has_labels[(has_labels["labelled_cells"] >= lo)
                         & ((has_labels["labelled_cells"] <= hi) if hi else True)]
        sizes.append({
            "bin": f"{lo}–{hi}" if hi else f"{lo}+",
            "notebooks": int(len(sel)),
            "entropy_mean": float(sel["normalized_entropy"].mean()) if len(sel) else None,
            "entropy_q25": float(sel["normalized_entropy"].quantile(0.25)) if len(sel) else None,
            "entropy_q75": float(sel["normalized_entropy"].quantile(0.75)) if len(sel) else None,
            "transition_mean": float(sel["transition_rate"].mean()) if len(sel) else None,
            "line_share": {s: float(sel[f"share_{s.lower()}"].mean()) if len(sel) else 0.0
                           for s in STAGES},
        })
    stats["by_size"] = sizes
    # Spearman's rho as Pearson's r of the ranks (pandas' own "spearman" needs scipy).
    stats["entropy_size_spearman"] = float(
        has_labels["normalized_entropy"].rank().corr(has_labels["labelled_cells"].rank()))

    findings = Counter()
    for rules in ok["findings"]:
        findings.update(set(rules))
    stats["findings_rate"] = {r: float(findings.get(r, 0) / max(len(ok), 1)) for r in RULE_NAMES}
    has_model_stage = ok["strip"].fillna("").str.contains("M")
    stats["model_notebooks"] = float(has_model_stage.mean())
    stats["crl002_among_model_notebooks"] = float(
        ok.loc[has_model_stage, "crl002"].mean()) if has_model_stage.any() else None

    probs = cells[[f"p_{s.lower()}" for s in STAGES]].dropna()
    if len(probs):
        top = probs.max(axis=1)
        stats["confidence"] = {"median": float(top.median()), "below_0_5": float((top < 0.5).mean())}
    return stats


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    # Inline SVG: drop the XML prolog and doctype, keep the <svg> element.
    return text[text.find("<svg"):]


def figures(stats: Dict[str, Any], notebooks) -> Dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 10, "figure.dpi": 96,
                         "svg.hashsalt": "coral"})
    figs: Dict[str, str] = {}
    x = np.arange(5)

    fig, ax = plt.subplots(figsize=(7, 3.4))
    w = 0.27
    series = [("cells", stats["cell_share"]), ("lines (pooled)", stats["line_share"]),
              ("lines (mean per notebook)", stats["mean_notebook_line_share"])]
    for k, (label, share) in enumerate(series):
        ax.bar(x + (k - 1) * w, [share[s] for s in STAGES], w, label=label,
               color=["#9ecae1", "#3182bd", "#08519c"][k])
    ax.scatter([1 + w], [PAPER["wrangle_line_share"]], marker="D", color="#e6550d", zorder=3,
               label="paper: WRANGLE 23 % of code")
    ax.set_xticks(x, STAGES)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_ylabel("share")
    ax.legend(fontsize=8, frameon=False)
    figs["shares"] = _svg(fig)

    counts = np.array(stats["transition_counts"], dtype=float)
    rows = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.6, 3.9))
    im = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(5):
        for j in range(5):
            ax.text(j, i, f"{rows[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if rows[i, j] > 0.55 else "black")
    ax.set_xticks(x, [s[:3] for s in STAGES])
    ax.set_yticks(x, [s[:3] for s in STAGES])
    ax.set_xlabel("next cell's stage")
    ax.set_ylabel("cell's stage")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    figs["transitions"] = _svg(fig)

    ok = notebooks[notebooks["error"].isna() & (notebooks["labelled_cells"] >= 2)]
    fig, ax = plt.subplots(figsize=(5.6, 3.2))
    ax.hist(ok["transition_rate"], bins=np.linspace(0, 1, 21), color="#3182bd")
    ax.axvline(0.5, color="#e6550d", linestyle="--", label="paper: more likely than not (> 0.5)")
    ax.axvline(stats["pooled_transition_rate"], color="black",
               label=f"ours, pooled: {stats['pooled_transition_rate']:.2f}")
    ax.set_xlabel("share of a notebook's cells followed by a cell of another stage")
    ax.set_ylabel("notebooks")
    ax.legend(fontsize=8, frameon=False)
    figs["transition_rate"] = _svg(fig)

    ent = notebooks[notebooks["error"].isna() & (notebooks["labelled_cells"] > 0)]
    fig, ax = plt.subplots(figsize=(5.6, 3.2))
    ax.hist(ent["normalized_entropy"], bins=np.linspace(0, 1, 26), color="#31a354")
    ax.axvline(stats["entropy"]["median"], color="black",
               label=f"median {stats['entropy']['median']:.2f}")
    ax.axvline(0.35, color="#e6550d", linestyle=":", label="CRL001 threshold 0.35")
    ax.set_xlabel("normalized stage entropy  H / ln 5  (line shares)")
    ax.set_ylabel("notebooks")
    ax.legend(fontsize=8, frameon=False)
    figs["entropy"] = _svg(fig)

    bins = [b for b in stats["by_size"] if b["notebooks"]]
    labels = [f"{b['bin']}\n(n={b['notebooks']})" for b in bins]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.5, 3.4))
    xs = np.arange(len(bins))
    a1.errorbar(xs, [b["entropy_mean"] for b in bins],
                yerr=[[b["entropy_mean"] - b["entropy_q25"] for b in bins],
                      [b["entropy_q75"] - b["entropy_mean"] for b in bins]],
                marker="o", capsize=3, label="normalized entropy (mean, IQR)")
    a1.plot(xs, [b["transition_mean"] for b in bins], marker="s", label="transition rate (mean)")
    a1.set_xticks(xs, labels, fontsize=8)
    a1.set_xlabel("labelled code cells per notebook")
    a1.set_ylim(0, 1)
    a1.legend(fontsize=8, frameon=False)
    bottom = np.zeros(len(bins))
    for s in STAGES:
        vals = np.array([b["line_share"][s] for b in bins])
        a2.bar(xs, vals, bottom=bottom, color=COLORS[s], label=s)
        bottom += vals
    a2.set_xticks(xs, labels, fontsize=8)
    a2.set_xlabel("labelled code cells per notebook")
    a2.set_ylabel("mean line share")
    a2.legend(fontsize=7, frameon=False, ncol=5, loc="upper center", bbox_to_anchor=(0.5, 1.15))
    figs["size"] = _svg(fig)

    rates = stats["findings_rate"]
    fig, ax = plt.subplots(figsize=(6, 2.8))
    keys = list(RULE_NAMES)
    ax.barh(range(len(keys)), [rates[k] for k in keys],
            color=["#d62728" if k in ("CRL002", "CRL004") else "#bdbdbd" for k in keys])
    ax.set_yticks(range(len(keys)), [f"{k} {RULE_NAMES[k]}" for k in keys], fontsize=8)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("share of notebooks")
    for i, k in enumerate(keys):
        ax.text(rates[k], i, f" {rates[k]:.1%}", va="center", fontsize=8)
    figs["findings"] = _svg(fig)
    return figs


def _pct(v: Optional[float]) -> str:
    return "–" if v is None else f"{v:.1%}"


def _num(v: Optional[float]) -> str:
    return "–" if v is None else f"{v:.2f}"


CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}
.fig{display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap}
.fig svg{max-width:100%;height:auto}
.note{flex:1;min-width:240px;background:#f6f8fa;border-left:4px solid #3182bd;padding:.6em 1em}
.paper{border-left-color:#e6550d}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .7em;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}code{background:#f0f0f0;padding:0 .2em}
"""


def render(stats: Dict[str, Any], figs: Dict[str, str], run: Dict[str, Any],
           command: str) -> str:
    s = stats
    ls, cs, ms = s["line_share"], s["cell_share"], s["mean_notebook_line_share"]
    share_rows = "".join(
        f"<tr><td>{st}</td><td>{_pct(cs[st])}</td><td>{_pct(ls[st])}</td><td>{_pct(ms[st])}</td>"
        f"<td>{'23 %' if st == 'WRANGLE' else ''}</td></tr>" for st in STAGES)
    size_rows = "".join(
        f"<tr><td>{b['bin']}</td><td>{b['notebooks']}</td><td>{_num(b['entropy_mean'])}</td>"
        f"<td>{_num(b['transition_mean'])}</td></tr>" for b in s["by_size"])
    fr = s["findings_rate"]
    finding_rows = "".join(f"<tr><td>{k} {html.escape(RULE_NAMES[k])}</td><td>{_pct(fr[k])}</td></tr>"
                           for k in RULE_NAMES)
    e = s["entropy"]
    info = run.get("model") or {}
    model = (f", {html.escape(Path(str(info.get('path'))).name)}, featurizer "
             f"{html.escape(str(info.get('featurizer_version')))}" if info.get("path") else
             " (none: heuristics only)" if info else "")
    largest = max(STAGES, key=lambda st: ms[st])
    rho = s["entropy_size_spearman"]
    size_trend = s["by_size"]
    first, last = size_trend[0], [b for b in size_trend if b["notebooks"]][-1]
    pooled, mean_rate = s["pooled_transition_rate"] or 0.0, s["mean_notebook_transition_rate"]
    if pooled > 0.5 and mean_rate > 0.5:
        verdict = "The paper’s finding holds here."
    elif pooled < 0.5 and mean_rate < 0.5:
        verdict = ("On this corpus the finding does <b>not</b> hold: cells more often stay in "
                   "their stage.")
    else:
        verdict = ("Here it is a coin toss: the pooled rate and the mean notebook's fall on "
                   "either side of one half, so “more likely than not” neither holds nor fails "
                   "clearly.")
    conf = s.get("confidence") or {}
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>coral corpus study</title>
<style>{CSS}</style></head><body>
<h1>The corpus study: stages of {s['notebooks']:,} notebooks</h1>
<p>Every non-empty code cell of the shared corpus ({s['notebooks']:,} notebooks from
{s['repos']:,} repositories; {s['cell_rows']:,} non-empty code cells, {s['empty_code_cells']:,}
empty ones left out; {s['unreadable_notebooks']} unreadable) labelled by coral's shipped model
through the Ray Data pipeline ({s['model_cells']:,} cells by the model{model}). Stage shares
count code lines as coral does (blank and comment lines excluded, a cell at least one line).
The CORAL paper's numbers (Ge et al., §VI-A; its corpus: 7.1k notebooks linked to 2.0k papers,
out of 118k filtered from the 1.23M-notebook UCSD corpus) stand beside ours where it gives one.
Reproduce with:</p>
<pre><code>{html.escape(command)}</code></pre>

<h2>1. Stage shares, of cells and of lines</h2>
<div class="fig">{figs['shares']}
<div class="note paper"><b>Paper:</b> “analysts on average use only 23 % of their code for
[…] wrangling data”.<br><b>Ours:</b> WRANGLE is {_pct(ms['WRANGLE'])} of a notebook's lines on
average ({_pct(ls['WRANGLE'])} of all lines pooled, {_pct(cs['WRANGLE'])} of cells).
The largest stage is {largest}: {_pct(ms[largest])} of a notebook's lines on average.
{'WRANGLE is larger here than in the paper; §6 says why that may be.' if ms['WRANGLE'] > 0.28 else ''}
<br>Median non-empty cell: {s['median_cell_lines']:g} code lines (paper: 2, on its expert set).</div></div>
<table><tr><th>stage</th><th>cells</th><th>lines, pooled</th><th>lines, mean per notebook</th><th>paper</th></tr>{share_rows}</table>

<h2>2. Transitions between consecutive cells</h2>
<div class="fig">{figs['transitions']}
<div class="note">Row: a labelled code cell's stage; column: the next labelled code cell's
(row-normalised, {s['pairs']:,} consecutive pairs). The diagonal is staying in a stage.</div></div>
<div class="fig">{figs['transition_rate']}
<div class="note paper"><b>Paper:</b> “cells are in general more likely than not to transition
to a different stage”.<br><b>Ours:</b> {_pct(s['pooled_transition_rate'])} of consecutive cell
pairs change stage (pooled); the mean notebook's rate is
{_pct(s['mean_notebook_transition_rate'])} (median {_pct(s['median_notebook_transition_rate'])});
{_pct(s['share_notebooks_transition_above_half'])} of notebooks are above one half.
{verdict}</div></div>

<h2>3. Normalized stage entropy</h2>
<div class="fig">{figs['entropy']}
<div class="note paper"><b>Paper:</b> stage entropy (of line shares) goes with citations: 2.11×
the citations per standard deviation; it gives no distribution.<br><b>Ours:</b> mean
{e['mean']:.2f}, median {e['median']:.2f} (10th–90th percentile {e['p10']:.2f}–{e['p90']:.2f});
{_pct(e['below_0_35'])} of notebooks fall below CRL001's 0.35. Citations are not in this corpus,
so the regression cannot be repeated.</div></div>

<h2>4. Entropy and stage mix against notebook size</h2>
<div class="fig">{figs['size']}</div>
<table><tr><th>labelled cells</th><th>notebooks</th><th>entropy (mean)</th><th>transition rate (mean)</th></tr>{size_rows}</table>
<p>Spearman correlation of normalized entropy with notebook size: {rho:.2f}. From the smallest
notebooks ({first['bin']} cells) to the largest ({last['bin']}), mean entropy goes from
{_num(first['entropy_mean'])} to {_num(last['entropy_mean'])} and the mean transition rate from
{_num(first['transition_mean'])} to {_num(last['transition_mean'])}.</p>

<h2>5. Findings</h2>
<div class="fig">{figs['findings']}
<div class="note"><b>Model never evaluated</b> (CRL002): {_pct(fr['CRL002'])} of notebooks
({_pct(s['crl002_among_model_notebooks'])} of the {_pct(s['model_notebooks'])} that have a MODEL
cell). <b>Scattered imports</b> (CRL004): {_pct(fr['CRL004'])}. The paper reports neither
rate.</div></div>
<table><tr><th>rule</th><th>notebooks</th></tr>{finding_rows}</table>

<h2>6. Where and why this corpus or model could differ from the paper's</h2>
<ul>
<li><b>Which notebooks.</b> The paper's study numbers come from 7.1k notebooks linked to
academic papers (S2ORC), drawn from 118k notebooks filtered out of the 1.23M-notebook UCSD
GitHub corpus (2019). Ours is {s['notebooks']:,} notebooks from {s['repos']:,} repositories read
at their current commits, with the paper's import filter (plus <code>tensorflow.keras</code>),
at least 3 non-empty code cells, exact-duplicate removal and at most 400 notebooks per repository
— except two Kaggle-kernel collections (2,515 notebooks, 18 % of the shared corpus). Kaggle kernels,
course material and tutorials are over-represented and academic analyses under-represented; the
paper itself finds academic notebooks explore 56 % more and model 26 % less than others, so the
mix of sources moves every share above.</li>
<li><b>Aggregation.</b> The paper concatenates all notebooks of a paper before computing shares
and averages over papers; we average over notebooks (and show pooled shares beside). 1,482
near-duplicate notebooks (Jaccard ≥ 0.8 within a repository) are counted as they are.</li>
<li><b>Which model.</b> The paper's CORAL (72.2 % on its expert set) was trained on 1M cells with
a GPU; ours is coral's self-trained model (67.1 % accuracy, macro-F1 0.655 on our
1,753-cell expert dev set; see models/MODEL_CARD.md), trained on this same corpus with weak
labels and a notebook HMM that smooths each notebook's stage sequence. The HMM pulls neighbouring
cells towards the same stage, which <b>lowers the transition rate</b> relative to independent
per-cell labels; the weak-label seed table decides most IMPORT and WRANGLE cells. Median
top-class probability: {conf.get('median', float('nan')):.2f}; {_pct(conf.get('below_0_5'))} of
cells have no stage above 0.5.</li>
<li><b>Why WRANGLE is larger here.</b> Three causes we can name, none measured apart: the
sources (Kaggle kernels and course labs spend many lines on feature engineering, academic
analyses fewer — the paper's 23 % is over notebooks linked to papers); the labels (coral's weak
labels and data-flow rules call every cell that loads or reshapes a data frame WRANGLE, data
loading included, and the model learnt from them); and the line count (long feature-engineering
cells weigh more by lines than by cells: WRANGLE is {_pct(cs['WRANGLE'])} of cells but
{_pct(ls['WRANGLE'])} of lines).</li>
<li><b>What a line and a cell are.</b> coral counts code lines without blank and comment lines,
and leaves empty code cells out of every figure; IPython magics and shell lines count as code.
The paper does not define its line count.</li>
<li><b>Snapshots.</b> Both corpora see only the last committed state of a notebook, not how it
was written.</li>
</ul>
<p style="color:#777;font-size:.85em">Generated by <code>python -m coral_study.report</code>
from {html.escape(', '.join('/'.join(Path(i).parts[-3:]) for i in run.get('inputs', [])))};
labelled in {run.get('seconds_total', '?')} s by
{run.get('workers', '?')} Ray worker(s). Numbers: summary.json.</p>
</body></html>
"""


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coral_study.report",
                                     description="The corpus study report (HTML, inline SVG).")
    parser.add_argument("parquet_dir", type=Path, help="output folder of coral_study.label")
    parser.add_argument("--out", type=Path, required=True, help="folder for index.html")
    parser.add_argument("--command", default=None,
                        help="the command line shown as how to reproduce the page")
    args = parser.parse_args(argv)

    notebooks, cells, run = _load(args.parquet_dir)
    stats = compute(notebooks, cells)
    figs = figures(stats, notebooks)
    command = args.command or (
        f"python -m coral_study.label {' '.join(run.get('inputs', ['INPUT']))} "
        f"--out {args.parquet_dir} && python -m coral_study.report {args.parquet_dir} "
        f"--out {args.out}")
    page = render(stats, figs, run, command)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "index.html").write_text(page, encoding="utf-8")
    (args.out / "summary.json").write_text(json.dumps({"run": run, "stats": stats}, indent=2)
                                           + "\n")
    size = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    if size > MAX_BYTES:
        print(f"coral_study.report: {args.out} is {size / 1e6:.1f} MB, over the 5 MB budget",
              file=sys.stderr)
        return 1
    print(f"{args.out / 'index.html'}: {len(figs)} figures, {size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
