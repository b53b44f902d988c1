#!/usr/bin/env bash
# On the GPU machine, for shared buffers that share bytes (SharedLifetimes) and the LayerNorm held in registers:
# tmc verify of every sample and every random block, compute-sanitizer on the kernels whose buffers share bytes
# (ConvNeXt fused and wgmma, FusedMLP best), the benchmark's programs before and after in ONE process (ab.py), then
# ConvNeXt's emitted kernel against the eighth session's hand-written variants, and hand-written ConvFirst variants.
#   bash scripts/gpu/lifetimes.sh dist/tmc-<version>-linux-x86_64.tar.xz NEW_KERNELS_DIR OLD_KERNELS_DIR CX_DIR... -- CF_DIR...
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
new="$2"; old="$3"; shift 3
cx=(); while [ $# -gt 0 ] && [ "$1" != "--" ]; do cx+=("$1"); shift; done; [ $# -gt 0 ] && shift; cf=("$@")
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
verify_log samples "$out" --reps 1
verify_log random "$out" test-data/random/R*.tm --n 1,3 --hw 7,13 --reps 1
sanitize convnext fused "$out"; sanitize convnext wgmma "$out" racecheck; sanitize fusedmlp best "$out"
echo "== $(( $(date +%s) - start )) s; A/B"
python3 scripts/bench/ab.py "$new" "$old" --rounds 5 2>&1 | tee "$out/ab.txt" | tail -40
if [ ${#cx[@]} -gt 0 ]; then
  python3 scripts/bench/variants.py convnext_n128_h56_c96 "${cx[@]}" --rounds 5 2>&1 | tee "$out/convnext_variants.txt" | tail -8
fi
if [ ${#cf[@]} -gt 0 ]; then
  python3 scripts/bench/variants.py convfirst_n128_h56_c64 "${cf[@]}" --rounds 5 2>&1 | tee "$out/convfirst_variants.txt" | tail -10
fi
echo "== total $(( $(date +%s) - start )) s"
