#!/usr/bin/env bash
# On the GPU machine (twenty-second session), about 5 minutes: the three changes of commit <this session> verified,
# sanitized and timed against the kernels before them (old/ beside this script: emitted by the previous commit):
# the register chain's bias loaded before the trip's barrier (KernelWriter.loadBiasAhead), LayerNorm's gamma and
# beta by pairs, and ConvNeXt's residual copied into the store's staging buffer before the loop (ResidualStaging).
#  1. tmc verify: the samples whose kernels changed (convnext, convfirst, fusedmlp: every plan) and the random blocks
#     whose kernels changed (R2, R10, R7).
#  2. compute-sanitizer memcheck and racecheck: ConvNeXt fused, ConvFirst rows, R10's best.
#  3. variants.py, 9 interleaved rounds, each checked against PyTorch first: ConvNeXt 128, 56, 96 fused and ConvFirst
#     128, 28, 128 rows, old against new.
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session22/prepared/call3.sh DIST
set -uo pipefail
dist="$1"; out="${OUT:-out}"; mkdir -p "$out/v"; start=$(date +%s)
here="$(cd "$(dirname "$0")" && pwd)"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
source scripts/gpu/lib.sh; unpack_dist "$dist"
mkdir -p "$TMC_CACHE_DIR"
cp docs/measurements/2026-12-07-h100/session17/call1-tune-table-f16/tp/tuning.json "$TMC_CACHE_DIR/tuning.json"
k="$(mktemp -d)"
"$tmc" emit samples/convnext.tm --arch sm_90 --shape N=128,H=56,W=56 -o "$k/cnx" > /dev/null
"$tmc" emit samples/convfirst.tm --arch sm_90 --shape N=128,H=28,W=28 -p C=128 -o "$k/cf" > /dev/null
copy_program "$k/cnx" fused "$k/v/cnx_new"; copy_program "$k/cf" rows "$k/v/cf_new"
python3 scripts/bench/variants.py convnext_n128_h56_c96 "$here/old/convnext_fused" "$k/v/cnx_new" --rounds 9 \
  > "$out/variants_convnext.txt" 2>&1; tail -3 "$out/variants_convnext.txt"
python3 scripts/bench/variants.py convfirst_n128_h28_c128 "$here/old/convfirst128_rows" "$k/v/cf_new" --rounds 9 \
  > "$out/variants_convfirst128.txt" 2>&1; tail -3 "$out/variants_convfirst128.txt"
echo "== timed in $(( $(date +%s) - start )) s"
for s in convnext convfirst fusedmlp; do verify_log "$s" "$out/v" "samples/$s.tm" --reps 1; done
for r in R2_convnext R10_convnext R7_mlp; do verify_log "$r" "$out/v" "test-data/random/$r.tm" --reps 1; done
echo "== verified in $(( $(date +%s) - start )) s"
sanitize convnext fused "$out/v"
sanitize convfirst rows "$out/v" racecheck
sanitize test-data/random/R10_convnext.tm best "$out/v"
echo "== sanitized in $(( $(date +%s) - start )) s"
pack_out "$out/v"
echo "== total $(( $(date +%s) - start )) s"
