#!/usr/bin/env bash
# On the GPU machine: tmc verify of samples/mbconv.tm (every plan) and compute-sanitizer memcheck and racecheck on its
# 'rows' and 'narrow' plans.   bash scripts/gpu/verify_mbconv.sh dist/tmc-<version>-linux-x86_64.tar.xz
set -uo pipefail
tmp="$(mktemp -d)"; tar -xJf "$1" -C "$tmp"; tmc="$(ls -d "$tmp"/tmc-*/bin/tmc)"; export TMC_CACHE_DIR="$tmp/cache"
"$tmc" verify samples/mbconv.tm --reps 1 > "${OUT:-.}/verify_mbconv.txt" 2>&1; echo "verify exit $?"; tail -1 "${OUT:-.}/verify_mbconv.txt"
for plan in rows narrow; do
  for tool in memcheck racecheck; do
    compute-sanitizer --tool $tool --error-exitcode 9 "$tmc" run samples/mbconv.tm --plan $plan --shape N=3,H=17,W=13 --reps 1 \
      > "${OUT:-.}/sanitizer_${plan}_${tool}.txt" 2>&1
    echo "$plan $tool: exit $?, $(grep -E 'SUMMARY' "${OUT:-.}/sanitizer_${plan}_${tool}.txt")"
  done
done
