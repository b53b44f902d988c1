#!/usr/bin/env bash
# On the GPU machine (prepared in the thirteenth session, run in the fourteenth: docs/benchmarks.md): do more resident blocks pay where ptxas fits
# them? Each variant is an emitted kernel with its __launch_bounds__ minimum of blocks per SM raised by one, where
# shared memory allows it; nvcc 13.0 (sm_90) on them:
#   ConvFirst 'best' (8x8, 4 warps)  (128, 4) -> (128, 5): 96 registers, no spills      (16 -> 20 warps per SM)
#   ConvFirst 'rows' (4x28, 7 warps) (224, 2) -> (224, 3): 80 registers, 16 B spilled   (14 -> 21)
#   ConvFirst 'fused' (8x16, 8 warps)(256, 2) -> (256, 3): 80 registers, 24 B spilled   (16 -> 24)
#   MBConv 'narrow' at C=64          (128, 3) -> (128, 4): 128 registers, no spills     (12 -> 16)
#   MBConv 'fused' at C=64           (128, 3) -> (128, 4): 128 registers, 8 B spilled   (12 -> 16)
# (the register estimate is above what ptxas needs there, so the planner's launch bounds leave blocks unused).
# Each configuration in one process, each kernel checked against PyTorch first (variants.py). About 2 minutes.
#   OUT=dir bash scripts/gpu/occupancy.sh dist/tmc-<version>-linux-x86_64.tar.xz
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
k="$(mktemp -d)"
TMC="$tmc" bash scripts/bench/emit_configs.sh "$k" f16 > /dev/null
# variant DIR CONFIG BLOCK_PLAN THREADS FROM TO: the plan's kernel as emitted, and with (THREADS, TO)
variant() {
  local d="$k/v/$2/$3"; mkdir -p "$d" "$d.lb$6"
  cp "$k/$2/$3".{cu,json} "$d/"; cp "$k/$2/$3.json" "$d.lb$6/"
  sed "s/__launch_bounds__($4, $5)/__launch_bounds__($4, $6)/" "$k/$2/$3.cu" > "$d.lb$6/$3.cu"
  grep -q "__launch_bounds__($4, $6)" "$d.lb$6/$3.cu" || echo "no __launch_bounds__($4, $5) in $2/$3"
  dirs+=("$d" "$d.lb$6")
}
for config in convfirst_n128_h56_c64 convfirst_n8_h56_c64; do
  dirs=()
  variant "$k" $config ConvFirst_rows 224 2 3
  variant "$k" $config ConvFirst_best 128 4 5
  variant "$k" $config ConvFirst_fused 256 2 3
  python3 scripts/bench/variants.py $config "${dirs[@]}" --rounds 7 > "$out/variants_$config.txt" 2>&1
  tail -8 "$out/variants_$config.txt"
done
dirs=(); mkdir -p "$k/v/rows"; cp "$k/mbconv_n128_h28_c64/MBConv_rows".{cu,json} "$k/v/rows/"; dirs+=("$k/v/rows")
variant "$k" mbconv_n128_h28_c64 MBConv_narrow 128 3 4
variant "$k" mbconv_n128_h28_c64 MBConv_fused 128 3 4
python3 scripts/bench/variants.py mbconv_n128_h28_c64 "${dirs[@]}" --rounds 7 > "$out/variants_mbconv_n128_h28_c64.txt" 2>&1
tail -7 "$out/variants_mbconv_n128_h28_c64.txt"
echo "== total $(( $(date +%s) - start )) s"
