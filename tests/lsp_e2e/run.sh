#!/usr/bin/env bash
# End-to-end tests of `coral-lsp` as a language server: builds the binary, makes a private
# virtual environment with the pinned LSP client (pytest-lsp / pygls), and runs the tests.
#
#   tests/lsp_e2e/run.sh            # build (debug) and test
#   CORAL_LSP=/path/to/coral-lsp tests/lsp_e2e/run.sh   # test that binary
#   tests/lsp_e2e/run.sh -k rapid   # extra arguments go to pytest
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$here/requirements.txt" "$venv/.requirements.txt"; then
    echo "lsp_e2e: installing the client into $venv" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$venv/.requirements.txt"
fi

if [[ -z "${CORAL_LSP:-}" ]]; then
    (cd "$root" && cargo build --quiet -p coral-server --bin coral-lsp)
    CORAL_LSP="${CARGO_TARGET_DIR:-$root/target}/debug/coral-lsp"
fi
export CORAL_LSP
echo "lsp_e2e: testing $CORAL_LSP" >&2

cd "$here"
exec "$venv/bin/python" -m pytest -p no:cacheprovider -q "$@"
