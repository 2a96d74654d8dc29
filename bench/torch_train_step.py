#!/usr/bin/env python3
"""PyTorch beside `cargo bench -p coral-training --bench train_step`: one CORAL training step
(forward, the four losses, backward, AdamW) at the paper's sizes, and inference at the bench's
shapes, on CPU.

Sizes: batch 16, d_model 256, 4 layers, 4 heads, FFN 1024, 50 topics, vocabulary 32,000
(`--vocab`; the shipped model's is 12,000), every cell exactly L = 64 and L = 160 positions.
Cells are random graphs built as training/src/synthetic.rs builds them ([CLS], a random tree of
code nodes with 1-2 positions each, up to L/8 markdown positions), masked as coral masks them
(bench/torch_reference.py `collate`). Losses as training/src/loss.rs with the paper's weights
(CE 0.1 over cells with a label, stage entropy 0.3, hinge 1 with 5 in-batch negatives on
L2-normalised z/r, topic orthogonality 1). Dropout 0.1 in training.

Each measurement: --warmup untimed runs (default 3), then the median of --steps (default 10).
Inference rows: eval mode under torch.inference_mode(), 1 x 160, 16 x 64, 16 x 160.
Prints a table; deterministic seeds; no network.
"""

import argparse
import os
import platform
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from coral_torch import PAPER, CoralEncoder  # noqa: E402
from torch_reference import collate  # noqa: E402


def random_cell(rng, length, vocab):
    """(ids, n_code, node_of, parent_of_pos), as synthetic.rs's random_input."""
    markdown = min(rng.randrange(length // 8 + 1), length - 1)
    code = length - 1 - markdown
    ids, node_of, parents = [2], [-1], []
    placed = 0
    while placed < code:
        node = len(parents)
        parents.append(-1 if node == 0 or rng.randrange(5) == 0 else rng.randrange(node))
        positions = 2 if placed + 1 < code and rng.randrange(3) == 0 else 1
        for _ in range(positions):
            ids.append(3 + rng.randrange(vocab - 3))
            node_of.append(node)
        placed += positions
    n_code = len(ids)
    for _ in range(markdown):
        ids.append(3 + rng.randrange(vocab - 3))
        node_of.append(-1)
    parent_of_pos = [parents[n] if n >= 0 else -1 for n in node_of]
    return ids, n_code, node_of, parent_of_pos


def batch_of(length, size, vocab, seed):
    rng = random.Random(seed)
    tok, seg, mask = collate([random_cell(rng, length, vocab) for _ in range(size)])
    # Labels as the Rust bench: Stage::from_index(i % 7) -> 5 stages, then none (i % 7 >= 5).
    labels = torch.tensor([i % 7 if i % 7 < 5 else -100 for i in range(size)])
    return torch.from_numpy(tok), torch.from_numpy(seg), torch.from_numpy(mask), labels


def l2n(x):
    return x / (x.square().sum(dim=1, keepdim=True) + 1e-12).sqrt()


def coral_loss(out, topic_embeddings, labels, negatives):
    z, _, r, logits, _ = out
    ce = F.cross_entropy(logits, labels, ignore_index=-100) if (labels >= 0).any() else logits.sum() * 0
    log_p = F.log_softmax(logits, dim=1)
    entropy = -(log_p.exp() * log_p).sum(dim=1).mean()
    b, d = z.shape
    zn, rn = l2n(z), l2n(r)
    n = zn[negatives].view(b, -1, d)
    positive = (rn * zn).sum(dim=1, keepdim=True)
    negative = (n * rn.unsqueeze(1)).sum(dim=2)
    hinge = F.relu(negative - positive + 1.0).sum(dim=1).mean()
    t = l2n(topic_embeddings)
    k = t.shape[0]
    ortho = ((t @ t.T - torch.eye(k)).square().sum() + 1e-12).sqrt()
    return 0.1 * ce + 0.3 * entropy + 1.0 * hinge + 1.0 * ortho


def negatives_for(size, m, rng):
    """m other cells of the batch per cell, flattened."""
    out = []
    for i in range(size):
        for _ in range(m):
            j = rng.randrange(size - 1)
            out.append(j + (j >= i))
    return torch.tensor(out)


def timed(fn, warmup, steps):
    for _ in range(warmup):
        fn()
    secs = []
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        secs.append(time.perf_counter() - t)
    return statistics.median(secs), min(secs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--vocab", type=int, default=PAPER["vocab"])
    ap.add_argument("--lengths", default="64,160")
    ap.add_argument("--all-rows", action="store_true",
                    help="last layer computes every row (stock nn.TransformerEncoder), not [CLS] only")
    args = ap.parse_args()

    torch.manual_seed(1)
    torch.set_num_threads(args.threads)
    model = CoralEncoder(args.vocab, PAPER["d_model"], PAPER["layers"], PAPER["heads"], PAPER["ffn"],
                         PAPER["topics"], dropout=0.1, cls_only_last=not args.all_rows)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, Python {platform.python_version()}; "
          f"vocab {args.vocab}, d_model {PAPER['d_model']}, {PAPER['layers']} layers, {PAPER['heads']} heads, "
          f"FFN {PAPER['ffn']}, {PAPER['topics']} topics; last layer "
          f"{'all rows' if args.all_rows else '[CLS] row only'}; median of {args.steps} after {args.warmup} warm-ups; "
          f"load average {os.getloadavg()[0]:.2f}")

    rng = random.Random(7)
    rows = []
    for length in [int(x) for x in args.lengths.split(",")]:
        tok, seg, mask, labels = batch_of(length, args.batch, args.vocab, length)
        model.train()

        def step():
            opt.zero_grad(set_to_none=True)
            out = model(tok, seg, mask)
            loss = coral_loss(out, model.topic_embeddings, labels, negatives_for(args.batch, 5, rng))
            loss.backward()
            opt.step()

        med, low = timed(step, args.warmup, args.steps)
        rows.append((f"train step (PyTorch), {args.batch} x {length}", args.batch, med, low))

    model.eval()
    for size, length in [(1, 160), (args.batch, 64), (args.batch, 160)]:
        tok, seg, mask, _ = batch_of(length, size, args.vocab, 99)

        def infer():
            with torch.inference_mode():
                model(tok, seg, mask)[4].numpy()

        med, low = timed(infer, args.warmup, args.steps)
        rows.append((f"inference (PyTorch), {size} x {length}", size, med, low))

    for what, cells, med, low in rows:
        print(f"{what:<44} median {med * 1e3:>8.1f} ms   {cells / med:>8.1f} cells/s   "
              f"(min {low * 1e3:.1f} ms, n = {args.steps})")


if __name__ == "__main__":
    main()
