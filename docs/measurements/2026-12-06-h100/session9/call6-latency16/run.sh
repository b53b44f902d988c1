#!/usr/bin/env bash
# Session 9, GPU call 6: sm_90's warpsToHideLatency 8 -> 16 changes auto's choices: tmc verify of every sample, then
# the benchmark's programs with the new model against the final table's, in one process.
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source scripts/gpu/lib.sh; unpack_dist dist/tmc-0.1.0-linux-x86_64.tar.xz
verify_log samples "$out" --reps 1
python3 scripts/bench/ab.py .carry/s9/f16m .carry/s9/f16 --rounds 5 2>&1 | tee "$out/ab_latency16.txt" | tail -16
echo "== total $(( $(date +%s) - start )) s"
