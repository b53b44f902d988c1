#!/usr/bin/env bash
# On the GPU machine, for 'math wgmma' (the register chain's products on wgmma, sm_90a): tmc verify over the samples
# that have a wgmma plan (every plan), compute-sanitizer memcheck and racecheck on the wgmma plans, then per benchmark
# configuration the fused, rows and wgmma kernels timed in ONE process (scripts/bench/variants.py), each checked
# against PyTorch first.
#   bash scripts/gpu/wgmma.sh dist/tmc-<version>-linux-x86_64.tar.xz VARIANTS_DIR
# VARIANTS_DIR/<config>/<plan>/ holds one manifest and its .cu (see docs/benchmarks.md for how they were emitted).
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"
start=$(date +%s)
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
echo "== $(date -u +%F) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
echo "== tmc verify: samples with a wgmma plan, every plan"
"$tmc" verify samples/convfirst.tm samples/fusedmlp.tm samples/mbconv.tm samples/convnext.tm --reps 1 > "$out/verify.txt" 2>&1
echo "verify exit $?"; tail -2 "$out/verify.txt"; grep -E "FAIL" "$out/verify.txt" | head -20
echo "== $(( $(date +%s) - start )) s; compute-sanitizer on the wgmma plans at N=3, H=17, W=13"
for s in convfirst mbconv; do sanitize $s wgmma "$out"; done
echo "== $(( $(date +%s) - start )) s; variants per configuration"
for c in "$2"/*/; do
  name="$(basename "$c")"; [ "$name" = all ] && continue
  dirs=$(for p in fused rows wgmma; do [ -d "$c/$p" ] && echo "$c/$p"; done)
  python3 scripts/bench/variants.py "$name" $dirs --rounds 5 2>&1 | tee -a "$out/variants.txt"
done
echo "== total $(( $(date +%s) - start )) s"
