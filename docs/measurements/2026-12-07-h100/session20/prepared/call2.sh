#!/usr/bin/env bash
# On the GPU machine (twentieth session), about 9 minutes: the compiler that chains a depthwise conv on tensor cores
# by default where the register chain applies (MBConvDW's new 'rows' plan, its auto plan at 56x56, random blocks R5
# and R13), verified, R5 and R13 verified, then the f16 table with the seventeenth session's tuning file.
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session20/prepared/call2.sh DIST
set -uo pipefail
dist="$1"; out="${OUT:-out}"; mkdir -p "$out/v"; start=$(date +%s)
source scripts/gpu/lib.sh; unpack_dist "$dist"
verify_log mbconv_dw "$out/v" samples/mbconv_dw.tm --reps 1
# R5 and R13: their kernels changed (their depthwise conv now feeds the chain)
for f in test-data/random/R5_mbconv.tm test-data/random/R13_mbconv.tm; do
  verify_log "$(basename "$f" .tm)" "$out/v" "$f" --reps 1
done
pack_out "$out/v"
echo "== verified in $(( $(date +%s) - start )) s"
# the table (all configurations, about 6.5 minutes), or with ROWS=config,config only those rows (about 1 minute each)
if [ -z "${ROWS:-}" ]; then
  OUT="$out/t" bash scripts/gpu/table.sh "$dist" f16 docs/measurements/2026-12-07-h100/session17/call1-tune-table-f16/tp/tuning.json
else
  mkdir -p "$out/t" "$TMC_CACHE_DIR"
  cp docs/measurements/2026-12-07-h100/session17/call1-tune-table-f16/tp/tuning.json "$TMC_CACHE_DIR/tuning.json"
  k="$(mktemp -d)"; TMC="$tmc" bash scripts/bench/emit_configs.sh "$k" f16 > /dev/null
  python3 scripts/bench/benchmark.py "$k" --dtype f16 --configs "$ROWS" --json "$out/t/table_f16.json" > "$out/t/table_f16.txt" 2>&1
  grep -E "^\|" "$out/t/table_f16.txt" | tail -6
fi
echo "== total $(( $(date +%s) - start )) s"
