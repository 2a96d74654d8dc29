#!/usr/bin/env bash
# coral in real editors, in a real browser: JupyterLab (+ jupyterlab-lsp + jupyterlab-coral) and
# Debian's Chromium driven by Playwright for Python (pytest). Everything comes from the package
# registries; Playwright's own browser download is never used.
#
#   tests/browser/run.sh                                   # build coral-lsp (debug) and test
#   CORAL_LSP=/path/to/coral-lsp tests/browser/run.sh      # test that binary
#   tests/browser/run.sh -k hover                          # pytest arguments pass through
#
# Idempotent: the virtual environment (.venv/, git-ignored) is rebuilt only when
# requirements.txt changes. Screenshots and logs: target/browser/ ($CORAL_BROWSER_OUT).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"
stamp="$venv/.requirements.txt"
chromium="${CORAL_CHROMIUM:-/usr/bin/chromium}"

if [[ ! -x "$chromium" ]]; then
    echo "browser: $chromium not found (apt-get install -y chromium, or set CORAL_CHROMIUM)" >&2
    exit 1
fi

if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$here/requirements.txt" "$stamp"; then
    echo "browser: installing JupyterLab, jupyterlab-lsp, Playwright and pytest into $venv" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$stamp"
fi
# The package under test, from the working tree, every run (it is small); built in a copy so
# the tree gets no build/ or .egg-info.
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
cp -r "$root/jupyterlab-coral" "$build/jupyterlab-coral"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --no-build-isolation --force-reinstall "$build/jupyterlab-coral"

# The hover's probabilities need the model, so ONNX Runtime (returns at once when present).
"$root/scripts/fetch-onnxruntime.sh"

if [[ -z "${CORAL_LSP:-}" ]]; then
    (cd "$root" && cargo build --quiet -p coral-server --bin coral-lsp)
    CORAL_LSP="${CARGO_TARGET_DIR:-$root/target}/debug/coral-lsp"
fi
CORAL_LSP="$(cd "$(dirname "$CORAL_LSP")" && pwd)/$(basename "$CORAL_LSP")"
export CORAL_LSP CORAL_CHROMIUM="$chromium"
if [[ -n "${CORAL_CHECK:-}" ]]; then
    CORAL_CHECK="$(cd "$(dirname "$CORAL_CHECK")" && pwd)/$(basename "$CORAL_CHECK")"
    export CORAL_CHECK
fi
export CORAL_BROWSER_OUT="${CORAL_BROWSER_OUT:-$root/target/browser}"
echo "browser: testing $CORAL_LSP with $("$chromium" --version 2>/dev/null | head -n 1)" >&2

cd "$here"
exec "$venv/bin/python" -m pytest -p no:cacheprovider -v -s "$here" "$@"
