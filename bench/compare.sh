#!/usr/bin/env bash
# Interleaved rounds of coral (float32 and int8) and the PyTorch reference on the same 1,000
# corpus notebooks (server/README.md). PYTHON: an interpreter with torch (bench/README.md).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
B="cargo bench -q -p coral-server --bench check --"
T="${PYTHON:-.work/torch-venv/bin/python} bench/torch_reference.py --notebooks 1000 --threads 2"
uptime
for round in 1 2; do
  echo "## round $round small"
  $B --notebooks 1000 --threads 2 2>/dev/null | grep -E "heuristics|model \("
  $B --notebooks 1000 --threads 2 --model models/int8 2>/dev/null | grep -E "model \("
  $T 2>/dev/null | grep -E '"cells_per_s"'
done
echo "## paper"
$B --notebooks 1000 --threads 2 --random 2>/dev/null | grep -E "model \("
$B --notebooks 1000 --threads 2 --random --weights int8 2>/dev/null | grep -E "model \("
$T --paper 2>/dev/null | grep -E '"cells_per_s"'
uptime
