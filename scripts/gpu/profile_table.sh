#!/usr/bin/env bash
# Nsight Compute on the kernel behind each row of the final benchmark table (docs/benchmarks.md), at its own shape:
# the evidence for "which limit each kernel hits".   bash scripts/gpu/profile_table.sh KDIR
# KDIR is emit_configs.sh's output (KDIR/<config>/<Block>_<plan>.json).
source "$(dirname "$0")/lib.sh"
kdir="$1"
for row in convfirst_n128_h56_c64:ConvFirst_rows convfirst_n128_h28_c128:ConvFirst_rows convfirst_n8_h56_c64:ConvFirst_rows \
           mbconv_n128_h28_c64:MBConv_rows mbconv_n128_h14_c128:MBConv_specialized mbconvdw_n128_h28_c64:MBConvDW_best \
           convnext_n128_h56_c96:ConvNeXt_fused; do
  config="${row%%:*}"; prog="${row##*:}"; m="$kdir/$config/$prog.json"
  n=$(echo "$config" | sed -E 's/.*_n([0-9]+)_h([0-9]+)_.*/\1/'); h=$(echo "$config" | sed -E 's/.*_n([0-9]+)_h([0-9]+)_.*/\2/')
  echo "== $config $prog (N=$n H=W=$h)"
  ncu_profile "$m" "$n" "$h" "$h"
done
