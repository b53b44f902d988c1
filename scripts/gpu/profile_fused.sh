#!/usr/bin/env bash
# Nsight Compute on each emitted program in DIR (its kernels at N=128, H=W=56): the numbers behind the
# "what limits each kernel" table of docs/benchmarks.md.   bash scripts/gpu/profile_fused.sh DIR
source "$(dirname "$0")/lib.sh"
for m in "$1"/*.json; do
  echo "== $(basename "$m" .json)"
  ncu_profile "$m" 128 56 56
done
