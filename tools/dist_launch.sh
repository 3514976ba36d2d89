#!/usr/bin/env bash
# bash tools/dist_launch.sh SCRIPT GPUS [ARGS...]: tools/SCRIPT in GPUS processes with
# --launcher pytorch (gloo is used automatically without CUDA). dist_train.sh and
# dist_test.sh call it.
SCRIPT=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
DIR="$(cd "$(dirname "$0")" && pwd)"
# The repo's .venv when present, else python on PATH (or $PYTHON).
PYTHON=${PYTHON:-$( [ -x "$DIR/../.venv/bin/python" ] && echo "$DIR/../.venv/bin/python" || echo python)}
exec "$PYTHON" -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$DIR/$SCRIPT" "${@:3}" --launcher pytorch
