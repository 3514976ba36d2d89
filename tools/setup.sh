#!/usr/bin/env bash
# One-command set-up: creates .venv at the repo root, installs torch (yours or the pinned
# one), mmcv 2.1.0 built from source against that torch (CPU ops), mmengine, mmseg,
# mmpretrain, SMP and this package, then optionally runs the tests or the demo.
#
#   bash tools/setup.sh          # install only (idempotent)
#   bash tools/setup.sh test     # install (+ requirements/deploy.txt), then run the test suite
#   bash tools/setup.sh demo     # install, then phantoms -> train demo -> submission CSV
#
# Choices (environment variables):
#   MMSEG_EXT_TORCH="torch==X torchvision==Y"  install this torch build (2.6 or newer) instead
#                     of the pinned torch 2.14.1 (CUDA 13.0, driver >= 580, no V100 kernels);
#                     for a V100 or an older driver: "torch==2.6.0 torchvision==0.21.0" (CUDA
#                     12.4). "keep" keeps whatever torch .venv already has.
#                     Default: keep a torch already in .venv, else install the pinned one.
#   MMSEG_EXT_TORCH_INDEX=URL   extra package index for that torch.
#   MMSEG_EXT_SYSTEM_SITE=1     create .venv with --system-site-packages, so a torch already
#                     installed in the Python that runs this script is kept.
#   MMSEG_EXT_MMCV_CUDA=1       also build mmcv's CUDA ops (needs an nvcc matching torch's
#                     CUDA). By default the GPUs are hidden from the build: CPU ops only,
#                     which is all mmseg_ext, HRNet and SMP use.
# For tests: MMSEG_EXT_SETUP_UNTIL=<step> stops after that step: build-decision (prints mmcv's
# CUDA build decision) or mmcv-metadata (mmcv's metadata step).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY_BOOT="${PYTHON:-python3.11}"
command -v "$PY_BOOT" >/dev/null 2>&1 || PY_BOOT=python3
VENV="$ROOT/.venv"
CACHE="${MMSEG_EXT_CACHE:-$HOME/.cache/mmseg_ext}"
MMCV_VERSION=2.1.0
PINNED_TORCH="torch==2.14.1 torchvision==0.29.1"

log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  if [ "${MMSEG_EXT_SYSTEM_SITE:-0}" = 1 ]; then
    "$PY_BOOT" -m venv --system-site-packages "$VENV"
  else
    "$PY_BOOT" -m venv "$VENV"
  fi
fi
PY="$VENV/bin/python"
# Every pip call below is constrained: setuptools<81 (mmcv's setup.py and openmim import
# pkg_resources; torch>=2.6 asks for setuptools>=77.0.3, which would otherwise upgrade it past
# 81), then, once torch is there, the torch and torchvision it has.
CONSTRAINTS="$VENV/mmseg_ext_constraints.txt"
grep -v -E '^(torch|torchvision)==' "$ROOT/requirements/constraints.txt" > "$CONSTRAINTS"
PIP=("$PY" -m pip install --disable-pip-version-check -q -c "$CONSTRAINTS")
PIP_LOUD=("$PY" -m pip install --disable-pip-version-check -c "$CONSTRAINTS")  # shows downloads
"${PIP[@]}" setuptools wheel ninja

# 1. torch: the user's choice, else the one already there, else the pinned build.
have_torch() { "$PY" -c "import torch, torchvision" 2>/dev/null; }
TORCH_CHOICE="${MMSEG_EXT_TORCH:-}"
INSTALL_TORCH=1
if [ "$TORCH_CHOICE" = keep ] || { [ -z "$TORCH_CHOICE" ] && have_torch; }; then INSTALL_TORCH=0; fi
# Free space, decided before the long work. Measured on a fresh machine: installing the pinned
# torch (with its CUDA libraries) peaks at 8.7 GB and leaves 6.5 GB in .venv; mmcv's build, the
# mm packages and the deploy runtimes take under 2 GB more (build files under TMPDIR).
# The test suite needs 9 GB more: one test installs torch into a fresh venv (the whole fresh
# `setup.sh test` peaked at 16.7 GB).
check_free_space() {  # DIR GB WHAT
  local avail
  avail=$(df -Pk "$1" | awk 'NR == 2 { print int($4 / 1048576) }')
  if [ "$avail" -lt "$2" ]; then
    echo "setup: $1 has $avail GB free; $3 needs about $2 GB there. Free space, or put the" \
      "checkout (and TMPDIR) on a larger disk, then run tools/setup.sh again." >&2
    exit 2
  fi
}
if [ "$INSTALL_TORCH" = 1 ]; then
  NEED_GB=12 WHAT="installing torch (with its CUDA libraries) and the rest"
else
  NEED_GB=3 WHAT="building mmcv and installing the rest"
fi
if [ "${1:-}" = test ]; then NEED_GB=$(( NEED_GB + 9 )) WHAT="$WHAT, then the test suite,"; fi
TMP_DIR="${TMPDIR:-/tmp}"
fs_of() { df -P "$1" | awk 'NR == 2 { print $1 }'; }
check_free_space "$VENV" "$NEED_GB" "$WHAT"
[ "$(fs_of "$TMP_DIR")" = "$(fs_of "$VENV")" ] \
  || check_free_space "$TMP_DIR" 2 "pip's unpacking and mmcv's build (TMPDIR)"
if [ "$INSTALL_TORCH" = 0 ]; then
  have_torch || { echo "MMSEG_EXT_TORCH=keep, but $PY has no torch/torchvision" >&2; exit 2; }
  log "keeping the installed torch"
else
  INDEX=()
  [ -n "${MMSEG_EXT_TORCH_INDEX:-}" ] && INDEX=(--extra-index-url "$MMSEG_EXT_TORCH_INDEX")
  log "installing ${TORCH_CHOICE:-$PINNED_TORCH} (about 3 GB to download with its CUDA libraries)"
  # shellcheck disable=SC2086  # the spec is a list of requirements
  "${PIP_LOUD[@]}" "${INDEX[@]}" ${TORCH_CHOICE:-$PINNED_TORCH}
fi
# Everything after this follows the torch that is there: its versions become constraints.
read -r TORCH_VERSION TORCHVISION_VERSION TORCH_CUDA TORCH_INCLUDE < <("$PY" - <<'EOF'
import os, torch
from importlib.metadata import version  # the distributions' versions, as pip sees them
print(version('torch'), version('torchvision'), torch.version.cuda or 'cpu',
      os.path.join(os.path.dirname(torch.__file__), 'include'))
EOF
)
printf 'torch==%s\ntorchvision==%s\n' "$TORCH_VERSION" "$TORCHVISION_VERSION" >> "$CONSTRAINTS"
log "torch $TORCH_VERSION (CUDA $TORCH_CUDA), torchvision $TORCHVISION_VERSION"
"$PY" "$ROOT/mmseg_ext/utils/runtime/torch_support.py"  # stops on a torch older than supported

# 2. mmcv 2.1.0 with ops: no PyPI wheel for a recent torch -> build once per
#    (python, torch, CUDA, ops) and cache the wheel under that key.
mkdir -p "$CACHE"
if [ "${MMSEG_EXT_MMCV_CUDA:-0}" = 1 ]; then OPS=cudaops; else OPS=cpuops; fi
# mmcv's setup.py builds the CUDA extension whenever torch.cuda.is_available(), whatever
# FORCE_CUDA says: hide the GPUs from the build unless CUDA ops were asked for.
BUILD_ENV=(MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)")
if [ "$OPS" = cudaops ]; then BUILD_ENV+=(FORCE_CUDA=1); else BUILD_ENV+=(FORCE_CUDA=0 CUDA_VISIBLE_DEVICES=); fi
if [ "${MMSEG_EXT_SETUP_UNTIL:-}" = build-decision ]; then
  # For tests: what mmcv's setup.py (lines 164, 255) decides in the build's environment.
  env "${BUILD_ENV[@]}" "$PY" -c "import os, torch; print('mmcv CUDA extension:',
    torch.cuda.is_available() or os.getenv('FORCE_CUDA', '0') == '1')"
  exit 0
fi
if [ "${MMSEG_EXT_SETUP_UNTIL:-}" = mmcv-metadata ]; then
  # For tests: the fresh path up to mmcv's metadata step (its setup.py imports pkg_resources).
  META="$(mktemp -d)"
  env "${BUILD_ENV[@]}" "$PY" -m pip download --disable-pip-version-check -q --no-deps \
    --no-binary mmcv --no-build-isolation -c "$CONSTRAINTS" -d "$META" "mmcv==$MMCV_VERSION"
  rm -rf "$META"
  log "mmcv $MMCV_VERSION metadata generated"
  exit 0
fi
PY_TAG=$("$PY" -c 'import sys; print("py%d%d" % sys.version_info[:2])')
KEY="$PY_TAG-torch$TORCH_VERSION-cuda$TORCH_CUDA-$OPS"
WHEELS="$CACHE/wheels/$KEY"
mkdir -p "$WHEELS"
# Reinstall mmcv when the torch it was built against changed (a new MMSEG_EXT_TORCH).
if [ "$(cat "$VENV/mmseg_ext_mmcv.key" 2>/dev/null)" != "$KEY" ] \
    || ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
  WHEEL=$(ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -1 || true)
  if [ -z "$WHEEL" ]; then
    # The C++ standard torch's headers ask for (torch 2.14: C++20; older: C++17). mmcv
    # passes -std=c++17 itself; the last -std on the command line wins.
    CXX_STD=c++17
    grep -qs 'C++20 or later' "$TORCH_INCLUDE/torch/csrc/api/include/torch/all.h" && CXX_STD=c++20
    CXXW="$CACHE/cxx-$CXX_STD"
    printf '#!/bin/sh\nexec g++ "$@" -std=%s\n' "$CXX_STD" > "$CXXW"; chmod +x "$CXXW"
    log "building mmcv $MMCV_VERSION ($OPS, -std=$CXX_STD) from source (10-20 min on 2 cores, once)"
    "${PIP[@]}" "numpy" "packaging" "addict" "yapf" "Pillow" "pyyaml" "mmengine==0.10.7"
    BUILD="$(mktemp -d)"
    BUILD_LOG="$CACHE/mmcv-build-$KEY.log"
    log "mmcv build log: $BUILD_LOG"
    env "${BUILD_ENV[@]}" CXX="$CXXW" "$PY" -m pip wheel --disable-pip-version-check -v \
      --no-build-isolation --no-deps -c "$CONSTRAINTS" -w "$BUILD" "mmcv==$MMCV_VERSION" \
      > "$BUILD_LOG" 2>&1 &
    BUILD_PID=$!
    BUILD_START=$(date +%s)
    NEXT=60
    while kill -0 "$BUILD_PID" 2>/dev/null; do
      sleep 2
      ELAPSED=$(( $(date +%s) - BUILD_START ))
      if [ "$ELAPSED" -ge "$NEXT" ]; then
        log "building mmcv: $(( ELAPSED / 60 )) min so far, $(grep -c 'Compiling\|\[[0-9]*/[0-9]*\]' "$BUILD_LOG" || true) compile lines (log: $BUILD_LOG)"
        NEXT=$(( NEXT + 60 ))
      fi
    done
    if ! wait "$BUILD_PID"; then
      echo "setup: the mmcv build failed; the end of $BUILD_LOG:" >&2
      tail -n 40 "$BUILD_LOG" >&2
      exit 1
    fi
    log "mmcv built in $(( ($(date +%s) - BUILD_START) / 60 )) min"
    mv "$BUILD"/mmcv-*.whl "$WHEELS/"
    rm -rf "$BUILD"
    WHEEL=$(ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl | head -1)
  fi
  log "installing $(basename "$WHEEL") built for $KEY"
  "${PIP[@]}" --force-reinstall --no-deps "$WHEEL"
  echo "$KEY" > "$VENV/mmseg_ext_mmcv.key"
fi

"${PIP[@]}" -r requirements/mminstall.txt -r requirements/runtime.txt -r requirements/tests.txt
# The optional deployment runtimes (ONNX, ONNX Runtime, OpenVINO): the test suite runs
# tests/test_deploy with them instead of skipping it.
if [ "${1:-}" = test ]; then
  "${PIP[@]}" -r requirements/deploy.txt
  # Headless Chromium opens the HTML report of tools/evaluate.py in its test.
  if ! command -v chromium >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      log "installing chromium (apt-get) for the HTML report test"
      { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } \
        || log "chromium did not install: the HTML report test will be skipped"
    else
      log "no chromium (and no apt-get as root to install it): the HTML report test will be skipped"
    fi
  fi
fi
# Non-editable install: puts tools/ and configs/ under mmseg_ext/.mim for `mim run` (openmim
# cannot find them in a PEP 660 editable install).
# setuptools builds in $ROOT/build and keeps what it finds there, and files an earlier install
# left behind stay in site-packages: a file deleted from the checkout would stay in the
# installed copy, so the build and the installed package start from nothing.
rm -rf "$ROOT/build" "$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/mmseg_ext"
"${PIP[@]}" --no-deps --force-reinstall --no-build-isolation "$ROOT"
# The one way this venv's processes run the checkout's code (tools, benchmarks, projects, tests,
# `mim run` from any folder): a .pth line that puts the checkout before site-packages, so its
# mmseg_ext (and projects/, benchmarks/) win over the installed copy; PYTHONPATH still wins.
"$PY" - "$ROOT" <<'PTH'
import os, sys, sysconfig
root = os.path.realpath(sys.argv[1])
line = ('import sys; r = %r; r in sys.path or sys.path.insert(next((i for i, p in '
        'enumerate(sys.path) if p.endswith("site-packages")), len(sys.path)), r)\n' % root)
with open(os.path.join(sysconfig.get_paths()['purelib'], 'mmseg_ext_checkout.pth'), 'w') as f:
    f.write(line)
PTH
log "installed: $("$PY" -c 'import mmseg_ext, torch, mmcv, mmseg; print("mmseg_ext", mmseg_ext.__version__, "torch", torch.__version__, "mmcv", mmcv.__version__, "mmseg", mmseg.__version__)')"
# 3. The device training will use, and why a visible GPU cannot be used.
"$PY" -m mmseg_ext.utils.runtime.device_report

case "${1:-}" in
  test) shift
    log "lint: flake8 and isort (setup.cfg)"
    "$PY" -m flake8 . && "$PY" -m isort --check-only --diff . \
      || { echo "setup: lint failed (above); fix it, then run tools/setup.sh test again" >&2; exit 1; }
    exec "$PY" -m pytest -q tests "$@" ;;
  demo) shift; exec bash "$ROOT/tools/demo.sh" "$@" ;;
  "") ;;
  *) echo "usage: bash tools/setup.sh [test|demo]" >&2; exit 2 ;;
esac
