#!/usr/bin/env bash
# On the GPU machine, for the cp.async double buffering: tmc verify and compute-sanitizer (scripts/gpu/issue5.sh),
# racecheck on the auto ('best') plans too, then the tmc kernels of the benchmark before and after in two
# processes with eager PyTorch as the common reference.
#   bash scripts/gpu/cp_async.sh dist/tmc-<version>-linux-x86_64.tar.xz NEW_KERNELS_DIR OLD_KERNELS_DIR
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"
bash "$(dirname "$0")/issue5.sh" "$1"
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
echo "== racecheck on the auto plans (double-buffered where they fit)"
for s in convfirst fusedmlp; do sanitize $s best "$out" racecheck; done
echo "== benchmark, kernels after (cp.async)"
python3 scripts/bench/benchmark.py "$2" --dtype f16 --modes eager --json "$out/bench_new.json" 2>&1 | tee "$out/bench_new.txt"
echo "== benchmark, kernels before"
python3 scripts/bench/benchmark.py "$3" --dtype f16 --modes eager --json "$out/bench_old.json" 2>&1 | tee "$out/bench_old.txt"
