#!/usr/bin/env bash
# On the GPU machine (twenty-first session), about 3 minutes on an H100: MBConvDW's 'rows' (the depthwise conv on
# tensor cores in the register chain, twentieth session) in other geometries, verified and timed against it at
# N=128, H=W=28 (scripts/gpu/plan_variants.sh): E by 32 (2 blocks per SM), E by 32 at 3 blocks (ptxas spills 64
# bytes under the cap), E by 128, and 8x28 tiles (two row tiles a warp, 1 block per SM).
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session21/prepared/call2.sh DIST
set -uo pipefail
dist="$1"; out="${OUT:-out}"; mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
OUT="$out/pv" bash scripts/gpu/plan_variants.sh "$dist" mbconv_dw rows mbconvdw_n128_h28_c64 N=128,H=28,W=28 "" \
  "e32:stream E by 32" "e32r3:stream E by 32;resident 3" "e128:stream E by 128" "r8:tile N 1, H 8, W 28"
