#!/usr/bin/env bash
# On the GPU machine (twentieth session), about 1 minute: Nsight Compute's metrics (scripts/gpu/lib.sh NCU_METRICS)
# of MBConvDW's 'rows' (the depthwise conv on tensor cores in the register chain) and 'fused' at N=128, H=W=28.
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session20/prepared/call4.sh DIST
set -uo pipefail
dist="$1"; out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
source scripts/gpu/lib.sh; unpack_dist "$dist"
k="$(mktemp -d)"
"$tmc" emit samples/mbconv_dw.tm --arch sm_90 --shape N=128,H=28,W=28 -o "$k" > /dev/null
for p in rows fused; do
  echo "== $p"; ncu_profile "$k/MBConvDW_$p.json" 128 28 28 | tee "$out/ncu_$p.txt"
done
echo "== total $(( $(date +%s) - start )) s"
