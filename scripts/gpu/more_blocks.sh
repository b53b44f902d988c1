#!/usr/bin/env bash
# On the GPU machine (prepared in the fourteenth session, run in the fifteenth: docs/benchmarks.md): plans that fit one more block per SM.
#  1. ConvNeXt's fused plan with its depthwise weight read from global memory ('place wd in global': 9.4 KB less
#     shared memory), then at 4 blocks per SM ('resident 4': 55296 B, nvcc 128 registers without spills; 'fused'
#     runs 3): tmc verify of convnext.tm with both plans, compute-sanitizer memcheck and racecheck of the second
#     (the register-blocked depthwise conv's weight loads from global are new), then the three in one process.
#  2. MBConvDW's fused plan at 3 blocks ('resident 3': single-buffered slices, 75168 B; nvcc 80 registers with
#     24 bytes spilled) against 'fused' (2 blocks).
# variants.py checks every kernel against PyTorch before timing. About 3 minutes on an H100. $OUT gets the variants
# tables and logs.tar.gz (verify and sanitizer logs).
#   OUT=dir bash scripts/gpu/more_blocks.sh dist/tmc-<version>-linux-x86_64.tar.xz
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out/logs"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/logs/gpu.txt"
k="$(mktemp -d)"
# with_plans SAMPLE OUT.tm NEW_NAME "EXTRA DIRECTIVES" ...: the sample plus copies of its 'fused' plan with directives added
with_plans() {
  python3 - "$@" <<'PY'
import sys
src, dst, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
s = open(src).read()
i = s.index("plan fused for"); j = s.index("}", i) + 1
fused = s[i:j]
extra = [fused.replace("plan fused for", "plan %s for" % name).replace("\n}", "\n" + lines.replace("\\n", "\n") + "}")
         for name, lines in zip(rest[0::2], rest[1::2])]
open(dst, "w").write(s + "\n" + "\n\n".join(extra) + "\n")
PY
}
# variants_of TM CONFIG SHAPE PLAN...: the plans of TM emitted at SHAPE, timed against each other in one process
variants_of() {
  local tm="$1" config="$2" shape="$3"; shift 3
  local e="$k/e_$config" dirs=() plan
  "$tmc" emit "$tm" --arch sm_90 --shape "$shape" -o "$e" > /dev/null
  for plan in "$@"; do
    copy_program "$e" "$plan" "$k/v/$config/$plan"; dirs+=("$k/v/$config/$plan")
  done
  python3 scripts/bench/variants.py "$config" "${dirs[@]}" --rounds 7 > "$out/variants_$config.txt" 2>&1
  tail -$(( $# + 2 )) "$out/variants_$config.txt"
}
with_plans samples/convnext.tm "$k/convnext.tm" wdglobal '  place  wd in global\n' \
  wdglobal4 '  place  wd in global\n  resident 4\n'
verify_log convnext_global "$out/logs" "$k/convnext.tm" --reps 1
sanitize "$k/convnext.tm" wdglobal4 "$out/logs" memcheck racecheck
variants_of "$k/convnext.tm" convnext_n128_h56_c96 N=128,H=56,W=56 fused wdglobal wdglobal4
with_plans samples/mbconv_dw.tm "$k/mbconv_dw.tm" fused3 '  resident 3\n'
verify_log mbconvdw_fused3 "$out/logs" "$k/mbconv_dw.tm" --reps 1
variants_of "$k/mbconv_dw.tm" mbconvdw_n128_h28_c64 N=128,H=28,W=28 fused fused3 best
pack_out "$out/logs"
echo "== total $(( $(date +%s) - start )) s"
