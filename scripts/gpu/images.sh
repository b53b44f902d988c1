#!/usr/bin/env bash
# On the GPU machine, for 'tile N' above 1 in fused plans (a block computes its images one after another):
# tmc verify over every sample plan (FusedMLP's 'images' plan included: N in 1, 3, 32 leaves blocks with fewer
# than 4 images), compute-sanitizer on that plan, its time beside the other plans, and Nsight Compute on the
# fused ConvFirst kernel of the benchmark configuration.
#   bash scripts/gpu/images.sh dist/tmc-<version>-linux-x86_64.tar.xz KERNELS_DIR
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
echo "== $(date -u +%F) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
"$tmc" verify --reps 3 > "$out/verify.txt" 2>&1; echo "verify exit $?"; tail -1 "$out/verify.txt"
grep -E "FusedMLP_images" "$out/verify.txt" | head -12; grep -E "FAIL" "$out/verify.txt" | head
sanitize fusedmlp images "$out"
echo "== FusedMLP at N=128, H=W=56, every plan (tmc run, median of 50)"
"$tmc" run samples/fusedmlp.tm --shape N=128,H=56,W=56 --reps 50 2>&1 | tee "$out/fusedmlp_n128.txt"
echo "== Nsight Compute: ConvFirst fused at N=128, H=W=56"
mkdir -p "$tmp/prof"; cp "$2"/convfirst_n128_h56_c64/ConvFirst_fused.* "$tmp/prof/"
bash "$(dirname "$0")/profile_fused.sh" "$tmp/prof" 2>&1 | tee "$out/ncu_convfirst.txt"
