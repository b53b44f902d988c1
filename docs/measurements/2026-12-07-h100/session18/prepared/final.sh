#!/usr/bin/env bash
# On the GPU machine (prepared in the eighteenth session, not yet run): the random blocks' kernels whose last layer
# the CUDA writer now stores element by element (commits 99aa3eb and 5019bd5 change the fused and auto kernels of
# R3, R6, R7, R8, R9, R11, R14 and R15), verified against the CPU reference: every plan of every random block, and
# R3, R8, R11, R15 with a 'ws' plan appended that splits them 'warps 4 + 4' as WarpSpecializedKernelTest writes them
# (.carry/ws/: the test's plan text appended to test-data/random/<name>.tm). Then, unless TABLE=0, the f16 table
# with the given tuning file. About 3 minutes, then 6.5 for the table, on an H100.
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session18/prepared/final.sh DIST TUNING.json
set -uo pipefail
dist="$1"; tuning="$2"; out="${OUT:-out}"; mkdir -p "$out/v"; start=$(date +%s)
source scripts/gpu/lib.sh; unpack_dist "$dist"
for f in test-data/random/*.tm .carry/ws/*.tm; do
  name="$(basename "$f" .tm)"; [[ "$f" == .carry/* ]] && name="ws_$name"
  verify_log "$name" "$out/v" "$f" --reps 1
done
echo "== verified in $(( $(date +%s) - start )) s"
pack_out "$out/v"
[ "${TABLE:-1}" = 0 ] || OUT="$out/t" bash scripts/gpu/table.sh "$dist" f16 "$tuning"
