#!/usr/bin/env bash
# On the GPU machine: the split tmc tune --specialize picked for MBConv at C=128 (tile 7x8, stream E by 64, 4 + 4
# warps) as a written plan: tmc verify at every default shape, C=128 and C=64, compute-sanitizer racecheck and
# synccheck at N=3, H=17, W=13; then tmc tune --specialize --top 12 of MBConv at both benchmark shapes. Outputs go
# to $OUT/tuned_split.tar.gz (one file: the device tool brings back a few files only). About 3 minutes on an H100.
#   OUT=dir bash scripts/gpu/tuned_split.sh dist/tmc-<version>-linux-x86_64.tar.xz
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out"; start=$(date +%s)
log="$(mktemp -d)"
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$log/gpu.txt"
tm="$log/mbconv_tuned.tm"
{ cat samples/mbconv.tm; cat <<'PLAN'

// tmc tune --specialize's winner at N=128, H=W=14, C=128 on the H100 (2026-12-07)
plan tuned for MBConv on sm_90 {
  tile   N 1, H 7, W 8
  place  h1 in shared halo 1 stage
  stream E by 64
  warps  4 + 4
  math   tensor_core
}
PLAN
} > "$tm"
verify_log tuned_c128 "$log" "$tm" -p C=128 --reps 1
verify_log tuned_c64 "$log" "$tm" --reps 1
for tool in racecheck synccheck memcheck; do
  compute-sanitizer --tool "$tool" --error-exitcode 9 "$tmc" run "$tm" -p C=128 --plan tuned --shape N=3,H=17,W=13 \
    --reps 1 > "$log/sanitizer_tuned_$tool.txt" 2>&1
  echo "tuned $tool: exit $?, $(grep SUMMARY "$log/sanitizer_tuned_$tool.txt" | tail -1)"
done
echo "== $(( $(date +%s) - start )) s"
"$tmc" tune samples/mbconv.tm --shape N=128,H=14,W=14 -p C=128 --specialize --top 12 > "$log/tune12_c128.txt" 2>&1
grep -E "winner|calibration" "$log/tune12_c128.txt"
"$tmc" tune samples/mbconv.tm --shape N=128,H=28,W=28 --specialize --top 12 > "$log/tune12_c64.txt" 2>&1
grep -E "winner|calibration" "$log/tune12_c64.txt"
tar -czf "$out/tuned_split.tar.gz" -C "$log" .
echo "== total $(( $(date +%s) - start )) s"
