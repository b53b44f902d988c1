#!/usr/bin/env bash
# On the GPU machine (twenty-second session), about 6 minutes: hand-edited kernels that take global-load latency out
# of the critical path (convnext_hand.py, chain_bias_hand.py beside this script), each checked against PyTorch and
# timed against the kernel as emitted (variants.py, 7 rounds); then Nsight Compute's per-SASS-instruction stall
# samples of the table's current kernels (the fifteenth session's are of older kernels).
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session22/prepared/call2.sh DIST
set -uo pipefail
dist="$1"; out="${OUT:-out}"; mkdir -p "$out/sass" "$out/logs"; start=$(date +%s)
here="$(cd "$(dirname "$0")" && pwd)"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
source scripts/gpu/lib.sh; unpack_dist "$dist"; k="$(mktemp -d)"
python3 "$here/convnext_hand.py" generated/convnext "$k/cx" > /dev/null
python3 scripts/bench/variants.py convnext_n128_h56_c96 "$k"/cx/{base,bias,wd,res,all,allln} --rounds 7 \
  > "$out/variants_convnext.txt" 2>&1; tail -8 "$out/variants_convnext.txt"
python3 "$here/chain_bias_hand.py" generated/convfirst/ConvFirst_rows.cu generated/convfirst/ConvFirst_rows.json 2 "$k/cf"
python3 scripts/bench/variants.py convfirst_n128_h56_c64 "$k"/cf/{base,bias} --rounds 7 \
  > "$out/variants_convfirst.txt" 2>&1; tail -3 "$out/variants_convfirst.txt"
echo "== variants $(( $(date +%s) - start )) s"
TMC="$tmc" bash scripts/bench/emit_configs.sh "$k/e" f16 > /dev/null
for row in convnext_n128_h56_c96:ConvNeXt_fused mbconv_n128_h28_c64:MBConv_rows mbconvdw_n128_h28_c64:MBConvDW_rows \
           convfirst_n128_h56_c64:ConvFirst_rows mbconv_n128_h14_c128:MBConv_specialized; do
  config="${row%%:*}"; prog="${row##*:}"; m="$k/e/$config/$prog.json"
  n=$(echo "$config" | sed -E 's/.*_n([0-9]+)_h([0-9]+)_.*/\1/'); h=$(echo "$config" | sed -E 's/.*_n([0-9]+)_h([0-9]+)_.*/\2/')
  entry=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['kernels'][0]['entry'])" "$m")
  timeout 120 ncu --clock-control none -k "regex:^${entry}$" --launch-skip 1 --launch-count 1 --section SourceCounters \
    --section WarpStateStats --import-source no -f -o "$k/rep_$config" \
    python3 scripts/gpu/profile_one.py "$m" "$n" "$h" "$h" > "$out/logs/ncu_$config.txt" 2>&1
  echo "$config ncu exit $?"
  ncu --import "$k/rep_$config.ncu-rep" --page source --csv --print-source sass > "$out/sass/$config.csv" 2>> "$out/logs/export.txt"
  cp "$m" "${m%.json}.cu" "$out/sass/"
  echo "== $config $(( $(date +%s) - start )) s"
done
pack_out "$out/sass"; pack_out "$out/logs"
echo "== total $(( $(date +%s) - start )) s"
