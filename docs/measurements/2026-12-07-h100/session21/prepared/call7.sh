#!/usr/bin/env bash
# On the GPU machine (prepared in the twenty-first session, not yet run), about 2 minutes: the register chain's conv
# producer with split accumulators. In MBConv's and MBConvDW's 'rows' each group's 9 tap products accumulate into one
# m16n8 C fragment, a chain of 9 dependent mma per group and slice. split_*.patch (beside this script) edit
# generated/'s kernels (commit 514488f) to accumulate taps 5-8 into a second fragment, added before the epilogue: two
# chains of 5 and 4. nvcc: MBConvDW 125 -> 127 registers, no spills; MBConv 126 -> 128 with 68 bytes of spills.
# variants.py, 7 rounds, each kernel checked against PyTorch first.
#   OUT=$OUT bash docs/measurements/2026-12-07-h100/session21/prepared/call7.sh
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; here="$(cd "$(dirname "$0")" && pwd)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
source scripts/gpu/lib.sh; k="$(mktemp -d)"
for v in mbconv_dw:MBConvDW mbconv:MBConv; do
  s="${v%%:*}"; b="${v##*:}"
  copy_program "generated/$s" rows "$k/${s}_rows"; copy_program "generated/$s" rows "$k/${s}_rows_split"
  (cd "$k/${s}_rows_split" && patch -s -p0 < "$here/split_${s/_/}_rows.patch")
  python3 -c "import hashlib,json,sys; p=sys.argv[1]; m=json.load(open(p)); \
m['sourceSha256']=hashlib.sha256(open(sys.argv[2],'rb').read()).hexdigest(); json.dump(m,open(p,'w'),indent=2)" \
    "$k/${s}_rows_split/${b}_rows.json" "$k/${s}_rows_split/${b}_rows.cu"
done
python3 scripts/bench/variants.py mbconvdw_n128_h28_c64 "$k/mbconv_dw_rows" "$k/mbconv_dw_rows_split" --rounds 7 \
  > "$out/variants_mbconvdw_split.txt" 2>&1; tail -4 "$out/variants_mbconvdw_split.txt"
python3 scripts/bench/variants.py mbconv_n128_h28_c64 "$k/mbconv_rows" "$k/mbconv_rows_split" --rounds 7 \
  > "$out/variants_mbconv_split.txt" 2>&1; tail -4 "$out/variants_mbconv_split.txt"
