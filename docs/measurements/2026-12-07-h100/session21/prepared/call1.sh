#!/usr/bin/env bash
# On the GPU machine (twenty-first session), about 6 minutes on an H100: the depthwise conv on tensor cores by input
# rows (KernelWriter.depthwiseTapsByRows: each 8x8 input matrix loaded once per column tap, two tap rows per
# m16n8k16).
#  1. tmc verify: convnext_tc.tm beside this script (every plan of the sample and the '_tc' candidates, odd tiles
#     whose items reach past the region included) at the default shapes and at C=64; the random blocks with a
#     depthwise conv and a 'fused_tc' copy of their fused plan (session20/prepared/random_tc: most tiles 8 wide,
#     which take the new form).
#  2. compute-sanitizer memcheck and racecheck of ConvNeXt fused_tc and of one random block's in-loop form.
#  3. variants.py, 9 interleaved rounds, each kernel checked against PyTorch first: ConvNeXt 128, 56, 96 fused,
#     fused_tc, wide, wide_tc.
#  4. Nsight Compute of ConvNeXt fused and fused_tc, and of MBConvDW rows and fused (session20/prepared/call4.sh).
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session21/prepared/call1.sh DIST
set -uo pipefail
dist="$1"; out="${OUT:-out}"; mkdir -p "$out/v"; start=$(date +%s)
here="$(dirname "$0")"; s20="$here/../../session20/prepared"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
source scripts/gpu/lib.sh; unpack_dist "$dist"
mkdir -p "$TMC_CACHE_DIR"
cp docs/measurements/2026-12-07-h100/session17/call1-tune-table-f16/tp/tuning.json "$TMC_CACHE_DIR/tuning.json"
k="$(mktemp -d)"
"$tmc" emit "$here/convnext_tc.tm" --arch sm_90 --shape N=128,H=56,W=56 -o "$k/cnx" > /dev/null
d=(); for p in fused fused_tc wide wide_tc; do copy_program "$k/cnx" "$p" "$k/v/cnx_$p"; d+=("$k/v/cnx_$p"); done
python3 scripts/bench/variants.py convnext_n128_h56_c96 "${d[@]}" --rounds 9 > "$out/variants_convnext.txt" 2>&1
tail -8 "$out/variants_convnext.txt"
echo "== timed in $(( $(date +%s) - start )) s"
verify_log convnext_tc "$out/v" "$here/convnext_tc.tm" --reps 1
verify_log convnext_tc_c64 "$out/v" "$here/convnext_tc.tm" -p C=64 --reps 1
for f in "$s20"/random_tc/*.tm; do verify_log "tc_$(basename "$f" .tm)" "$out/v" "$f" --reps 1; done
echo "== verified in $(( $(date +%s) - start )) s"
sanitize "$here/convnext_tc.tm" fused_tc "$out/v"
sanitize "$here/convnext_tc.tm" odd_tc "$out/v" memcheck
sanitize "$s20/random_tc/R13_mbconv.tm" fused_tc "$out/v"
echo "== sanitized in $(( $(date +%s) - start )) s"
for p in fused fused_tc; do
  echo "== ncu ConvNeXt $p"; ncu_profile "$k/cnx/ConvNeXt_$p.json" 128 56 56 | tee "$out/v/ncu_convnext_$p.txt"
done
"$tmc" emit samples/mbconv_dw.tm --arch sm_90 --shape N=128,H=28,W=28 -o "$k/dw" > /dev/null
for p in rows fused; do
  echo "== ncu MBConvDW $p"; ncu_profile "$k/dw/MBConvDW_$p.json" 128 28 28 | tee "$out/v/ncu_mbconvdw_$p.txt"
done
pack_out "$out/v"
echo "== total $(( $(date +%s) - start )) s"
