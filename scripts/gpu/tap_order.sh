#!/usr/bin/env bash
# On the GPU machine: the group-width-8 conv with its taps as the outer loop (four independent m16n8k8 per tap, three
# ldmatrix per four products; KernelWriter.groupedConvTaps) against the kernels the previous tmc emitted.
#  1. tmc verify of mbconv.tm and convfirst.tm (every plan; MBConv also at C=128), the new emitter's kernels.
#  2. variants.py, old against new in one process, for the plans of the table that use the conv (MBConv `rows`,
#     `specialized`, `narrow`; ConvFirst `rows`, `fused`, `best`), 7 interleaved rounds, each checked against PyTorch.
#  3. scripts/gpu/more_blocks.sh (ConvNeXt with its depthwise weight in global and 4 blocks; MBConvDW at 3 blocks).
# About 7 minutes on an H100.
#   OUT=dir bash scripts/gpu/tap_order.sh dist/tmc-<version>-linux-x86_64.tar.xz OLD_DIR
# OLD_DIR: scripts/bench/emit_configs.sh's output from the previous tmc (one folder per configuration).
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out/logs"; start=$(date +%s)
export PYTHONUNBUFFERED=1
here="$(dirname "$0")"
source "$here/lib.sh"; unpack_dist "$1"; old="$2"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/logs/gpu.txt"
verify_log mbconv "$out/logs" samples/mbconv.tm --reps 1
verify_log mbconv_c128 "$out/logs" samples/mbconv.tm --reps 1 -p C=128 --hw 7,14,17
verify_log convfirst "$out/logs" samples/convfirst.tm --reps 1
verify_log convfirst_c128 "$out/logs" samples/convfirst.tm --reps 1 -p C=128 --hw 7,17,28
new="$(mktemp -d)"
TMC="$tmc" bash scripts/bench/emit_configs.sh "$new" f16 > /dev/null
# old_new CONFIG PLAN...: the old and the new kernel of each PLAN at CONFIG, in one process
old_new() {
  local config="$1" plan dirs=() v; shift
  for plan in "$@"; do
    for v in old new; do
      local src="$old"; [ "$v" = new ] && src="$new"
      copy_program "$src/$config" "$plan" "$new/v/$config/${plan}_$v"
      dirs+=("$new/v/$config/${plan}_$v")
    done
  done
  python3 scripts/bench/variants.py "$config" "${dirs[@]}" --rounds 7 > "$out/tap_$config.txt" 2>&1
  tail -$(( 2 * $# + 1 )) "$out/tap_$config.txt"
}
old_new mbconv_n128_h28_c64 rows specialized
old_new mbconv_n128_h14_c128 specialized narrow
old_new convfirst_n128_h56_c64 rows fused
old_new convfirst_n128_h28_c128 rows
old_new convfirst_n8_h56_c64 rows best
echo "== tap order done $(( $(date +%s) - start )) s"
OUT="$out/more" bash "$here/more_blocks.sh" "$1"
pack_out "$out/logs"
echo "== total $(( $(date +%s) - start )) s"
