#!/usr/bin/env bash
# On the GPU machine: tmc tune --specialize of MBConv (both benchmark shapes) and MBConvDW, then benchmark.py's f16
# rows of those three configurations with auto plans taking the tuned winners, all in one run, so that the tuned
# 'best' and PyTorch are compared in one process. Outputs under $OUT. About 4 minutes on an H100.
#   OUT=dir bash scripts/gpu/tuned_table.sh dist/tmc-<version>-linux-x86_64.tar.xz
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
{
  "$tmc" tune samples/mbconv.tm --shape N=128,H=14,W=14 -p C=128 --specialize
  "$tmc" tune samples/mbconv.tm --shape N=128,H=28,W=28 --specialize
  "$tmc" tune samples/mbconv_dw.tm --shape N=128,H=28,W=28 --specialize
} > "$out/tune.txt" 2>&1
grep winner "$out/tune.txt"
echo "== $(( $(date +%s) - start )) s; the f16 rows"
k="$(mktemp -d)"
TMC="$tmc" bash scripts/bench/emit_configs.sh "$k" f16 > /dev/null
python3 scripts/bench/benchmark.py "$k" --dtype f16 --configs mbconv_n128_h28_c64,mbconv_n128_h14_c128,mbconvdw_n128_h28_c64 \
  --json "$out/table_tuned_f16.json" > "$out/table_tuned_f16.txt" 2>&1
tail -6 "$out/table_tuned_f16.txt"
echo "== total $(( $(date +%s) - start )) s"
