#!/usr/bin/env bash
# On the GPU machine: the benchmark table of one dtype (benchmark.py over every configuration of emit_configs.sh,
# all PyTorch modes), written to $OUT/table_DTYPE.{txt,json}. About 5 minutes on an H100.
#   OUT=dir bash scripts/gpu/table.sh dist/tmc-<version>-linux-x86_64.tar.xz f16|bf16
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
dtype="$2"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
k="$(mktemp -d)"
TMC="$tmc" bash scripts/bench/emit_configs.sh "$k" "$dtype" > /dev/null
python3 scripts/bench/benchmark.py "$k" --dtype "$dtype" --json "$out/table_$dtype.json" > "$out/table_$dtype.txt" 2>&1
grep -E "^\|" "$out/table_$dtype.txt" | tail -12
echo "== total $(( $(date +%s) - start )) s"
