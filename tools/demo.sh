#!/usr/bin/env bash
# The demo: phantoms -> train HRNet-W18 (CPU) -> submission CSV -> validated.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
CFG=configs/demo/hrnet_w18_phantom_cpu.py
WORK=work_dirs/demo
STEP=0
step() { STEP=$((STEP + 1)); printf '\n=== demo step %d/4 (%s): %s\n' "$STEP" "$(date +%H:%M:%S)" "$*"; }
step "synthetic phantoms (20 IDs, 512 px) in data/phantoms"
"$PY" tools/dataset_converters/make_phantoms.py data/phantoms --num-ids 20 --size 512 --seed 0
step "train $CFG (400 iterations on the CPU, 5-10 min) in $WORK; curve: $WORK/learning_curve.png"
"$PY" tools/train.py "$CFG" --work-dir "$WORK" "$@"
CKPT=$(ls "$WORK"/best_mDice_*.pth | head -1)
step "submission of the test phantoms with $CKPT"
"$PY" tools/test.py "$CFG" "$CKPT" --work-dir "$WORK" --submission "$WORK/submission.csv"
step "format check of $WORK/submission.csv"
"$PY" tools/analysis_tools/check_submission.py "$WORK/submission.csv" data/phantoms/test/DCM
