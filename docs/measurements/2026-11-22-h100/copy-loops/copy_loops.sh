#!/usr/bin/env bash
# (Record of a reverted experiment: KernelWriter.openCopyLoop existed only for this run; see docs/benchmarks.md, fifth session.)
# On the GPU machine, for copy loops of a constant number of rounds (KernelWriter.openCopyLoop): tmc verify of every
# sample, compute-sanitizer memcheck and racecheck on ConvFirst's and MBConv's fused plans (their copies have a
# partial last round), then the benchmark's programs before and after in ONE process (scripts/bench/ab.py).
#   bash scripts/gpu/copy_loops.sh dist/tmc-<version>-linux-x86_64.tar.xz NEW_KERNELS_DIR OLD_KERNELS_DIR
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
"$tmc" verify --reps 1 > "$out/verify_samples.txt" 2>&1; echo "verify samples exit $?"; tail -1 "$out/verify_samples.txt"
grep FAIL "$out/verify_samples.txt" | head
for s in convfirst mbconv; do sanitize $s fused "$out"; done
echo "== $(( $(date +%s) - start )) s; A/B"
python3 scripts/bench/ab.py "$2" "$3" --rounds 5 2>&1 | tee "$out/ab.txt" | tail -20
echo "== total $(( $(date +%s) - start )) s"
