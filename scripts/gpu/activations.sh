#!/usr/bin/env bash
# On the GPU machine, for the activation functions with fewer multi-function ops (silu on the hardware tanh, gelu's
# erfc by Abramowitz & Stegun): their accuracy against float64, tmc verify of every sample and of every random
# block of test-data/random, then the benchmark's programs before and after in ONE process (scripts/bench/ab.py).
#   bash scripts/gpu/activations.sh dist/tmc-<version>-linux-x86_64.tar.xz NEW_KERNELS_DIR OLD_KERNELS_DIR
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
python3 scripts/bench/activation_accuracy.py > "$out/activation_accuracy.txt" 2>&1; echo "accuracy exit $?"
cat "$out/activation_accuracy.txt"
verify_log samples "$out" --reps 1
verify_log random "$out" test-data/random/R*.tm --n 1,3 --hw 7,13 --reps 1
echo "== $(( $(date +%s) - start )) s; A/B"
python3 scripts/bench/ab.py "$2" "$3" --rounds 5 2>&1 | tee "$out/ab.txt" | tail -20
echo "== total $(( $(date +%s) - start )) s"
