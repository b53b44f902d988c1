#!/usr/bin/env bash
# On the GPU machine (sixteenth session): tmc tune --plan of the samples' hand-written fused plans at the benchmark
# configurations where the planner says one more resident block would fit but for registers ('resident B+1' would
# hold the compiler to R registers). Each plan is timed against that form; the winners are added to TUNING (the
# auto plans' winners of an earlier run) and the merged file written to $OUT/tuning.json, for table.sh.
# About 2 minutes on an H100.
#   [PLANS="convfirst:N=128,H=56,W=56:rows ..."] OUT=dir bash scripts/gpu/tune_plans.sh dist/tmc-<version>-linux-x86_64.tar.xz TUNING.json
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
# PLANS (optional): "SAMPLE:SHAPE:PLAN[:PARAM]..." entries instead of the default list below.
default="convfirst:N=128,H=56,W=56:rows convfirst:N=128,H=56,W=56:fused convfirst:N=128,H=56,W=56:wgmma
convfirst:N=128,H=56,W=56:specialized convfirst:N=8,H=56,W=56:rows convfirst:N=8,H=56,W=56:fused
mbconv:N=128,H=28,W=28:fused mbconv:N=128,H=28,W=28:recompute mbconv:N=128,H=28,W=28:narrow
mbconv:N=128,H=28,W=28:specialized mbconv:N=128,H=28,W=28:wgmma mbconv:N=128,H=14,W=14:wgmma:C=128"
{
  for e in ${PLANS:-$default}; do
    IFS=: read -r sample shape plan param <<< "$e"
    tune "$sample" "$shape" "$plan" ${param:+-p "$param"}
  done
} 2>&1 | tee "$out/tune_plans.txt" | grep -E "^==|winner"
cp "$TMC_CACHE_DIR/tuning.json" "$out/"
echo "== total $(( $(date +%s) - start )) s"
