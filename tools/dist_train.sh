#!/usr/bin/env bash
# bash tools/dist_train.sh CONFIG GPUS [ARGS...]   (gloo is used automatically without CUDA)
exec bash "$(dirname "$0")/dist_launch.sh" train.py "$2" "$1" "${@:3}"
