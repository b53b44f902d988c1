#!/usr/bin/env bash
# On the GPU machine (prepared in the seventeenth session, not yet run): tmc.plan.TripBarriers (commits cfc7886,
# 9d392e6 and 6e918c1: the next chunk's copies after the trip's first barrier, no barrier at the trip's end) against
# the kernels before it.
# tmc verify of convfirst.tm, mbconv.tm (both at C=64 and C=128), mbconv_dw.tm and convnext.tm; the changed table kernels old
# against new in one process (variants.py, 7 rounds, each checked against PyTorch first); compute-sanitizer racecheck
# and synccheck on four of the plans it changes. About 9 minutes on an H100.
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session17/prepared/run_trip_barriers.sh DIST .carry/s17old
# .carry/s17old (git-ignored): scripts/bench/emit_configs.sh's output from the commit before TripBarriers, made by
#   git worktree add /tmp/old 9af7cca && TMC_CACHE_DIR=$(mktemp -d) bash /tmp/old/scripts/bench/emit_configs.sh .carry/s17old f16
set -uo pipefail
dist="$1"; old="$2"; out="${OUT:-out}"; mkdir -p "$out/san"
OUT="$out/old_new" bash scripts/gpu/old_new.sh "$dist" "$old" "convfirst mbconv mbconv_dw convnext" \
  convfirst_n128_h56_c64:rows,fused convfirst_n128_h28_c128:rows mbconv_n128_h28_c64:rows,fused \
  mbconvdw_n128_h28_c64:fused convnext_n128_h56_c96:fused
source scripts/gpu/lib.sh; unpack_dist "$dist"
for sp in "convfirst rows" "mbconv rows" "mbconv_dw fused" "convnext fused"; do
  set -- $sp; sanitize "$1" "$2" "$out/san" racecheck synccheck
done
pack_out "$out/san"
