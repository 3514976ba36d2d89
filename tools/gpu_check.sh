#!/usr/bin/env bash
# First minute on a (GPU) machine, one command:
#   bash tools/gpu_check.sh [WORK_DIR]
# Reports the device, trains the demo config for 20 iterations (--amp on a GPU; float32 on a
# CPU), writes a submission with tools/test.py, checks that the device RLE path writes the
# same rows as the CPU path, and prints it/s and peak (GPU) memory. Runs on a CPU too (CI).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WORK="${1:-work_dirs/gpu_check}"
CFG=configs/demo/hrnet_w18_phantom_cpu.py
ITERS=20
rm -rf "$WORK"
"$PY" -m mmseg_ext.utils.device_report
"$PY" tools/dataset_converters/make_phantoms.py "$WORK/data" --num-ids 5 --size 512 --seed 0
AMP=()
"$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' && AMP=(--amp)
DATA=(train_dataloader.dataset.data_root="$WORK/data/train"
      val_dataloader.dataset.data_root="$WORK/data/train"
      test_dataloader.dataset.data_root="$WORK/data/test")
"$PY" tools/train.py "$CFG" --work-dir "$WORK/train" "${AMP[@]}" --cfg-options "${DATA[@]}" \
  train_cfg.max_iters=$ITERS train_cfg.val_interval=$ITERS default_hooks.logger.interval=5 \
  default_hooks.checkpoint.interval=$ITERS
"$PY" tools/test.py "$CFG" "$WORK/train/iter_$ITERS.pth" --work-dir "$WORK/test" \
  --submission "$WORK/submission.csv" --cfg-options "${DATA[@]}"
"$PY" tools/analysis_tools/check_submission.py "$WORK/submission.csv" "$WORK/data/test/DCM"
"$PY" tools/analysis_tools/gpu_check_report.py "$WORK/train" "$WORK/submission.csv" \
  "$WORK/data/test/DCM"
