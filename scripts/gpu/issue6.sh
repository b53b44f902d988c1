#!/usr/bin/env bash
# On the GPU machine: tmc verify, tmc bench on every sample, tmc tune, from the distribution tarball.
#   bash scripts/gpu/issue6.sh dist/tmc-<version>-linux-x86_64.tar.xz
# Writes verify.txt, bench.txt, tune.txt, bench_tuned.txt and tuning.json under $OUT (or ./out).
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
echo "== $(date -u +%F) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
"$tmc" verify --reps 3 > "$out/verify.txt" 2>&1; echo "verify exit $?"; tail -2 "$out/verify.txt"
echo "== FusedMLP at N=1 (auto plans without a stream)"
"$tmc" run samples/fusedmlp.tm --shape N=1,H=17,W=17 --reps 5 2>&1 | tail -4
echo "== tmc bench, every sample, N=128, H=W=56, median of 50"
for s in convfirst mbconv mbconv_dw convnext fusedmlp; do "$tmc" bench samples/$s.tm --plan fused --plan layerwise --plan best; done > "$out/bench.txt" 2>&1
cat "$out/bench.txt"
echo "== tmc tune"
for s in convfirst fusedmlp mbconv; do "$tmc" tune samples/$s.tm --top 5; done > "$out/tune.txt" 2>&1
cat "$out/tune.txt"
echo "== tmc bench after tuning (auto takes the stored winner)"
for s in convfirst fusedmlp mbconv; do "$tmc" bench samples/$s.tm --plan best; done > "$out/bench_tuned.txt" 2>&1
cat "$out/bench_tuned.txt"
cp "$TMC_CACHE_DIR/tuning.json" "$out/" 2>/dev/null
