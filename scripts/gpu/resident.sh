#!/usr/bin/env bash
# On the GPU machine (fourteenth session): 'resident N' on the H100, then tmc tune of every benchmark configuration
# with the forms it now times (one more resident block where registers limit a candidate; warp-specialized forms only
# at MBConv C=128, the one configuration where a split won in the thirteenth session). Writes tune.txt, tuning.json
# and logs.tar.gz (verify and sanitizer logs) under $OUT; the tuning file is what table.sh's third argument takes.
# About 6 minutes on an H100.
#   OUT=dir bash scripts/gpu/resident.sh dist/tmc-<version>-linux-x86_64.tar.xz
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out/logs"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/logs/gpu.txt"
k="$(mktemp -d)"; tm="$k/convfirst_resident.tm"
{ cat samples/convfirst.tm; cat <<'PLAN'

plan small for ConvFirst on sm_90 {
  tile   N 1, H 8, W 8
  stream E by 64
  place  h in registers
  warps  4
  resident 5
}
PLAN
} > "$tm"
verify_log convfirst_resident "$out/logs" "$tm" --reps 1
sanitize "$tm" small "$out/logs" memcheck racecheck
echo "== $(( $(date +%s) - start )) s; tune"
tune() {  # sample shape [options...]
  local sample="$1" shape="$2"; shift 2
  echo "== $sample $shape $*"
  "$tmc" tune "samples/$sample.tm" --shape "$shape" "$@" 2>&1 | grep -E "winner|\[|calibration|tuning"
  echo "   ($(( $(date +%s) - start )) s)"
}
{
  tune convfirst N=128,H=56,W=56 --no-specialize
  tune convfirst N=8,H=56,W=56 --no-specialize
  tune mbconv    N=128,H=28,W=28 --no-specialize
  tune mbconv    N=128,H=14,W=14 -p C=128
  tune convfirst N=128,H=28,W=28 -p C=128 --no-specialize
  tune mbconv_dw N=128,H=28,W=28 --no-specialize
  tune convnext  N=128,H=56,W=56 --no-specialize
} 2>&1 | tee "$out/tune.txt" | grep -E "^==|winner|\("
cp "$TMC_CACHE_DIR/tuning.json" "$out/"
pack_out "$out/logs"
echo "== total $(( $(date +%s) - start )) s"
