#!/usr/bin/env bash
# On the GPU machine: the benchmark table of one dtype (benchmark.py over every configuration of emit_configs.sh,
# all PyTorch modes), written to $OUT/table_DTYPE.{txt,json}. About 6.5 minutes on an H100. With a tuning file (tmc
# tune's tuning.json, e.g. from resident.sh), auto plans take its winners.
#   OUT=dir bash scripts/gpu/table.sh dist/tmc-<version>-linux-x86_64.tar.xz f16|bf16 [TUNING.json]
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
dtype="$2"
if [ -n "${3:-}" ]; then mkdir -p "$TMC_CACHE_DIR"; cp "$3" "$TMC_CACHE_DIR/tuning.json"; fi
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
k="$(mktemp -d)"
TMC="$tmc" bash scripts/bench/emit_configs.sh "$k" "$dtype" > /dev/null
python3 scripts/bench/benchmark.py "$k" --dtype "$dtype" --json "$out/table_$dtype.json" > "$out/table_$dtype.txt" 2>&1
grep -E "^\|" "$out/table_$dtype.txt" | tail -12
echo "== total $(( $(date +%s) - start )) s"
