#!/usr/bin/env bash
# On the GPU machine, for the slice refills (tmc.plan.SliceRefill) and GELU with one multi-function op (Prelude):
# tmc verify of every sample and every random block, compute-sanitizer on kernels with refills (MBConv narrow and
# best), the emitted activations against float64, then the benchmark's programs before and after in ONE process (ab.py)
# and any extra variant directories of one configuration (variants.py).
#   bash scripts/gpu/refill.sh dist/tmc-<version>-linux-x86_64.tar.xz NEW_KERNELS_DIR OLD_KERNELS_DIR [CONFIG DIR...]
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
new="$2"; old="$3"; shift 3
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
verify_log samples "$out" --reps 1
verify_log random "$out" test-data/random/R*.tm --n 1,3 --hw 7,13 --reps 1
sanitize mbconv narrow "$out"; sanitize mbconv best "$out" racecheck
python3 scripts/bench/activation_accuracy.py "$new/convnext_n128_h56_c96/ConvNeXt_fused.cu" 2>&1 | tee "$out/activations.txt" | grep -E "gelu \||bound"
echo "== $(( $(date +%s) - start )) s; A/B"
python3 scripts/bench/ab.py "$new" "$old" --rounds 5 2>&1 | tee "$out/ab.txt" | tail -40
if [ $# -gt 1 ]; then
  python3 scripts/bench/variants.py "$@" --rounds 5 2>&1 | tee "$out/variants.txt" | tail -8
fi
echo "== total $(( $(date +%s) - start )) s"
