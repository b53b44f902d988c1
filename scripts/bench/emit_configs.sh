#!/usr/bin/env bash
# Emits the programs the benchmark times, one directory per configuration of docs/benchmarks.md:
#   scripts/bench/emit_configs.sh OUT_DIR [f16|bf16]
# Each gets every plan of its sample (fused: the sample's hand-written plan; best: auto; layerwise: separate),
# planned for sm_90 at the configuration's own shape. $TMC names the tmc launcher (default: bin/tmc of this checkout;
# on a GPU host without a JDK, the one of the distribution). auto plans take tmc tune's winner when the tuning file
# ($TMC_CACHE_DIR/tuning.json) has one for the configuration.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:?usage: emit_configs.sh OUT_DIR [f16|bf16]}"; dtype="${2:-f16}"
emit() {  # name sample shape params...
  local name="$1" sample="$2" shape="$3"; shift 3
  local src="$root/samples/$sample.tm"
  if [ "$dtype" = bf16 ]; then
    mkdir -p "$out/.src"; sed 's/\bf16\[/bf16[/g' "$src" > "$out/.src/$sample.tm"; src="$out/.src/$sample.tm"
  fi
  "${TMC:-$root/bin/tmc}" emit "$src" --arch sm_90 --shape "$shape" -o "$out/$name" "$@" >/dev/null
}
emit convfirst_n128_h56_c64   convfirst N=128,H=56,W=56
emit convfirst_n128_h28_c128  convfirst N=128,H=28,W=28 -p C=128
emit convfirst_n8_h56_c64     convfirst N=8,H=56,W=56
emit mbconv_n128_h28_c64      mbconv    N=128,H=28,W=28
emit mbconv_n128_h14_c128     mbconv    N=128,H=14,W=14 -p C=128
emit mbconvdw_n128_h28_c64    mbconv_dw N=128,H=28,W=28
emit convnext_n128_h56_c96    convnext  N=128,H=56,W=56
echo "emitted $(ls "$out"/*/*.cu | wc -l) programs into $out"
