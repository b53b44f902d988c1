#!/usr/bin/env bash
# On the GPU machine: tmc tune for every configuration of the benchmark (docs/benchmarks.md) at its own shape, then
# the benchmark's programs emitted with the tuning file (auto plans take the tuned winners), f16 and bf16.
#   bash scripts/gpu/tune_configs.sh dist/tmc-<version>-linux-x86_64.tar.xz [TOP]
# Writes tune_configs.txt, tuning.json and kernels-{f16,bf16}.tar.xz (the emitted programs, for benchmark.py) under $OUT.
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; top="${2:-10}"
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"; export TMC="$tmc"
start=$(date +%s)
echo "== $(date -u +%F) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader); tmc tune --top $top"
tune() {  # sample shape params...
  local sample="$1" shape="$2"; shift 2
  echo "== $sample $shape $*"
  "$TMC" tune "samples/$sample.tm" --shape "$shape" --top "$top" "$@" 2>&1 | grep -E "winner|\[" 
}
{
  tune convfirst N=128,H=56,W=56
  tune convfirst N=128,H=28,W=28 -p C=128
  tune convfirst N=8,H=56,W=56
  tune mbconv    N=128,H=28,W=28
  tune mbconv    N=128,H=14,W=14 -p C=128
  tune mbconv_dw N=128,H=28,W=28
  tune convnext  N=128,H=56,W=56
} > "$out/tune_configs.txt" 2>&1
grep -E "^==|winner" "$out/tune_configs.txt"
echo "== $(( $(date +%s) - start )) s; emitting the benchmark's programs with the tuning file"
for d in f16 bf16; do
  bash scripts/bench/emit_configs.sh "$tmp/kernels-$d" "$d" && tar -cJf "$out/kernels-$d.tar.xz" -C "$tmp" "kernels-$d"
done
cp "$TMC_CACHE_DIR/tuning.json" "$out/"
echo "== total $(( $(date +%s) - start )) s"
