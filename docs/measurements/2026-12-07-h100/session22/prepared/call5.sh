#!/usr/bin/env bash
# For the next session (prepared in the twenty-second, not run: no device time left), about 4 minutes on the GPU:
# ConvNeXt's residual copied in the trip before the last instead of before the loop. First, on the CPU machine:
#   git apply docs/measurements/2026-12-07-h100/session22/prepared/residual_in_trip.patch && bin/regen && bin/test && bin/dist
# then this script verifies, sanitizes and times that form against the committed one (committed/, the call-3 form)
# and the kernel before the session (old/), then MBConv's and MBConvDW's expand by quarters, then the table's
# ConvNeXt row.
#  1. tmc verify samples/convnext.tm (every plan) and the random blocks whose kernels changed (R2, R10, R7).
#  2. compute-sanitizer memcheck and racecheck: ConvNeXt fused, R10's best.
#  3. variants.py, 9 interleaved rounds: ConvNeXt 128, 56, 96 fused, old/ (before the session), committed/, new, and
#     committed/ with the depthwise weight staged in f32 (convnext_wd32_hand.py), and with its input tile copied down
#     fixed columns (convnext_xload_hand.py).
#  4. MBConv's and MBConvDW's rows with the expand dealt by quarters (expand_quarters_hand.py), 7 rounds.
#  5. benchmark.py --configs convnext_n128_h56_c96 (all PyTorch modes, the same process), the seventeenth session's tuning file.
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session22/prepared/call5.sh DIST
set -uo pipefail
dist="$1"; out="${OUT:-out}"; mkdir -p "$out/v" "$out/t"; start=$(date +%s)
here="$(cd "$(dirname "$0")" && pwd)"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
source scripts/gpu/lib.sh; unpack_dist "$dist"
mkdir -p "$TMC_CACHE_DIR"; cp docs/measurements/2026-12-07-h100/session17/call1-tune-table-f16/tp/tuning.json "$TMC_CACHE_DIR/tuning.json"
k="$(mktemp -d)"
"$tmc" emit samples/convnext.tm --arch sm_90 --shape N=128,H=56,W=56 -o "$k/cnx" > /dev/null
copy_program "$k/cnx" fused "$k/v/cnx_new"
python3 "$here/convnext_wd32_hand.py" "$here/committed/convnext_fused" "$k/v/cnx_wd32"
python3 "$here/convnext_xload_hand.py" "$here/committed/convnext_fused" "$k/v/cnx_xload"
python3 scripts/bench/variants.py convnext_n128_h56_c96 "$here/old/convnext_fused" "$here/committed/convnext_fused" "$k/v/cnx_new" \
  "$k/v/cnx_wd32" "$k/v/cnx_xload" --rounds 9 \
  > "$out/variants_convnext.txt" 2>&1; tail -6 "$out/variants_convnext.txt"
echo "== timed in $(( $(date +%s) - start )) s"
verify_log convnext "$out/v" samples/convnext.tm --reps 1
for r in R2_convnext R10_convnext R7_mlp; do verify_log "$r" "$out/v" "test-data/random/$r.tm" --reps 1; done
sanitize convnext fused "$out/v"
sanitize test-data/random/R10_convnext.tm best "$out/v"
echo "== verified and sanitized in $(( $(date +%s) - start )) s"
pack_out "$out/v"
for v in mbconv:MBConv:mbconv_n128_h28_c64 mbconv_dw:MBConvDW:mbconvdw_n128_h28_c64; do
  IFS=: read -r s b config <<< "$v"
  python3 "$here/expand_quarters_hand.py" "generated/$s/${b}_rows.cu" "generated/$s/${b}_rows.json" "$k/q/$s"
  python3 scripts/bench/variants.py "$config" "$k/q/$s/base" "$k/q/$s/quarters" --rounds 7 > "$out/variants_quarters_$s.txt" 2>&1
  tail -2 "$out/variants_quarters_$s.txt"
done
echo "== quarters in $(( $(date +%s) - start )) s"
TMC="$tmc" bash scripts/bench/emit_configs.sh "$k/e" f16 > /dev/null
python3 scripts/bench/benchmark.py "$k/e" --dtype f16 --configs convnext_n128_h56_c96 --json "$out/t/table_f16_convnext.json" \
  > "$out/t/table_f16_convnext.txt" 2>&1
grep -E "^\|" "$out/t/table_f16_convnext.txt" | tail -4
echo "== total $(( $(date +%s) - start )) s"
