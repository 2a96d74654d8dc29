#!/usr/bin/env bash
# Builds the `coral` Python package (python/, PyO3 + maturin) and installs it, editable, into
# python/.venv with what the study and the tests use (python/requirements-dev.txt).
#
#   scripts/python-dev.sh             # debug build (quick to compile, slow to label)
#   scripts/python-dev.sh --release   # optimised: for labelling a corpus
#   source python/.venv/bin/activate && python -c "import coral; print(coral.Labeler())"
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/python/.venv"
REQ="$ROOT/python/requirements-dev.txt"
PYTHON="${PYTHON:-python3}"

"$ROOT/scripts/fetch-onnxruntime.sh"
if [[ ! -x "$VENV/bin/python" ]] || ! cmp -s "$REQ" "$VENV/.requirements.txt"; then
    echo "python-dev: installing python/requirements-dev.txt into $VENV" >&2
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
    cp "$REQ" "$VENV/.requirements.txt"
fi
cd "$ROOT/python"
# maturin runs cargo in the workspace, so the build shares target/ with cargo's own builds.
VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" maturin develop --quiet "$@"
echo "python-dev: coral installed in $VENV (activate it: source python/.venv/bin/activate)" >&2
