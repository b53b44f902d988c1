#!/usr/bin/env bash
# Twenty-third session, call 3 (about 1.5 minutes on the GPU, no dist needed): ConvNeXt `fused` with the MLP's A
# fragments loaded once before the stream loop (convnext_af_hand.py) against the kernel as emitted, 9 interleaved
# rounds of variants.py, each checked against PyTorch first.
#   OUT=$OUT bash docs/measurements/2026-12-08-h100/session23/prepared/call3.sh
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; here="$(cd "$(dirname "$0")" && pwd)"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
k="$(mktemp -d)"; mkdir -p "$k/base"
cp generated/convnext/ConvNeXt_fused.cu generated/convnext/ConvNeXt_fused.json "$k/base/"
python3 "$here/convnext_af_hand.py" generated/convnext "$k/af"
python3 scripts/bench/variants.py convnext_n128_h56_c96 "$k/base" "$k/af" --rounds 9 > "$out/variants_af.txt" 2>&1
tail -5 "$out/variants_af.txt"
