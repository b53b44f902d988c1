# Sourced by the GPU scripts (bash): the distribution's tmc, compute-sanitizer over one plan, Nsight Compute on a program.

# unpack_dist TARBALL: unpacks a tmc distribution into a fresh temporary directory, sets $tmp and $tmc (its
# launcher), and points the kernel cache there (TMC_CACHE_DIR), so that no kernel or tuning of an earlier run is reused.
unpack_dist() {
  tmp="$(mktemp -d)"
  tar -xJf "$1" -C "$tmp"
  tmc="$(ls -d "$tmp"/tmc-*/bin/tmc)"
  export TMC_CACHE_DIR="$tmp/cache"
}

# verify_log NAME DIR ARG...: `tmc verify ARG...` with its output in DIR/verify_NAME.txt; prints its exit status, its
# summary line ("N checks, M failed") and the failed checks.
verify_log() {
  local name="$1" dir="$2"; shift 2
  "$tmc" verify "$@" > "$dir/verify_$name.txt" 2>&1
  echo "verify $name exit $?"; tail -1 "$dir/verify_$name.txt"; grep FAIL "$dir/verify_$name.txt" | head
}

# sanitize SAMPLE PLAN DIR [TOOL...]: compute-sanitizer (memcheck and racecheck unless TOOLs are named) over
# `tmc run samples/SAMPLE.tm --plan PLAN` at N=3, H=17, W=13 (SAMPLE may also be the path of a .tm file). Each tool's
# output goes to DIR/sanitizer_SAMPLE_PLAN_TOOL.txt (SAMPLE without folder and .tm); prints a line per tool with its
# exit status (9: errors found) and its summary.
sanitize() {
  local sample="$1" plan="$2" dir="$3"; shift 3
  local tools=("$@"); [ ${#tools[@]} -eq 0 ] && tools=(memcheck racecheck)
  local file="samples/$sample.tm"
  case "$sample" in *.tm) file="$sample"; sample="$(basename "$sample" .tm)" ;; esac
  local tool log rc
  for tool in "${tools[@]}"; do
    log="$dir/sanitizer_${sample}_${plan}_${tool}.txt"
    compute-sanitizer --tool "$tool" --error-exitcode 9 "$tmc" run "$file" --plan "$plan" \
      --shape N=3,H=17,W=13 --reps 1 > "$log" 2>&1
    rc=$?
    echo "$sample $plan $tool: exit $rc, $(grep -E 'SUMMARY' "$log" | tail -1)"
  done
}

# What Nsight Compute reads of a kernel: time, occupancy, issue, the pipes (tensor, FMA, XU), memory and the stalls.
NCU_METRICS=gpu__time_duration.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active,sm__inst_issued.avg.pct_of_peak_sustained_active,sm__warps_active.avg.pct_of_peak_sustained_active,dram__throughput.avg.pct_of_peak_sustained_elapsed,lts__throughput.avg.pct_of_peak_sustained_elapsed,l1tex__throughput.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active,sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active,smsp__inst_executed_pipe_tensor.sum,smsp__inst_executed.sum,smsp__average_warp_latency_issue_stalled_barrier.ratio,smsp__average_warp_latency_issue_stalled_long_scoreboard.ratio,smsp__average_warp_latency_issue_stalled_short_scoreboard.ratio,smsp__average_warp_latency_issue_stalled_mio_throttle.ratio,smsp__average_warp_latency_issue_stalled_wait.ratio,smsp__average_warp_latency_issue_stalled_math_pipe_throttle.ratio

# ncu_profile MANIFEST N H W: NCU_METRICS of the first kernel of an emitted program (its second launch, clocks as
# they are) at N x H x W, through scripts/gpu/profile_one.py; prints the metric lines.
ncu_profile() {
  local entry
  entry=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['kernels'][0]['entry'])" "$1")
  ncu --clock-control none -k "regex:^${entry}$" --launch-skip 1 --launch-count 1 --metrics "$NCU_METRICS" \
    python3 "$(dirname "${BASH_SOURCE[0]}")/profile_one.py" "$1" "$2" "$3" "$4" 2>&1 \
    | grep -E "^\s+(gpu__|sm__|dram__|lts__|l1tex__|smsp__)|ERR|rror"
}

# copy_program DIR PLAN DEST: the program emitted for PLAN in DIR (its <Block>_PLAN.cu and .json) into DEST, which
# is created: one variant for scripts/bench/variants.py.
copy_program() {
  mkdir -p "$3" && cp "$1"/*_"$2".{cu,json} "$3/"
}

# pack_out DIR: replaces the files under DIR by one DIR/logs.tar.gz holding them: the device tool brings back only a
# handful of files from $OUT (in the thirteenth session, 8 of a call's files came back and the rest were dropped).
pack_out() {
  local dir="$1" tarball
  tarball="$(mktemp -u).tar.gz"
  tar -czf "$tarball" -C "$dir" . && find "$dir" -mindepth 1 -delete && mv "$tarball" "$dir/logs.tar.gz"
}
