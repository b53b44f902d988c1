#!/usr/bin/env bash
# On the GPU machine (twenty-first session), about 3 minutes on an H100: tmc tune of MBConvDW at N=128, H=W=28 with
# the depthwise conv in the register chain by default (twentieth session): the auto plan's candidates (--top 8) and
# the hand-written 'rows' (--plan rows: with one more resident block where registers limit it), on top of the
# seventeenth session's tuning file; the merged file is written to $OUT/tuning.json.
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session21/prepared/call3.sh DIST
set -uo pipefail
dist="$1"; out="${OUT:-out}"; mkdir -p "$out"
PLANS="mbconv_dw:N=128,H=28,W=28:best mbconv_dw:N=128,H=28,W=28:rows" OUT="$out" bash scripts/gpu/tune_plans.sh "$dist" \
  docs/measurements/2026-12-07-h100/session17/call1-tune-table-f16/tp/tuning.json
grep -vE "^\s*$" "$out/tune_plans.txt" | tail -40
