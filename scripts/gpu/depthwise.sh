#!/usr/bin/env bash
# On the GPU machine, for the depthwise conv's row block fitted to the tile (depthwiseRowBlock): tmc verify of every
# sample and of the random ConvNeXt- and MBConv-like blocks, compute-sanitizer on MBConvDW's and ConvNeXt's fused
# kernels, then the benchmark's programs before and after in ONE process (scripts/bench/ab.py).
#   bash scripts/gpu/depthwise.sh dist/tmc-<version>-linux-x86_64.tar.xz NEW_KERNELS_DIR OLD_KERNELS_DIR
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
verify_log samples "$out" --reps 1
verify_log random "$out" test-data/random/R*_convnext.tm test-data/random/R*_mbconv.tm --n 1,3 --hw 7,13 --reps 1
for s in mbconv_dw convnext; do sanitize $s fused "$out"; done
echo "== $(( $(date +%s) - start )) s; A/B"
python3 scripts/bench/ab.py "$2" "$3" --rounds 5 2>&1 | tee "$out/ab.txt" | tail -20
echo "== total $(( $(date +%s) - start )) s"
