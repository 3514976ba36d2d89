#!/usr/bin/env bash
# First minutes on a (GPU) machine, one command:
#   bash tools/gpu_check.sh [WORK_DIR]
# Reports the device; trains the demo config for 20 iterations (--amp on a GPU; float32 on a
# CPU); writes a submission with tools/test.py; checks that the device RLE path writes the same
# rows as the CPU path; with two or more GPUs (or GPU_CHECK_DIST=1) tests with 2 processes
# through tools/dist_test.sh and compares the CSVs; then runs full-size HRNet-W48 training
# steps (configs/hrnet/hrnet_w48_hand.py, 2048² phantoms, 1024 input, batch 2, --amp) and
# prints it/s, data wait and peak GPU memory of both runs. Runs on a CPU too (CI): the W48
# step then runs once, in float32, with --cfg-options expected_device=cpu.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WORK="${1:-work_dirs/gpu_check}"
CFG=configs/demo/hrnet_w18_phantom_cpu.py
ITERS=20
STEP=0
step() { STEP=$((STEP + 1)); printf '\n=== gpu_check step %d/7 (%s): %s\n' "$STEP" "$(date +%H:%M:%S)" "$*"; }
rm -rf "$WORK"
step "device report"
"$PY" -m mmseg_ext.utils.runtime.device_report
"$PY" tools/dataset_converters/make_phantoms.py "$WORK/data" --num-ids 5 --size 512 --seed 0
GPUS=$("$PY" -c 'import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)')
AMP=()
[ "$GPUS" -gt 0 ] && AMP=(--amp)
# every iteration logged with its own time (mmengine otherwise logs a 10-iteration mean)
PER_ITER_LOG=(default_hooks.logger.interval=1 log_processor.window_size=1)
step "train the demo config for $ITERS iterations${AMP[*]:+ with ${AMP[*]}} in $WORK/train"
"$PY" tools/train.py "$CFG" --work-dir "$WORK/train" "${AMP[@]}" --data-root "$WORK/data/train" \
  --cfg-options train_cfg.max_iters=$ITERS train_cfg.val_interval=$ITERS "${PER_ITER_LOG[@]}" \
  default_hooks.checkpoint.interval=$ITERS
step "tools/test.py --submission $WORK/submission.csv, then its format check"
"$PY" tools/test.py "$CFG" "$WORK/train/iter_$ITERS.pth" --work-dir "$WORK/test" \
  --submission "$WORK/submission.csv" --data-root "$WORK/data/test"
"$PY" tools/analysis_tools/check_submission.py "$WORK/submission.csv" "$WORK/data/test/DCM"
step "2-process tools/dist_test.sh (with two GPUs or GPU_CHECK_DIST=1)"
if [ "$GPUS" -ge 2 ] || [ "${GPU_CHECK_DIST:-0}" = 1 ]; then
  PYTHON="$PY" bash tools/dist_test.sh "$CFG" "$WORK/train/iter_$ITERS.pth" 2 \
    --work-dir "$WORK/test2" --submission "$WORK/submission_2proc.csv" --data-root "$WORK/data/test"
  cmp "$WORK/submission.csv" "$WORK/submission_2proc.csv" \
    && echo "gpu_check: 2-process dist_test.sh wrote the same CSV bytes as 1 process" \
    || echo "gpu_check: 2-process CSV differs from 1 process (GPU kernels may round differently)"
else
  echo "gpu_check: skipped (fewer than two GPUs)"
fi
# Full-size HRNet-W48 steps: the input of boostcampaitech8/pro-cv-semanticsegmentation-cv-11
# (first on the private leaderboard; 1024, batch 2) from 2048² images.
W48_ITERS=10
W48=("${PER_ITER_LOG[@]}" default_hooks.checkpoint.save_last=False)
if [ "$GPUS" -eq 0 ]; then W48_ITERS=1; W48+=(expected_device=cpu); fi
step "2048² phantoms for the full-size step"
"$PY" tools/dataset_converters/make_phantoms.py "$WORK/data2048" --num-ids 5 --size 2048 \
  --seed 0 --num-test-ids 0
step "full-size HRNet-W48: $W48_ITERS training iteration(s) in $WORK/w48"
"$PY" tools/train.py configs/hrnet/hrnet_w48_hand.py --work-dir "$WORK/w48" "${AMP[@]}" \
  --data-root "$WORK/data2048/train" \
  --cfg-options "${W48[@]}" train_cfg.max_iters=$W48_ITERS train_cfg.val_interval=1000
step "report"
"$PY" tools/analysis_tools/gpu_check_report.py "$WORK/train" "$WORK/submission.csv" \
  "$WORK/data/test/DCM" --fullsize-work-dir "$WORK/w48"
