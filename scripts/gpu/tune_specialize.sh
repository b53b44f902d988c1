#!/usr/bin/env bash
# On the GPU machine: `tmc tune --specialize` of MBConv at both benchmark shapes and of MBConvDW at its own, then
# the tuned auto plan ('best', emitted with that tuning file) against the hand-written plans, in ONE process per
# configuration (variants.py). About 4 minutes on an H100.
#   OUT=dir bash scripts/gpu/tune_specialize.sh dist/tmc-<version>-linux-x86_64.tar.xz
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
"$tmc" tune samples/mbconv.tm --shape N=128,H=14,W=14 -p C=128 --specialize 2>&1 | tee "$out/tune_mbconv_c128.txt" | tail -22
echo "== $(( $(date +%s) - start )) s"
"$tmc" tune samples/mbconv.tm --shape N=128,H=28,W=28 --specialize 2>&1 | tee "$out/tune_mbconv_c64.txt" | tail -22
echo "== $(( $(date +%s) - start )) s"
"$tmc" tune samples/mbconv_dw.tm --shape N=128,H=28,W=28 --specialize 2>&1 | tee "$out/tune_mbconvdw_c64.txt" | tail -22
cp "$TMC_CACHE_DIR/tuning.json" "$out/" 2>/dev/null
echo "== $(( $(date +%s) - start )) s; the tuned auto plan against the hand-written ones"
k="$(mktemp -d)"
TMC="$tmc" bash scripts/bench/emit_configs.sh "$k" f16 > /dev/null
for row in "mbconv_n128_h14_c128 mbconv MBConv N=128,H=14,W=14 -p C=128" "mbconv_n128_h28_c64 mbconv MBConv N=128,H=28,W=28" \
           "mbconvdw_n128_h28_c64 mbconv_dw MBConvDW N=128,H=28,W=28"; do
  set -- $row; config="$1"; sample="$2"; block="$3"; shape="$4"; shift 4
  "$tmc" plan "samples/$sample.tm" --plan best --arch sm_90 --shape "$shape" "$@" > "$out/plan_best_$config.txt" 2>&1
  dirs=()
  for plan in best fused narrow rows specialized; do
    [ -f "$k/$config/${block}_$plan.cu" ] || continue
    mkdir -p "$k/v/$config/$plan"; cp "$k/$config/${block}_$plan".{cu,json} "$k/v/$config/$plan/"
    dirs+=("$k/v/$config/$plan")
  done
  python3 scripts/bench/variants.py "$config" "${dirs[@]}" --rounds 7 2>&1 | tee "$out/variants_$config.txt" | tail -7
done
echo "== total $(( $(date +%s) - start )) s"
