#!/usr/bin/env bash
# Twenty-third session, call 4 (about 5 minutes on the GPU): tmc.plan.ChainInputOnce (a register chain's input
# fragments read in the stream loop's first trip only) verified, sanitized and timed.
#  1. variants.py, 9 interleaved rounds: ConvNeXt 128, 56, 96 `fused` as committed before (committed/), as emitted now
#     (the fragments read under e0 == 0), and committed/ with them read before the loop (convnext_af_hand.py).
#  2. tmc verify of every plan of convnext.tm and fusedmlp.tm; compute-sanitizer memcheck and racecheck: ConvNeXt
#     `fused`, FusedMLP `fused` (logs in v/); then the random blocks whose kernels change, R10 and R7 (v2/).
#  3. Nsight Compute's NCU_METRICS (lib.sh) of ConvNeXt `fused` as committed, as emitted now, and of its `wgmma` plan.
#  4. Unless SKIP_ROW is set, the table's ConvNeXt row:
#     benchmark.py --configs convnext_n128_h56_c96 (every PyTorch mode, the same process), the seventeenth session's
#     tuning file.
#   OUT=$OUT bash docs/measurements/2026-12-08-h100/session23/prepared/call4.sh DIST
set -uo pipefail
dist="$1"; out="${OUT:-out}"; mkdir -p "$out/v" "$out/t"; start=$(date +%s)
here="$(cd "$(dirname "$0")" && pwd)"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
source scripts/gpu/lib.sh; unpack_dist "$dist"
mkdir -p "$TMC_CACHE_DIR"; cp docs/measurements/2026-12-07-h100/session17/call1-tune-table-f16/tp/tuning.json "$TMC_CACHE_DIR/tuning.json"
k="$(mktemp -d)"
"$tmc" emit samples/convnext.tm --arch sm_90 --shape N=128,H=56,W=56 -o "$k/cnx" > /dev/null
copy_program "$k/cnx" fused "$k/v/cnx_once"
python3 "$here/convnext_af_hand.py" "$here/committed/convnext_fused" "$k/v/cnx_before_loop"
python3 scripts/bench/variants.py convnext_n128_h56_c96 "$here/committed/convnext_fused" "$k/v/cnx_once" \
  "$k/v/cnx_before_loop" --rounds 9 > "$out/variants_convnext.txt" 2>&1; tail -4 "$out/variants_convnext.txt"
echo "== timed in $(( $(date +%s) - start )) s"
verify_log convnext "$out/v" samples/convnext.tm --reps 1
verify_log fusedmlp "$out/v" samples/fusedmlp.tm --reps 1
sanitize convnext fused "$out/v"
sanitize fusedmlp fused "$out/v"
pack_out "$out/v"; mkdir -p "$out/v2"
for r in R10_convnext R7_mlp; do verify_log "$r" "$out/v2" "test-data/random/$r.tm" --reps 1; done
echo "== verified and sanitized in $(( $(date +%s) - start )) s"
pack_out "$out/v2"
# Where the MLP's time goes, before and after, and in the wgmma plan (B read from shared memory once per warpgroup
# instead of once per warp, but 0.68 against 0.49 ms in the f16 table): Nsight Compute's NCU_METRICS (lib.sh).
copy_program "$k/cnx" wgmma "$k/v/cnx_wgmma"; mkdir -p "$out/ncu"
for v in "committed:$here/committed/convnext_fused" "once:$k/v/cnx_once" "wgmma:$k/v/cnx_wgmma"; do
  ncu_profile "${v#*:}/$(ls "${v#*:}" | grep json)" 128 56 56 > "$out/ncu/${v%%:*}.txt" 2>&1
  echo "ncu ${v%%:*}: $(grep -c . "$out/ncu/${v%%:*}.txt") lines"
done
pack_out "$out/ncu"
echo "== profiled in $(( $(date +%s) - start )) s"
[ -n "${SKIP_ROW:-}" ] && exit 0
TMC="$tmc" bash scripts/bench/emit_configs.sh "$k/e" f16 > /dev/null
python3 scripts/bench/benchmark.py "$k/e" --dtype f16 --configs convnext_n128_h56_c96 --json "$out/t/table_f16_convnext.json" \
  > "$out/t/table_f16_convnext.txt" 2>&1
grep -E "^\|" "$out/t/table_f16_convnext.txt" | tail -3
echo "== total $(( $(date +%s) - start )) s"
