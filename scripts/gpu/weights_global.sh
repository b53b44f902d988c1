#!/usr/bin/env bash
# On the GPU machine (prepared in the fourteenth session, not yet run): ConvNeXt's fused plan with its depthwise weight
# read from global memory ('place wd in global': 9.4 KB less shared memory) and then at 4 blocks per SM ('resident 4':
# 55296 B, 128 registers without spills; 'fused' runs 3). tmc verify of the two plans (and every plan of convnext.tm),
# compute-sanitizer memcheck and racecheck of the first, then the three kernels in one process (variants.py, checked
# against PyTorch first). About 2 minutes on an H100.
#   OUT=dir bash scripts/gpu/weights_global.sh dist/tmc-<version>-linux-x86_64.tar.xz
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out/logs"; start=$(date +%s)
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/logs/gpu.txt"
k="$(mktemp -d)"; tm="$k/convnext_global.tm"
python3 - samples/convnext.tm "$tm" <<'PY'
import sys
s = open(sys.argv[1]).read()
i = s.index("plan fused for ConvNeXt"); j = s.index("}", i) + 1
fused = s[i:j]
g = fused.replace("plan fused for", "plan wdglobal for").replace("\n}", "\n  place  wd in global\n}")
r = fused.replace("plan fused for", "plan wdglobal4 for").replace("\n}", "\n  place  wd in global\n  resident 4\n}")
open(sys.argv[2], "w").write(s + "\n" + g + "\n\n" + r + "\n")
PY
verify_log convnext_global "$out/logs" "$tm" --reps 1
sanitize "$tm" wdglobal4 "$out/logs" memcheck racecheck
"$tmc" emit "$tm" --arch sm_90 --shape N=128,H=56,W=56 -o "$k/e" > /dev/null
for plan in fused wdglobal wdglobal4; do mkdir -p "$k/v/$plan"; cp "$k/e/ConvNeXt_$plan".{cu,json} "$k/v/$plan/"; done
python3 scripts/bench/variants.py convnext_n128_h56_c96 "$k/v/fused" "$k/v/wdglobal" "$k/v/wdglobal4" --rounds 7 \
  > "$out/variants_convnext_global.txt" 2>&1; tail -6 "$out/variants_convnext_global.txt"
pack_out "$out/logs"
echo "== total $(( $(date +%s) - start )) s"
