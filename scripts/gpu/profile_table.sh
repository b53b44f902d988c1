#!/usr/bin/env bash
# Nsight Compute on the kernel behind each row of the final benchmark table (docs/benchmarks.md), at its own shape:
# the evidence for "which limit each kernel hits".   bash scripts/gpu/profile_table.sh KDIR
# KDIR is emit_configs.sh's output (KDIR/<config>/<Block>_<plan>.json).
kdir="$1"
metrics=gpu__time_duration.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active,sm__inst_issued.avg.pct_of_peak_sustained_active,sm__warps_active.avg.pct_of_peak_sustained_active,dram__throughput.avg.pct_of_peak_sustained_elapsed,lts__throughput.avg.pct_of_peak_sustained_elapsed,l1tex__throughput.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active,sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active,smsp__inst_executed_pipe_tensor.sum,smsp__inst_executed.sum,smsp__average_warp_latency_issue_stalled_barrier.ratio,smsp__average_warp_latency_issue_stalled_long_scoreboard.ratio,smsp__average_warp_latency_issue_stalled_short_scoreboard.ratio,smsp__average_warp_latency_issue_stalled_mio_throttle.ratio,smsp__average_warp_latency_issue_stalled_wait.ratio,smsp__average_warp_latency_issue_stalled_math_pipe_throttle.ratio
for row in convfirst_n128_h56_c64:ConvFirst_fused convfirst_n128_h28_c128:ConvFirst_rows convfirst_n8_h56_c64:ConvFirst_best \
           mbconv_n128_h28_c64:MBConv_best mbconv_n128_h14_c128:MBConv_best mbconvdw_n128_h28_c64:MBConvDW_fused \
           convnext_n128_h56_c96:ConvNeXt_fused; do
  config="${row%%:*}"; prog="${row##*:}"; m="$kdir/$config/$prog.json"
  n=$(echo "$config" | sed -E 's/.*_n([0-9]+)_h([0-9]+)_.*/\1/'); h=$(echo "$config" | sed -E 's/.*_n([0-9]+)_h([0-9]+)_.*/\2/')
  entry=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['kernels'][0]['entry'])" "$m")
  echo "== $config $prog ($entry, N=$n H=W=$h)"
  ncu --clock-control none -k "regex:^${entry}$" --launch-skip 1 --launch-count 1 --metrics "$metrics" \
    python3 scripts/gpu/profile_one.py "$m" "$n" "$h" "$h" 2>&1 | grep -E "^\s+(gpu__|sm__|dram__|lts__|l1tex__|smsp__)|ERR|rror"
done
