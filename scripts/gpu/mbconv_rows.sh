#!/usr/bin/env bash
# On the GPU machine, after a change to samples/mbconv.tm: tmc verify of mbconv.tm at C=128; at MBConv 128, 14, 128
# the sample's 'specialized' against 'narrow' and the previous 'specialized' (narrow's 4x14 tiles split), in one
# process (variants.py); then benchmark.py's f16 rows of both MBConv configurations (no tuning file: auto is the cost
# model's choice). Outputs under $OUT. About 4 minutes on an H100.
#   OUT=dir bash scripts/gpu/mbconv_rows.sh dist/tmc-<version>-linux-x86_64.tar.xz
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
verify_log mbconv_c128 "$out" samples/mbconv.tm -p C=128 --reps 1
k="$(mktemp -d)"; c=mbconv_n128_h14_c128
sed 's/tile   N 1, H 7, W 8/tile   N 1, H 4, W 14/' samples/mbconv.tm > "$k/mbconv_4x14.tm"
"$tmc" emit samples/mbconv.tm --arch sm_90 --shape N=128,H=14,W=14 -p C=128 -o "$k/now" > /dev/null
"$tmc" emit "$k/mbconv_4x14.tm" --arch sm_90 --shape N=128,H=14,W=14 -p C=128 --plan specialized -o "$k/4x14" > /dev/null
for plan in narrow specialized; do mkdir -p "$k/v/$plan"; cp "$k/now/MBConv_$plan".{cu,json} "$k/v/$plan/"; done
mkdir -p "$k/v/specialized_4x14"; cp "$k/4x14/MBConv_specialized".{cu,json} "$k/v/specialized_4x14/"
python3 scripts/bench/variants.py "$c" "$k/v/narrow" "$k/v/specialized_4x14" "$k/v/specialized" --rounds 7 \
  > "$out/variants_$c.txt" 2>&1; tail -5 "$out/variants_$c.txt"
echo "== $(( $(date +%s) - start )) s; the f16 rows"
TMC="$tmc" bash scripts/bench/emit_configs.sh "$k/t" f16 > /dev/null
python3 scripts/bench/benchmark.py "$k/t" --dtype f16 --configs mbconv_n128_h28_c64,mbconv_n128_h14_c128 \
  --json "$out/table_mbconv_f16.json" > "$out/table_mbconv_f16.txt" 2>&1
tail -5 "$out/table_mbconv_f16.txt"
echo "== total $(( $(date +%s) - start )) s"
