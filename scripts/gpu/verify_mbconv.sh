#!/usr/bin/env bash
# On the GPU machine: tmc verify of samples/mbconv.tm (every plan) and compute-sanitizer memcheck and racecheck on its
# 'rows' and 'narrow' plans.   bash scripts/gpu/verify_mbconv.sh dist/tmc-<version>-linux-x86_64.tar.xz
set -uo pipefail
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
verify_log mbconv "${OUT:-.}" samples/mbconv.tm --reps 1
for plan in rows narrow; do sanitize mbconv $plan "${OUT:-.}"; done
