#!/usr/bin/env bash
# On the GPU machine (eighteenth session): the MLP random blocks whose last, elementwise layer the CUDA writer now
# stores element by element (R7, and R3, R11, R15 with a 'ws' plan appended that splits them 'warps 4 + 4' as
# WarpSpecializedKernelTest writes them, .carry/ws/; every plan), verified against the CPU reference; then the f16 table with
# the seventeenth session's tuning file. About 8 minutes on an H100.
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session18/prepared/final.sh DIST TUNING.json
set -uo pipefail
dist="$1"; tuning="$2"; out="${OUT:-out}"; mkdir -p "$out/v"; start=$(date +%s)
source scripts/gpu/lib.sh; unpack_dist "$dist"
# (.carry/ws/ holds R3, R11 and R15 with the 'ws' plan appended: tmc verify runs every plan of a file)
for f in test-data/random/R7_mlp.tm .carry/ws/*.tm; do verify_log "$(basename "$f" .tm)" "$out/v" "$f" --reps 1; done
echo "== verified in $(( $(date +%s) - start )) s"
pack_out "$out/v"
OUT="$out/t" bash scripts/gpu/table.sh "$dist" f16 "$tuning"
