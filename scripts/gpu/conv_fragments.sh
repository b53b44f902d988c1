#!/usr/bin/env bash
# On the GPU machine, for the conv that leaves its result in registers as the chain's A fragments (and the store
# staged through a streamed weight slice): tmc verify of every sample and every random block, compute-sanitizer on
# the changed kernels, then the benchmark's programs before and after in ONE process (scripts/bench/ab.py), and the
# emitted ConvFirst kernel against the hand-written variant that motivated it (when HAND_DIR is given).
#   bash scripts/gpu/conv_fragments.sh dist/tmc-<version>-linux-x86_64.tar.xz NEW_KERNELS_DIR OLD_KERNELS_DIR [HAND_DIR]
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
verify_log samples "$out" --reps 1
verify_log random "$out" test-data/random/R*.tm --n 1,3 --hw 7,13 --reps 1
sanitize convfirst fused "$out"; sanitize convfirst rows "$out"; sanitize mbconv fused "$out" racecheck
echo "== $(( $(date +%s) - start )) s; A/B"
python3 scripts/bench/ab.py "$2" "$3" --rounds 5 2>&1 | tee "$out/ab.txt" | tail -20
if [ -n "${4:-}" ]; then
  mkdir -p "$out/v/emitted" "$out/v/before"
  cp "$2"/convfirst_n128_h56_c64/ConvFirst_fused.{cu,json} "$out/v/emitted/"
  cp "$3"/convfirst_n128_h56_c64/ConvFirst_fused.{cu,json} "$out/v/before/"
  python3 scripts/bench/variants.py convfirst_n128_h56_c64 "$out/v/before" "$out/v/emitted" "$4" --rounds 5 2>&1 \
    | tee "$out/variants_hand.txt" | tail -6
  rm -rf "$out/v"
fi
echo "== total $(( $(date +%s) - start )) s"
