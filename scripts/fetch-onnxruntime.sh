#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library that `ort` (load-dynamic, api-31) loads at run time.
#
# The library comes from the onnxruntime==1.31.1 Python wheel (package registry, `pip download`);
# libonnxruntime.so* is unpacked into .ort/lib (git-ignored) with the usual symlinks:
#   libonnxruntime.so -> libonnxruntime.so.1 -> libonnxruntime.so.1.31.1
# Idempotent: returns at once when the library is already there.
set -euo pipefail

VERSION="1.31.1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${ORT_LIB_DIR:-$ROOT/.ort/lib}"
LIB="libonnxruntime.so.$VERSION"

if [[ -f "$DEST/$LIB" && -L "$DEST/libonnxruntime.so" && -e "$DEST/libonnxruntime.so" ]]; then
    exit 0
fi

PYTHON="${PYTHON:-python3}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp \
    "onnxruntime==$VERSION" -d "$TMP" >&2

WHEEL="$(ls "$TMP"/onnxruntime-"$VERSION"-*.whl | head -n 1)"
mkdir -p "$DEST"
"$PYTHON" - "$WHEEL" "$DEST" <<'PY'
import shutil, sys, zipfile
from pathlib import Path

wheel, dest = sys.argv[1], Path(sys.argv[2])
with zipfile.ZipFile(wheel) as z:
    found = False
    for name in z.namelist():
        base = name.rsplit("/", 1)[-1]
        if name.startswith("onnxruntime/capi/") and base.startswith("libonnxruntime") and ".so" in base:
            with z.open(name) as src, open(dest / base, "wb") as dst:
                shutil.copyfileobj(src, dst)
            found = True
    if not found:
        sys.exit(f"no libonnxruntime*.so* in {wheel}")
PY

cd "$DEST"
[[ -f "$LIB" ]] || { echo "error: $LIB missing from the wheel" >&2; exit 1; }
ln -sf "$LIB" libonnxruntime.so.1
ln -sf libonnxruntime.so.1 libonnxruntime.so
echo "ONNX Runtime $VERSION in $DEST" >&2
