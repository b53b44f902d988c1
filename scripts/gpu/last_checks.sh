#!/usr/bin/env bash
# On the GPU machine, short: MBConv 128, 14, 128 in bf16 against PyTorch eager (every plan checked against PyTorch,
# then timed; the 'specialized' plan's first bf16 run), then tmc tune of ConvFirst at N=8, H=W=56 and that row of
# the f16 table with the tuned auto plan. Outputs under $OUT, written as they come. About 2.5 minutes on an H100.
#   OUT=dir bash scripts/gpu/last_checks.sh dist/tmc-<version>-linux-x86_64.tar.xz
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
k="$(mktemp -d)"
TMC="$tmc" bash scripts/bench/emit_configs.sh "$k/bf16" bf16 > /dev/null
python3 scripts/bench/benchmark.py "$k/bf16" --dtype bf16 --configs mbconv_n128_h14_c128 --modes eager \
  > "$out/mbconv_c128_bf16.txt" 2>&1; tail -3 "$out/mbconv_c128_bf16.txt"
echo "== $(( $(date +%s) - start )) s"
"$tmc" tune samples/convfirst.tm --shape N=8,H=56,W=56 --top 8 > "$out/tune_convfirst_n8.txt" 2>&1
grep -E "winner" "$out/tune_convfirst_n8.txt"
TMC="$tmc" bash scripts/bench/emit_configs.sh "$k/f16" f16 > /dev/null
python3 scripts/bench/benchmark.py "$k/f16" --dtype f16 --configs convfirst_n8_h56_c64 \
  --json "$out/convfirst_n8_f16.json" > "$out/convfirst_n8_f16.txt" 2>&1; tail -3 "$out/convfirst_n8_f16.txt"
echo "== total $(( $(date +%s) - start )) s"
