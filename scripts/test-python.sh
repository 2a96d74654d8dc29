#!/usr/bin/env bash
# The Python package's tests: builds the wheel (debug profile: CI labels only a few notebooks),
# installs it into python/.venv with the pinned test requirements, and runs pytest — the
# package against `coral-lsp --check`, and the Ray Data pipeline with two workers on the
# bundled sample, then the report on its output.
#
#   scripts/test-python.sh                      # build what is missing, test
#   CORAL_LSP=/path/to/coral-lsp scripts/test-python.sh -k batch   # extra arguments: pytest's
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/python/.venv"
REQ="$ROOT/python/requirements-dev.txt"
PYTHON="${PYTHON:-python3}"
cd "$ROOT"

"$ROOT/scripts/fetch-onnxruntime.sh"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$ROOT/.ort/lib/libonnxruntime.so}"

if [[ ! -x "$VENV/bin/python" ]] || ! cmp -s "$REQ" "$VENV/.requirements.txt"; then
    echo "test-python: installing python/requirements-dev.txt into $VENV" >&2
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
    cp "$REQ" "$VENV/.requirements.txt"
fi

WHEELS="$(mktemp -d)"
trap 'rm -rf "$WHEELS"' EXIT
(cd python && VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" \
    maturin build --quiet --interpreter "$VENV/bin/python" --out "$WHEELS")
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall \
    --no-deps "$WHEELS"/coral-*.whl

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
[[ "$TARGET_DIR" == /* ]] || TARGET_DIR="$ROOT/$TARGET_DIR"
if [[ -z "${CORAL_LSP:-}" ]]; then
    CORAL_LSP="$TARGET_DIR/debug/coral-lsp"
    [[ -x "$CORAL_LSP" ]] || cargo build --quiet -p coral-server --bin coral-lsp
fi
export CORAL_LSP

# From the repository root with the venv's pytest, so `import coral` is the installed wheel,
# not the source folder python/coral (which has no compiled module).
exec "$VENV/bin/pytest" -p no:cacheprovider -q python/tests "$@"
