#!/usr/bin/env bash
# One-command set-up: creates .venv at the repo root, installs the pinned stack
# (torch 2.14.1, mmcv 2.1.0 built from source with ops, mmengine, mmseg, mmpretrain,
# SMP) and this package, then optionally runs the tests or the demo.
#
#   bash tools/setup.sh          # install only (idempotent)
#   bash tools/setup.sh test     # install, then run the test suite
#   bash tools/setup.sh demo     # install, then phantoms -> train demo -> submission CSV
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY_BOOT="${PYTHON:-python3.11}"
command -v "$PY_BOOT" >/dev/null 2>&1 || PY_BOOT=python3
VENV="$ROOT/.venv"
CACHE="${MMSEG_EXT_CACHE:-$HOME/.cache/mmseg_ext}"
MMCV_VERSION=2.1.0
mkdir -p "$CACHE/wheels"

log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

[ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PY_BOOT" -m venv "$VENV"; }
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check -q -c "$ROOT/requirements/constraints.txt")

# setuptools<81: mmcv's setup.py and openmim import pkg_resources.
"${PIP[@]}" "setuptools<81" wheel ninja
# torch first, pinned, so nothing else pulls another (multi-GB) build.
"$PY" -c "import torch, torchvision; assert torch.__version__.startswith('2.14.1')" 2>/dev/null \
  || { log "installing torch 2.14.1 / torchvision 0.29.1"; "${PIP[@]}" torch==2.14.1 torchvision==0.29.1; }

# mmcv 2.1.0 with ops: no wheel for this torch on PyPI -> build once, cache the wheel.
if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
  WHEEL=$(ls "$CACHE"/wheels/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -1 || true)
  if [ -z "$WHEEL" ]; then
    log "building mmcv $MMCV_VERSION with ops from source (about 10 min on 2 cores, once)"
    # torch 2.14 headers need C++20; mmcv passes -std=c++17, the last -std wins.
    CXXW="$CACHE/cxx20"
    printf '#!/bin/sh\nexec g++ "$@" -std=c++20\n' > "$CXXW"; chmod +x "$CXXW"
    "${PIP[@]}" "numpy" "packaging" "addict" "yapf" "Pillow" "pyyaml" "mmengine==0.10.7"
    BUILD="$(mktemp -d)"
    CXX="$CXXW" MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="$(nproc)" \
      "$PY" -m pip wheel --disable-pip-version-check -q --no-build-isolation --no-deps \
      -c "$ROOT/requirements/constraints.txt" \
      -w "$BUILD" "mmcv==$MMCV_VERSION"
    mv "$BUILD"/mmcv-*.whl "$CACHE/wheels/"
    rm -rf "$BUILD"
    WHEEL=$(ls "$CACHE"/wheels/mmcv-"$MMCV_VERSION"-*.whl | head -1)
  fi
  "${PIP[@]}" "$WHEEL"
fi

"${PIP[@]}" -r requirements/mminstall.txt -r requirements/runtime.txt -r requirements/tests.txt
# Non-editable install: puts tools/ and configs/ under mmseg_ext/.mim for `mim run`.
"${PIP[@]}" --no-deps --force-reinstall --no-build-isolation "$ROOT"
log "installed: $("$PY" -c 'import mmseg_ext, torch, mmcv, mmseg; print("mmseg_ext", mmseg_ext.__version__, "torch", torch.__version__, "mmcv", mmcv.__version__, "mmseg", mmseg.__version__)')"

case "${1:-}" in
  test) shift; exec "$PY" -m pytest -q tests "$@" ;;
  demo) shift; exec bash "$ROOT/tools/demo.sh" "$@" ;;
  "") ;;
  *) echo "usage: bash tools/setup.sh [test|demo]" >&2; exit 2 ;;
esac
