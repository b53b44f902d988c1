#!/usr/bin/env bash
# On the GPU machine (no JDK there): the issue-5 evidence in one run, from the distribution tarball.
#   bash scripts/gpu/issue5.sh dist/tmc-<version>-linux-x86_64.tar.xz
# Writes verify.txt, sanitizer.txt and convfirst_n128.txt under $OUT (or ./out).
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"
tmp="$(mktemp -d)"; tar -xJf "$1" -C "$tmp"
tmc="$(ls -d "$tmp"/tmc-*/bin/tmc)"
export TMC_CACHE_DIR="$tmp/cache"
echo "== $(date -u +%F) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
"$tmc" doctor | tail -4
echo "== tmc verify (every sample, every plan, N in 1,3,32, H=W in 7,17,56)"
"$tmc" verify --reps 3 > "$out/verify.txt" 2>&1; rc_verify=$?
tail -3 "$out/verify.txt"; grep -E "FAIL" "$out/verify.txt" | head -20
echo "== compute-sanitizer memcheck and racecheck on each sample's fused kernel at N=3, H=17, W=13"
: > "$out/sanitizer.txt"
for s in convfirst mbconv mbconv_dw convnext fusedmlp; do
  for tool in memcheck racecheck; do
    compute-sanitizer --tool $tool --error-exitcode 9 "$tmc" run samples/$s.tm --plan fused --shape N=3,H=17,W=13 --reps 1 \
      >> "$out/sanitizer.txt" 2>&1
    rc=$?
    echo "$s $tool: exit $rc, $(grep -c 'ERROR SUMMARY: 0 errors\|RACECHECK SUMMARY: 0 hazards' "$out/sanitizer.txt") clean summaries so far"
  done
done
grep -E "SUMMARY" "$out/sanitizer.txt"
echo "== ConvFirst at N=128, H=W=56: every plan against the reference, median of 50"
"$tmc" run samples/convfirst.tm --shape N=128,H=56,W=56 --reps 50 2>&1 | tee "$out/convfirst_n128.txt"
echo "verify exit $rc_verify"
