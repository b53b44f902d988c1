#!/usr/bin/env bash
# On the GPU machine: an emitter change against the kernels the previous tmc emitted. tmc verify of the samples the
# change touches (each at its default parameters, MBConv and ConvFirst also at C=128), then, per configuration, each
# named plan's old and new kernel timed in one process (variants.py, 7 interleaved rounds, each checked against
# PyTorch first).
#   OUT=dir bash scripts/gpu/old_new.sh dist/tmc-<version>-linux-x86_64.tar.xz OLD_DIR "SAMPLE..." CONFIG:PLAN,PLAN...
# OLD_DIR: scripts/bench/emit_configs.sh's output from the previous tmc; SAMPLE: a name under samples/ (without .tm).
# EXTRA=NAME=DIR (optional): a third set of kernels (emit_configs.sh's output of an intermediate tmc), timed between.
# Example: old_new.sh dist/tmc-0.1.0-linux-x86_64.tar.xz .carry/old "mbconv mbconv_dw" mbconv_n128_h28_c64:rows,fused
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out/logs"; start=$(date +%s)
export PYTHONUNBUFFERED=1
here="$(dirname "$0")"
source "$here/lib.sh"; unpack_dist "$1"; old="$2"; samples="$3"; shift 3
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/logs/gpu.txt"
for s in $samples; do
  verify_log "$s" "$out/logs" "samples/$s.tm" --reps 1
  case "$s" in
    mbconv) verify_log "${s}_c128" "$out/logs" "samples/$s.tm" --reps 1 -p C=128 --hw 7,14,17 ;;
    convfirst) verify_log "${s}_c128" "$out/logs" "samples/$s.tm" --reps 1 -p C=128 --hw 7,17,28 ;;
  esac
done
new="$(mktemp -d)"
TMC="$tmc" bash scripts/bench/emit_configs.sh "$new" f16 > /dev/null
for arg in "$@"; do
  config="${arg%%:*}"; dirs=()
  IFS=, read -r -a plans <<< "${arg#*:}"
  for plan in "${plans[@]}"; do
    for v in old ${EXTRA:+${EXTRA%%=*}} new; do
      case "$v" in old) src="$old" ;; new) src="$new" ;; *) src="${EXTRA#*=}" ;; esac
      copy_program "$src/$config" "$plan" "$new/v/$config/${plan}_$v"
      dirs+=("$new/v/$config/${plan}_$v")
    done
  done
  python3 scripts/bench/variants.py "$config" "${dirs[@]}" --rounds 7 > "$out/old_new_$config.txt" 2>&1
  tail -$(( ${#dirs[@]} + 1 )) "$out/old_new_$config.txt"
done
pack_out "$out/logs"
echo "== total $(( $(date +%s) - start )) s"
