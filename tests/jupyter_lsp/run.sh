#!/usr/bin/env bash
# End-to-end test of coral in JupyterLab's set-up: a real Jupyter server (jupyter_server + the
# jupyter-lsp extension, pinned in requirements.txt) starts the real coral-lsp from the
# jupyterlab-coral spec, and the test speaks to it over /lsp/ws/coral as jupyterlab-lsp does.
#
#   tests/jupyter_lsp/run.sh                                 # build coral-lsp (debug) and test
#   CORAL_LSP=/path/to/coral-lsp tests/jupyter_lsp/run.sh    # test that binary
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"
stamp="$venv/.requirements.txt"

if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$here/requirements.txt" "$stamp"; then
    echo "jupyter_lsp: installing jupyter_server and jupyter-lsp into $venv" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$stamp"
fi
# The package under test, from the working tree, every run (it is small).
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --no-build-isolation --force-reinstall "$root/jupyterlab-coral"
rm -rf "$root/jupyterlab-coral/build" "$root"/jupyterlab-coral/*.egg-info

if [[ -z "${CORAL_LSP:-}" ]]; then
    (cd "$root" && cargo build --quiet -p coral-server --bin coral-lsp)
    CORAL_LSP="${CARGO_TARGET_DIR:-$root/target}/debug/coral-lsp"
fi
CORAL_LSP="$(cd "$(dirname "$CORAL_LSP")" && pwd)/$(basename "$CORAL_LSP")"
export CORAL_LSP
echo "jupyter_lsp: testing $CORAL_LSP" >&2

exec "$venv/bin/python" "$here/test_jupyter_lsp.py" "$@"
