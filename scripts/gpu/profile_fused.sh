#!/usr/bin/env bash
# Nsight Compute on each emitted program in DIR (its kernels at N=128, H=W=56): the numbers behind the
# "what limits each kernel" table of docs/benchmarks.md.   bash scripts/gpu/profile_fused.sh DIR
dir="$1"
metrics=gpu__time_duration.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active,sm__inst_issued.avg.pct_of_peak_sustained_active,sm__warps_active.avg.pct_of_peak_sustained_active,dram__throughput.avg.pct_of_peak_sustained_elapsed,l1tex__throughput.avg.pct_of_peak_sustained_active,smsp__inst_executed_pipe_tensor.sum,smsp__inst_executed.sum,smsp__average_warp_latency_issue_stalled_barrier.ratio,smsp__average_warp_latency_issue_stalled_long_scoreboard.ratio,smsp__average_warp_latency_issue_stalled_short_scoreboard.ratio,smsp__average_warp_latency_issue_stalled_mio_throttle.ratio,smsp__average_warp_latency_issue_stalled_wait.ratio,smsp__average_warp_latency_issue_stalled_math_pipe_throttle.ratio
for m in "$dir"/*.json; do
  entry=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['kernels'][0]['entry'])" "$m")
  echo "== $entry"
  ncu --clock-control none -k "regex:^${entry}$" --launch-skip 1 --launch-count 1 --metrics "$metrics" \
    python3 scripts/gpu/profile_one.py "$m" 128 56 56 2>&1 | grep -E "^\s+(gpu__|sm__|dram__|l1tex__|smsp__)"
done
