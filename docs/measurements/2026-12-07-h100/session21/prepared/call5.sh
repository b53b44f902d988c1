#!/usr/bin/env bash
# On the GPU machine (twenty-first session), about 3 minutes on an H100: ConvNeXt's 'fused' in the rows geometry
# (4x28 tiles, 7 warps: one 16-pixel row per warp; E by 48 fits 2 blocks per SM at 128 registers, 14 warps against
# 'fused''s 12) and two other tiles, verified and timed against it at N=128, H=W=56 (scripts/gpu/plan_variants.sh).
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session21/prepared/call5.sh DIST
set -uo pipefail
dist="$1"; out="${OUT:-out}"; mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
OUT="$out/pv" bash scripts/gpu/plan_variants.sh "$dist" convnext fused convnext_n128_h56_c96 N=128,H=56,W=56 "" \
  "r7e48:tile N 1, H 4, W 28;warps 7;stream E by 48" "r7:tile N 1, H 4, W 28;warps 7" \
  "r2x28w4:tile N 1, H 2, W 28;warps 4" "t8x14w7:tile N 1, H 8, W 14;warps 7"
