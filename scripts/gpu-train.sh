#!/usr/bin/env bash
# The GPU training session behind models/ (see models/MODEL_CARD.md), run on a lent GPU machine
# that has no Rust toolchain and cannot read the corpus. Everything it needs travels in `.gpu/`:
#   .gpu/coral-train.gz   release build with `--features gpu` (gzip)
#   .gpu/samples.bin.gz   `coral-train featurize` over the whole corpus (label sets builtin, paper)
#   .gpu/dev.bin.gz       `coral-train featurize --labels` of the dev file (checking only)
#   .gpu/vocab.json       the vocabulary both were made with
# and the Vulkan loader's .deb files in `.gl/`. Runs train side by side on the one GPU for
# MINUTES each; what comes back goes to $OUT (models split below 16 MB, logs in one tarball).
#
#   MINUTES=7 scripts/gpu-train.sh
set -uo pipefail

minutes="${MINUTES:-7}"
out="${OUT:-/tmp/gpu-out}"
work=/tmp/coral-gpu
mkdir -p "$out" "$work/runs"

for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
if [[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
export LD_LIBRARY_PATH="/usr/local/nvidia/lib64:/usr/local/nvidia/lib:${LD_LIBRARY_PATH:-}"
{ nvidia-smi; nproc; free -g; } >"$work/machine.txt" 2>&1

gunzip -c .gpu/coral-train.gz >"$work/coral-train" && chmod +x "$work/coral-train"
bin="$work/coral-train"
"$bin" --version >>"$work/machine.txt" 2>&1 || true

# name  config  extra flags
runs=(
    "paper-docs-balanced training/configs/gpu-paper.json --label-set builtin"
    "small-docs-balanced training/configs/gpu-small.json --label-set builtin"
    "paper-docs training/configs/gpu-paper-unbalanced.json --label-set builtin"
    "paper-seeds training/configs/gpu-paper-unbalanced.json --label-set paper"
    "paper-docs-balanced-nomd training/configs/gpu-paper.json --label-set builtin --no-markdown"
)
# The second call: the ablations at the small size (the shipped model's), same budget each.
if [[ "${RUN_SET:-}" == small-ablations ]]; then
    runs=(
        "small-docs-balanced training/configs/gpu-small.json --label-set builtin"
        "small-docs training/configs/gpu-small-unbalanced.json --label-set builtin"
        "small-paper-seeds training/configs/gpu-small-unbalanced.json --label-set paper"
        "small-docs-balanced-nomd training/configs/gpu-small.json --label-set builtin --no-markdown"
        "small-docs-balanced-fullattn training/configs/gpu-small.json --label-set builtin --full-attention"
    )
    rm -rf "$work/runs"; mkdir -p "$work/runs"
fi

start_run() {
    local name=$1 config=$2 device=$3
    shift 3
    mkdir -p "$work/runs/$name"
    "$bin" train --samples .gpu/samples.bin.gz --vocab .gpu/vocab.json --config "$config" \
        --out "$work/runs/$name" --device "$device" --max-minutes "$minutes" --no-progress \
        --no-resume "$@" >"$work/runs/$name.log" 2>&1 &
}

for spec in "${runs[@]}"; do
    read -r name config flags <<<"$spec"
    # shellcheck disable=SC2086
    start_run "$name" "$config" gpu $flags
done

# If the GPU path does not come up within 90 s (no Vulkan device, a wgpu error), fall back
# to burn's CPU backend on this machine's cores for the small model, so the call still trains.
sleep 90
if ! grep -qs '"step"' "$work"/runs/*/metrics.jsonl && ! pgrep -f "coral-train train" >/dev/null; then
    echo "GPU runs failed; training the small model on CPU" | tee -a "$work/machine.txt"
    tail -5 "$work"/runs/*.log >>"$work/machine.txt"
    minutes=$(awk "BEGIN{print $minutes - 1.7}")
    start_run small-cpu training/configs/gpu-small.json cpu --label-set builtin
fi
wait

for run in "$work"/runs/*/; do
    name=$(basename "$run")
    if [[ -f "$run/model.bpk" ]]; then
        "$bin" eval --run "$run" --samples .gpu/dev.bin.gz --labels dev \
            --json "$run/dev-eval.json" >"$run/dev-eval.txt" 2>&1 || true
    fi
done

# Models back (the limit is 16 MB a file, 8 files): the shipping candidates whole, in parts.
for name in paper-docs-balanced small-docs-balanced small-cpu paper-docs small-paper-seeds; do
    model="$work/runs/$name/model.bpk"
    [[ -f "$model" ]] || continue
    split -b 15M -d "$model" "$out/$name.bpk.part"
done
tar -C "$work" -czf "$out/results.tar.gz" machine.txt \
    $(cd "$work" && find runs -name '*.log' -o -name '*.json' -o -name '*.jsonl' -o -name '*.txt')
ls -la "$out"
cat "$work"/runs/*/dev-eval.txt 2>/dev/null
tail -n 3 "$work"/runs/*.log
