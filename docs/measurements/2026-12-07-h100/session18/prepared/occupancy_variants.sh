#!/usr/bin/env bash
# On the GPU machine (eighteenth session): more resident blocks through narrower stream chunks. Streaming E by 32
# instead of 64 halves the weight slices in shared memory, so where shared memory held a kernel to its blocks per SM
# one more block fits (`resident N` holds ptxas to the registers that allows). nvcc before the run (sm_90): ConvFirst
# rows at C=64 with E by 32 at 3 blocks no spills, at 4 blocks 16 B; at C=128 at 2 blocks (double-buffered) 4 B;
# MBConv rows at 3 blocks 60 B; MBConv narrow at C=128 at 3 blocks none, at 4 blocks 4 B; MBConvDW fused at 3
# blocks 40 B (E by 32) and 36 B (E by 64, one copy of the slices). Each set: tmc verify of the sample with the
# variants added (every plan), then the base plan and the variants timed in one process (variants.py, 7 rounds).
#   SETS="cf64 cf128 mb64" OUT=$OUT bash docs/measurements/2026-12-07-h100/session18/prepared/occupancy_variants.sh DIST
# (about 2 minutes a set; SETS defaults to all five: cf64 cf128 mb64 mb128 dw)
set -uo pipefail
dist="$1"; out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
sets=" ${SETS:-cf64 cf128 mb64 mb128 dw} "
pv() { local name="$1"; shift; [[ "$sets" == *" $name "* ]] || return 0; echo "=== $name"; OUT="$out/$name" bash scripts/gpu/plan_variants.sh "$dist" "$@"; }
pv cf64 convfirst rows convfirst_n128_h56_c64 N=128,H=56,W=56 "" \
  "r3:resident 3" "r32r3:stream E by 32;resident 3" "r32r4:stream E by 32;resident 4"
pv cf128 convfirst rows convfirst_n128_h28_c128 N=128,H=28,W=28 "C=128" \
  "r32:stream E by 32" "r32r2:stream E by 32;resident 2"
pv mb64 mbconv rows mbconv_n128_h28_c64 N=128,H=28,W=28 "" \
  "r32:stream E by 32" "r32r3:stream E by 32;resident 3"
pv mb128 mbconv narrow mbconv_n128_h14_c128 N=128,H=14,W=14 "C=128" \
  "sp:tile N 1, H 7, W 8;warps 4 + 4" "n32r3:stream E by 32;resident 3" "n32r4:stream E by 32;resident 4"
pv dw mbconv_dw fused mbconvdw_n128_h28_c64 N=128,H=28,W=28 "" \
  "f32:stream E by 32" "f32r3:stream E by 32;resident 3" "fr3:resident 3"
echo "== all $(( $(date +%s) - start )) s"
for d in "$out"/*/; do cat "$d"/plan_variants_*.txt > "$out/$(basename "$d").txt" 2>/dev/null; done
mkdir -p "$out/raw"; for d in $sets; do [ -d "$out/$d" ] && mv "$out/$d" "$out/raw/"; done; source scripts/gpu/lib.sh; pack_out "$out/raw"
