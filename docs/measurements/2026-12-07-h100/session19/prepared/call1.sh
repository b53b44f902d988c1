#!/usr/bin/env bash
# On the GPU machine (nineteenth session): the grouped conv's tap B fragments by ldmatrix x4 (KernelWriter
# loadTapFragments), then correctness of the compiler that emits them and of the eighteenth session's straight stores.
#  1. variants.py: the eighteenth session's hand edits of MBConv rows at C=64 (.carry/mbx: base, bx4, abx4);
#     every MBConv plan whose kernel changes at both MBConv table configurations, emitted by the compiler before (_o)
#     and after (_n) the change with the seventeenth session's tuning file (.carry/bx/CONFIG/PLAN_{o,n}).
#  2. tmc verify (the new dist) of mbconv.tm at C=64 and C=128, convfirst.tm (its staged conv's text changed), every
#     random block and the four 'warps 4 + 4' splits (session18/prepared/final.sh with TABLE=0).
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session19/prepared/call1.sh DIST
set -uo pipefail
dist="$1"; out="${OUT:-out}"; mkdir -p "$out/v"; start=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python3 scripts/bench/variants.py mbconv_n128_h28_c64 .carry/mbx/base .carry/mbx/bx4 .carry/mbx/abx4 --rounds 7 \
  > "$out/mbx.txt" 2>&1; tail -5 "$out/mbx.txt"
for c in mbconv_n128_h28_c64 mbconv_n128_h14_c128; do
  dirs=(); for o in .carry/bx/$c/*_o; do dirs+=("$o" "${o%_o}_n"); done
  python3 scripts/bench/variants.py "$c" "${dirs[@]}" --rounds 7 > "$out/bx_$c.txt" 2>&1; tail -12 "$out/bx_$c.txt"
done
echo "== timed in $(( $(date +%s) - start )) s"
source scripts/gpu/lib.sh; unpack_dist "$dist"
verify_log mbconv_c64 "$out/v" samples/mbconv.tm --reps 1
verify_log mbconv_c128 "$out/v" samples/mbconv.tm -p C=128 --reps 1
verify_log convfirst "$out/v" samples/convfirst.tm --reps 1
TABLE=0 OUT="$out" bash docs/measurements/2026-12-07-h100/session18/prepared/final.sh "$dist" -
echo "== total $(( $(date +%s) - start )) s"
