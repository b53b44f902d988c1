#!/usr/bin/env bash
# On the GPU machine, for warp specialization (tmc.plan.WarpSpecialization: the samples' plans 'specialized', 4 + 4
# warps): tmc verify of every sample (the even deal's kernels and the specialized ones) and of mbconv.tm and
# convfirst.tm at C=128, compute-sanitizer memcheck, racecheck and synccheck on MBConv's and ConvNeXt's specialized
# kernels (their two sides meet at an unaligned block barrier), then each 'specialized' against the plan it splits,
# in ONE process per configuration (variants.py: each checked against PyTorch first), and the f16 table if asked.
#   bash scripts/gpu/specialized.sh dist/tmc-<version>-linux-x86_64.tar.xz [table|tune]
# Without 'table' it takes about 3.5 minutes on an H100 (thirteenth session: 193 s; verify and sanitizers 77 s); the
# f16 table adds about 6 (thirteenth session: 356 s), so with the device tool's 10-minute limit per command, run the
# table as a call of its own (scripts/bench/emit_configs.sh, then scripts/bench/benchmark.py DIR --dtype f16 --json ...).
# Only logs go to $OUT (the device tool brings back a handful of files; in the thirteenth session the emitted kernels
# there crowded out the variants_*.txt, whose lines are in what the script printed).
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
export PYTHONUNBUFFERED=1
want_table="${2:-}"
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
verify_log samples "$out" --reps 1
verify_log mbconv_c128 "$out" samples/mbconv.tm -p C=128 --reps 1
verify_log convfirst_c128 "$out" samples/convfirst.tm -p C=128 --reps 1
for tool in memcheck racecheck synccheck; do
  sanitize mbconv specialized "$out" "$tool"; sanitize convnext specialized "$out" "$tool"
done
echo "== $(( $(date +%s) - start )) s; specialized against the plan it splits"
k="$(mktemp -d)"  # kernels and variants stay out of $OUT: the device tool brings back a handful of files
TMC="$tmc" bash scripts/bench/emit_configs.sh "$k/k" f16 > /dev/null
# configuration, block, the plan 'specialized' splits
for row in "mbconv_n128_h14_c128 MBConv narrow" "mbconv_n128_h28_c64 MBConv narrow" \
           "mbconvdw_n128_h28_c64 MBConvDW fused" "convnext_n128_h56_c96 ConvNeXt fused" \
           "convfirst_n128_h56_c64 ConvFirst fused" "convfirst_n128_h28_c128 ConvFirst rows" \
           "convfirst_n8_h56_c64 ConvFirst fused"; do
  set -- $row
  for plan in "$3" specialized; do
    mkdir -p "$k/v/$1/$plan"; cp "$k/k/$1/$2_$plan".{cu,json} "$k/v/$1/$plan/"
  done
  extra=()
  if [ "$2" = MBConv ]; then
    # the consumer's sub-slice loop unrolled, as the unsplit kernel has it (the emitter rolls it in a side to stay
    # within 128 registers; by hand, the unrolled form at C=128 spilled 40 B and was the fastest, ws2b)
    mkdir -p "$k/v/$1/unrolled"; cp "$k/k/$1/MBConv_specialized.json" "$k/v/$1/unrolled/"
    python3 - "$k/k/$1/MBConv_specialized.cu" "$k/v/$1/unrolled/MBConv_specialized.cu" <<'PY'
import sys
s = open(sys.argv[1]).read()
a = "#pragma unroll 1\n                        for (int sl = 0;"
assert a in s, "no rolled sub-slice loop"
open(sys.argv[2], "w").write(s.replace(a, "#pragma unroll\n                        for (int sl = 0;"))
PY
    extra=("$k/v/$1/unrolled")
  fi
  python3 scripts/bench/variants.py "$1" "$k/v/$1/$3" "$k/v/$1/specialized" "${extra[@]}" --rounds 7 2>&1 \
    | tee "$out/variants_$1.txt" | tail -4
done
if [ "$want_table" = tune ]; then
  echo "== $(( $(date +%s) - start )) s; tmc tune --specialize (MBConv at both benchmark shapes)"
  "$tmc" tune samples/mbconv.tm --shape N=128,H=14,W=14 -p C=128 --specialize 2>&1 | tee "$out/tune_mbconv_c128.txt" | tail -16
  "$tmc" tune samples/mbconv.tm --shape N=128,H=28,W=28 --specialize 2>&1 | tee "$out/tune_mbconv_c64.txt" | tail -16
  cp "$TMC_CACHE_DIR/tuning.json" "$out/" 2>/dev/null
fi
if [ "$want_table" = table ]; then
  echo "== $(( $(date +%s) - start )) s; the f16 table"
  python3 scripts/bench/benchmark.py "$k/k" --dtype f16 --json "$out/table_f16.json" 2>&1 | tee "$out/table_f16.txt" | tail -14
fi
echo "== total $(( $(date +%s) - start )) s"
pack_out "$out"  # everything above in $out/logs.tar.gz
