#!/usr/bin/env bash
# On the GPU machine (twentieth session), about 11 minutes: the compiler that chains a depthwise conv on tensor cores
# by default where the register chain applies (MBConvDW's new 'rows' plan, its auto plan at 56x56, random blocks R5
# and R13), verified, then the f16 table with the seventeenth session's tuning file, then every random block verified.
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session20/prepared/call2.sh DIST
set -uo pipefail
dist="$1"; out="${OUT:-out}"; mkdir -p "$out/v"; start=$(date +%s)
source scripts/gpu/lib.sh; unpack_dist "$dist"
verify_log mbconv_dw "$out/v" samples/mbconv_dw.tm --reps 1
verify_log mbconv_dw_c32 "$out/v" samples/mbconv_dw.tm -p C=32 --reps 1
echo "== verified in $(( $(date +%s) - start )) s"
OUT="$out/t" bash scripts/gpu/table.sh "$dist" f16 docs/measurements/2026-12-07-h100/session17/call1-tune-table-f16/tp/tuning.json
echo "== table at $(( $(date +%s) - start )) s"
for f in test-data/random/*.tm; do
  [ $(( $(date +%s) - start )) -gt 560 ] && { echo "out of time before $f"; break; }
  verify_log "$(basename "$f" .tm)" "$out/v" "$f" --reps 1
done
pack_out "$out/v"
echo "== total $(( $(date +%s) - start )) s"
