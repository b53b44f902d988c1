#!/usr/bin/env bash
# On the GPU machine (no JDK there): the issue-5 evidence in one run, from the distribution tarball.
#   bash scripts/gpu/issue5.sh dist/tmc-<version>-linux-x86_64.tar.xz
# Writes verify.txt, sanitizer_<sample>_fused_<tool>.txt and convfirst_n128.txt under $OUT (or ./out).
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
echo "== $(date -u +%F) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
"$tmc" doctor | tail -4
echo "== tmc verify (every sample, every plan, N in 1,3,32, H=W in 7,17,56)"
"$tmc" verify --reps 3 > "$out/verify.txt" 2>&1; rc_verify=$?
tail -3 "$out/verify.txt"; grep -E "FAIL" "$out/verify.txt" | head -20
echo "== compute-sanitizer memcheck and racecheck on each sample's fused kernel at N=3, H=17, W=13"
for s in convfirst mbconv mbconv_dw convnext fusedmlp; do sanitize $s fused "$out"; done
echo "== ConvFirst at N=128, H=W=56: every plan against the reference, median of 50"
"$tmc" run samples/convfirst.tm --shape N=128,H=56,W=56 --reps 50 2>&1 | tee "$out/convfirst_n128.txt"
echo "verify exit $rc_verify"
