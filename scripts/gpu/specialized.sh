#!/usr/bin/env bash
# On the GPU machine, for warp specialization (tmc.plan.WarpSpecialization, MBConv's plan 'specialized', 4 + 4 warps):
# tmc verify of every sample (the even deal's kernels and the specialized one) and of mbconv.tm at C=128,
# compute-sanitizer memcheck, racecheck and synccheck on the specialized kernel (its two sides meet at an unaligned
# block barrier), then 'specialized' against 'narrow' in ONE process at both MBConv shapes of the benchmark
# (variants.py: each checked against PyTorch first), and the benchmark's f16 table if asked.
#   bash scripts/gpu/specialized.sh dist/tmc-<version>-linux-x86_64.tar.xz [table]
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
verify_log samples "$out" --reps 1
verify_log mbconv_c128 "$out" samples/mbconv.tm -p C=128 --reps 1
for tool in memcheck racecheck synccheck; do sanitize mbconv specialized "$out" "$tool"; done
echo "== $(( $(date +%s) - start )) s; specialized against narrow"
TMC="$tmc" bash scripts/bench/emit_configs.sh "$out/k" f16 > /dev/null
for cfg in mbconv_n128_h14_c128 mbconv_n128_h28_c64; do
  for plan in narrow specialized; do
    mkdir -p "$out/v/$cfg/$plan"; cp "$out/k/$cfg/MBConv_$plan".{cu,json} "$out/v/$cfg/$plan/"
  done
  python3 scripts/bench/variants.py "$cfg" "$out/v/$cfg/narrow" "$out/v/$cfg/specialized" --rounds 7 2>&1 \
    | tee "$out/variants_$cfg.txt" | tail -4
done
if [ "${2:-}" = table ]; then
  echo "== $(( $(date +%s) - start )) s; the f16 table"
  python3 scripts/bench/benchmark.py "$out/k" --dtype f16 --json "$out/table_f16.json" 2>&1 | tee "$out/table_f16.txt" | tail -14
fi
echo "== total $(( $(date +%s) - start )) s"
