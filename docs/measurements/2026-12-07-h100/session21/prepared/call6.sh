#!/usr/bin/env bash
# On the GPU machine (twenty-first session), about 2 minutes: convnext_rows.tm beside this script (the sample's block,
# its 'fused', and two candidates) verified at N in {1, 3}, H=W in {7, 17}, then timed at N=128, H=W=56 (variants.py,
# 5 rounds, each checked against PyTorch first). A shorter call5.sh for the device time that was left.
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session21/prepared/call6.sh DIST
set -uo pipefail
dist="$1"; out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
here="$(dirname "$0")"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
source scripts/gpu/lib.sh; unpack_dist "$dist"
verify_log convnext_rows "$out" "$here/convnext_rows.tm" --reps 1 --n 1,3 --hw 7,17
k="$(mktemp -d)"
"$tmc" emit "$here/convnext_rows.tm" --arch sm_90 --shape N=128,H=56,W=56 -o "$k/e" > /dev/null
d=(); for p in fused r7e48 r2x28w4; do copy_program "$k/e" "$p" "$k/v/$p"; d+=("$k/v/$p"); done
python3 scripts/bench/variants.py convnext_n128_h56_c96 "${d[@]}" --rounds 5 > "$out/variants_convnext_rows.txt" 2>&1
tail -6 "$out/variants_convnext_rows.txt"
echo "== total $(( $(date +%s) - start )) s"
