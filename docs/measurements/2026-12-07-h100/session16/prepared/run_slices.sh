# On the GPU machine: variants.py over each configuration's kernel directories under KDIR (sixteenth session: the
# chain's slices of 32 channels against 16 under a `resident` register cap; see docs/benchmarks.md).
#   OUT=dir bash docs/measurements/2026-12-07-h100/session16/prepared/run_slices.sh .carry/s16slices
kdir="$(cd "$1" && pwd)"; mkdir -p "$OUT"
for c in convfirst_n128_h56_c64 convfirst_n128_h28_c128; do
  dirs=(); for d in "$kdir/$c"/*/; do dirs+=("${d%/}"); done
  python3 scripts/bench/variants.py "$c" "${dirs[@]}" --rounds 7 > "$OUT/slices_$c.txt" 2>&1
  tail -$(( ${#dirs[@]} + 2 )) "$OUT/slices_$c.txt"
done
