#!/usr/bin/env bash
# On the GPU machine (sixteenth session): tmc tune --plan of the samples' hand-written fused plans at the benchmark
# configurations where the planner says one more resident block would fit but for registers ('resident B+1' would
# hold the compiler to R registers). Each plan is timed against that form; the winners are added to TUNING (the
# auto plans' winners of an earlier run) and the merged file written to $OUT/tuning.json, for table.sh.
# About 2 minutes on an H100.
#   OUT=dir bash scripts/gpu/tune_plans.sh dist/tmc-<version>-linux-x86_64.tar.xz TUNING.json
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
mkdir -p "$TMC_CACHE_DIR"; cp "$2" "$TMC_CACHE_DIR/tuning.json"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
tune() {  # sample shape plan [options...]
  local sample="$1" shape="$2" plan="$3"; shift 3
  echo "== $sample $shape --plan $plan $*"
  "$tmc" tune "samples/$sample.tm" --shape "$shape" --plan "$plan" "$@" 2>&1 | grep -E "winner|\[|error|tmc:"
}
{
  for p in rows fused wgmma specialized; do tune convfirst N=128,H=56,W=56 "$p"; done
  for p in rows fused; do tune convfirst N=8,H=56,W=56 "$p"; done
  for p in fused recompute narrow specialized wgmma; do tune mbconv N=128,H=28,W=28 "$p"; done
  tune mbconv N=128,H=14,W=14 wgmma -p C=128
} 2>&1 | tee "$out/tune_plans.txt" | grep -E "^==|winner"
cp "$TMC_CACHE_DIR/tuning.json" "$out/"
echo "== total $(( $(date +%s) - start )) s"
