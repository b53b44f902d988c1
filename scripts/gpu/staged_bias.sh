#!/usr/bin/env bash
# On the GPU machine, for a staged tensor-core product whose bias starts its accumulators (MBConv's expand, every
# separate kernel's pointwise): tmc verify of every sample and every random block, compute-sanitizer on MBConv's
# `rows` and `layerwise` plans (the expand writes the halo ring, which must stay zero outside the image), then the
# benchmark's programs before and after in ONE process (scripts/bench/ab.py), then hand-written variants if given.
#   bash scripts/gpu/staged_bias.sh dist/tmc-<version>-linux-x86_64.tar.xz NEW_KERNELS_DIR OLD_KERNELS_DIR [VARIANT_DIR...]
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
verify_log samples "$out" --reps 1
verify_log random "$out" test-data/random/R*.tm --n 1,3 --hw 7,13 --reps 1
sanitize mbconv rows "$out"; sanitize mbconv layerwise "$out" memcheck
echo "== $(( $(date +%s) - start )) s; A/B"
python3 scripts/bench/ab.py "$2" "$3" --rounds 5 2>&1 | tee "$out/ab.txt" | tail -20
shift 3
if [ $# -gt 0 ]; then
  python3 scripts/bench/variants.py mbconv_n128_h28_c64 "$@" --rounds 5 2>&1 | tee "$out/variants.txt" | tail -8
fi
echo "== total $(( $(date +%s) - start )) s"
