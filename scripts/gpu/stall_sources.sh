#!/usr/bin/env bash
# On the GPU machine: where each kernel of the benchmark table stalls, per SASS instruction (Nsight Compute's
# SourceCounters: warp-state samples by PC), exported as CSV for reading off the GPU host; then hand-edited MBConv
# kernels timed against the emitted ones in one process (HAND_DIR/<config>/<variant>/: one .cu and its manifest each;
# variants named *_noconv are ablations that drop work and are timed with --time-wrong).
#   OUT=dir bash scripts/gpu/stall_sources.sh dist/tmc-<version>-linux-x86_64.tar.xz HAND_DIR
# About 5 minutes on an H100.
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out/logs" "$out/sass"; start=$(date +%s)
export PYTHONUNBUFFERED=1
here="$(dirname "$0")"
source "$here/lib.sh"; unpack_dist "$1"; hand="$2"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/logs/gpu.txt"
ncu --version | tail -1 | tee -a "$out/logs/gpu.txt"
k="$(mktemp -d)"
TMC="$tmc" bash scripts/bench/emit_configs.sh "$k" f16 > /dev/null
for row in convfirst_n128_h56_c64:ConvFirst_rows mbconv_n128_h28_c64:MBConv_rows mbconv_n128_h14_c128:MBConv_specialized \
           mbconvdw_n128_h28_c64:MBConvDW_best convnext_n128_h56_c96:ConvNeXt_fused; do
  config="${row%%:*}"; prog="${row##*:}"; m="$k/$config/$prog.json"
  n=$(echo "$config" | sed -E 's/.*_n([0-9]+)_h([0-9]+)_.*/\1/'); h=$(echo "$config" | sed -E 's/.*_n([0-9]+)_h([0-9]+)_.*/\2/')
  entry=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['kernels'][0]['entry'])" "$m")
  echo "== $config $prog"
  ncu --clock-control none -k "regex:^${entry}$" --launch-skip 1 --launch-count 1 --section SourceCounters \
    --section WarpStateStats --import-source no -f -o "$k/rep_$config" \
    python3 "$here/profile_one.py" "$m" "$n" "$h" "$h" > "$out/logs/ncu_$config.txt" 2>&1
  echo "ncu exit $?"
  ncu --import "$k/rep_$config.ncu-rep" --page source --csv --print-source sass > "$out/sass/$config.csv" 2> "$out/logs/export_$config.txt"
  echo "export exit $?, $(wc -l < "$out/sass/$config.csv") lines"
  ncu --import "$k/rep_$config.ncu-rep" --page details --csv > "$out/sass/${config}_details.csv" 2>> "$out/logs/export_$config.txt"
done
echo "== profiles done $(( $(date +%s) - start )) s"
pack_out "$out/sass"
for d in "$hand"/*/; do
  config="$(basename "$d")"
  python3 scripts/bench/variants.py "$config" "$d"/*_old "$d"/*_k16 "$d"/*_noconv --rounds 7 --time-wrong \
    > "$out/hand_$config.txt" 2>&1
  tail -5 "$out/hand_$config.txt"
done
pack_out "$out/logs"
echo "== total $(( $(date +%s) - start )) s"
