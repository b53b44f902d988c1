#!/usr/bin/env bash
# On the GPU machine: tmc tune over tile sizes (the candidates taken round-robin over tile sizes, see TuneCommand),
# then tmc bench of each sample's hand-written fused plan against its auto plan, which now takes the tuned winner.
#   bash scripts/gpu/tune_sizes.sh dist/tmc-<version>-linux-x86_64.tar.xz [TOP]
# Writes tune.txt, bench_tuned.txt and tuning.json under $OUT (or ./out).
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; top="${2:-10}"
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
start=$(date +%s)
echo "== $(date -u +%F) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
echo "== tmc tune --top $top, N=128, H=W=56"
for s in convfirst fusedmlp mbconv mbconv_dw convnext; do "$tmc" tune samples/$s.tm --top "$top"; done > "$out/tune.txt" 2>&1
grep -E "^tune|winner|\[" "$out/tune.txt" | head -80
echo "== $(( $(date +%s) - start )) s; tmc bench: the hand-written fused plan and auto (tuned)"
for s in convfirst fusedmlp mbconv mbconv_dw convnext; do "$tmc" bench samples/$s.tm --plan fused --plan best; done > "$out/bench_tuned.txt" 2>&1
cat "$out/bench_tuned.txt" | grep -vE "^\s*$" | head -60
cp "$TMC_CACHE_DIR/tuning.json" "$out/" 2>/dev/null
echo "== total $(( $(date +%s) - start )) s"
