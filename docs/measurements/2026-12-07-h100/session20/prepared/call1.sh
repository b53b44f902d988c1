#!/usr/bin/env bash
# On the GPU machine (prepared in the twentieth session, which was lent no GPU): depthwise convs on tensor cores
# ('math tensor_core for T', commit "math tensor_core for T"), about 6 minutes on an H100.
#  1. tmc verify of the candidates (mbconv_dw_tc.tm, convnext_tc.tm beside this script: every plan of the sample and
#     the '_tc' copies), at the default shapes and at C=32 (MBConvDW) and C=64 (ConvNeXt); every random block with a
#     depthwise conv with its fused plan copied as 'fused_tc' (random_tc/).
#  2. compute-sanitizer memcheck and racecheck of the tensor-core plans (fused_tc, rows_tc; ConvNeXt fused_tc).
#  3. variants.py, 7 interleaved rounds, each kernel checked against PyTorch first: every plan of each file emitted
#     at the table's shape (MBConvDW 128, 28, 64; ConvNeXt 128, 56, 96) with the seventeenth session's tuning file,
#     the CUDA-core plan next to its '_tc' copy.
#  4. MBConv 'rows' with 8 and 14 warps (the nineteenth session's candidate).
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session20/prepared/call1.sh DIST
set -uo pipefail
dist="$1"; out="${OUT:-out}"; mkdir -p "$out/v"; start=$(date +%s)
here="$(dirname "$0")"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
source scripts/gpu/lib.sh; unpack_dist "$dist"
mkdir -p "$TMC_CACHE_DIR"
cp docs/measurements/2026-12-07-h100/session17/call1-tune-table-f16/tp/tuning.json "$TMC_CACHE_DIR/tuning.json"
verify_log mbconv_dw_tc "$out/v" "$here/mbconv_dw_tc.tm" --reps 1
verify_log mbconv_dw_tc_c32 "$out/v" "$here/mbconv_dw_tc.tm" -p C=32 --reps 1
verify_log convnext_tc "$out/v" "$here/convnext_tc.tm" --reps 1
verify_log convnext_tc_c64 "$out/v" "$here/convnext_tc.tm" -p C=64 --reps 1
for f in "$here"/random_tc/*.tm; do verify_log "tc_$(basename "$f" .tm)" "$out/v" "$f" --reps 1; done
echo "== verified in $(( $(date +%s) - start )) s"
sanitize "$here/mbconv_dw_tc.tm" fused_tc "$out/v"
sanitize "$here/mbconv_dw_tc.tm" rows_tc "$out/v"
sanitize "$here/convnext_tc.tm" fused_tc "$out/v"
echo "== sanitized in $(( $(date +%s) - start )) s"
k="$(mktemp -d)"
"$tmc" emit "$here/mbconv_dw_tc.tm" --arch sm_90 --shape N=128,H=28,W=28 -o "$k/dw" > /dev/null
"$tmc" emit "$here/convnext_tc.tm" --arch sm_90 --shape N=128,H=56,W=56 -o "$k/cnx" > /dev/null
d=(); for p in fused fused_tc rows rows_tc specialized specialized_tc best; do copy_program "$k/dw" "$p" "$k/v/dw_$p"; d+=("$k/v/dw_$p"); done
# the previous compiler's fused kernel (its depthwise result rounded to f16 before the store), where carried
[ -d .carry/tc/dw/fused_o ] && d+=(.carry/tc/dw/fused_o)
python3 scripts/bench/variants.py mbconvdw_n128_h28_c64 "${d[@]}" --rounds 7 > "$out/variants_mbconvdw.txt" 2>&1
tail -10 "$out/variants_mbconvdw.txt"
d=(); for p in fused fused_tc wgmma wgmma_tc specialized specialized_tc best; do copy_program "$k/cnx" "$p" "$k/v/cnx_$p"; d+=("$k/v/cnx_$p"); done
[ -d .carry/tc/cnx/fused_o ] && d+=(.carry/tc/cnx/fused_o)
python3 scripts/bench/variants.py convnext_n128_h56_c96 "${d[@]}" --rounds 7 > "$out/variants_convnext.txt" 2>&1
tail -10 "$out/variants_convnext.txt"
echo "== timed in $(( $(date +%s) - start )) s"
OUT="$out/pv" bash scripts/gpu/plan_variants.sh "$dist" mbconv rows mbconv_n128_h28_c64 N=128,H=28,W=28 "" \
  "rw8:warps 8" "rw14:warps 14"
pack_out "$out/v"
echo "== total $(( $(date +%s) - start )) s"
