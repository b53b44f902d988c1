#!/usr/bin/env bash
# On the GPU machine, for the register chain (the expanded chunk kept in registers between the two products) and the
# staged store: tmc verify and compute-sanitizer over every sample (scripts/gpu/issue5.sh), tmc verify over the random
# blocks, then the tmc kernels before and after
# in ONE process, interleaved (scripts/bench/ab.py), each checked against PyTorch first.
#   bash scripts/gpu/chain.sh dist/tmc-<version>-linux-x86_64.tar.xz NEW_KERNELS_DIR OLD_KERNELS_DIR
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"
start=$(date +%s)
bash "$(dirname "$0")/issue5.sh" "$1"
echo "== verify and sanitizer took $(( $(date +%s) - start )) s"
echo "== the random blocks (test-data/random, every plan; chains wherever they apply)"
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
verify_log random "$out" test-data/random/*.tm --n 1,3 --hw 7,13 --reps 1
echo "== A/B: new ($2) against old ($3), one process"
python3 scripts/bench/ab.py "$2" "$3" --rounds 5 2>&1 | tee "$out/ab.txt"
echo "== total $(( $(date +%s) - start )) s"
