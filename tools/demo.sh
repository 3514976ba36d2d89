#!/usr/bin/env bash
# The demo: phantoms -> train HRNet-W18 (CPU) -> submission CSV -> validated.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
CFG=configs/demo/hrnet_w18_phantom_cpu.py
WORK=work_dirs/demo
"$PY" tools/dataset_converters/make_phantoms.py data/phantoms --num-ids 20 --size 512 --seed 0
"$PY" tools/train.py "$CFG" --work-dir "$WORK" "$@"
CKPT=$(ls "$WORK"/best_mDice_*.pth | head -1)
"$PY" tools/test.py "$CFG" "$CKPT" --work-dir "$WORK" --submission "$WORK/submission.csv"
"$PY" tools/analysis_tools/check_submission.py "$WORK/submission.csv" data/phantoms/test/DCM
