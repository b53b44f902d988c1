#!/usr/bin/env bash
# On the GPU machine: the hand-written ConvNeXt variants of scripts/bench/convnext_variants.py, timed in one process
# against the emitted kernel (scripts/bench/variants.py), Nsight Compute on the first and the last DIR, and
# compute-sanitizer (racecheck, memcheck) on the last at N=2, H=17, W=13 (tiles cut by the image edge).
#   bash scripts/gpu/convnext_variants.sh DIR...   (each DIR made by convnext_variants.py; the first is the baseline)
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
source "$(dirname "$0")/lib.sh"
python3 scripts/bench/variants.py convnext_n128_h56_c96 "$@" --rounds 5 2>&1 | tee "$out/variants.txt"
first="$1"; last="${!#}"
for d in "$first" "$last"; do
  echo "== ncu $d"; ncu_profile "$d"/*.json 128 56 56 | tee "$out/ncu_$(basename "$d").txt"
done
for tool in racecheck memcheck; do
  compute-sanitizer --tool "$tool" --error-exitcode 9 python3 scripts/gpu/profile_one.py "$last"/*.json 2 17 13 \
    > "$out/sanitizer_$(basename "$last")_$tool.txt" 2>&1
  echo "$tool $(basename "$last"): exit $?, $(grep SUMMARY "$out/sanitizer_$(basename "$last")_$tool.txt" | tail -1)"
done
echo "== total $(( $(date +%s) - start )) s"
