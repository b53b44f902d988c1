#!/usr/bin/env bash
# On the GPU machine (prepared in the thirteenth session, run in the fourteenth: 0.84x, docs/benchmarks.md): MBConv's 'rows' (4x28 tiles, 7 warps, the
# fastest at MBConv 128, 28, 64) split with 7 producer warps added ('warps 7 + 7': 1 block of 14 warps per SM where
# 'rows' runs 2 blocks of 7; nvcc: 116 registers, no spills). At C=128 adding a producer side to a 4-warp plan paid
# 1.09x-1.14x (narrow's 12 warps per SM became 16) and the split of 'narrow' at C=64 lost (0.93x); here the warps
# per SM stay 14, so this measures the overlap of the sides alone. tmc verify of
# the plan at C=64, racecheck and synccheck, then 'rows' against it in one process (variants.py). About 2 minutes.
#   OUT=dir bash scripts/gpu/rows_split.sh dist/tmc-<version>-linux-x86_64.tar.xz
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
k="$(mktemp -d)"; tm="$k/mbconv_rows_split.tm"
{ cat samples/mbconv.tm; cat <<'PLAN'

plan rows_split for MBConv on sm_90 {
  tile   N 1, H 4, W 28
  place  h1 in shared halo 1 stage
  stream E by 64
  warps  7 + 7
  math   tensor_core
}
PLAN
} > "$tm"
verify_log rows_split "$out" "$tm" --reps 1
sanitize "$tm" rows_split "$out" racecheck synccheck
"$tmc" emit "$tm" --arch sm_90 --shape N=128,H=28,W=28 -o "$k/e" > /dev/null
for plan in rows rows_split; do mkdir -p "$k/v/$plan"; cp "$k/e/MBConv_$plan".{cu,json} "$k/v/$plan/"; done
python3 scripts/bench/variants.py mbconv_n128_h28_c64 "$k/v/rows" "$k/v/rows_split" --rounds 7 \
  > "$out/variants_rows_split.txt" 2>&1; tail -4 "$out/variants_rows_split.txt"
echo "== total $(( $(date +%s) - start )) s"
