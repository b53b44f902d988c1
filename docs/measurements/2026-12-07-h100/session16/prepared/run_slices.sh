# variants.py over each configuration's kernel directories (sixteenth session: the chain's slice group 1 vs 2)
here="$(cd "$(dirname "$0")" && pwd)"; mkdir -p "$OUT"
for c in convfirst_n128_h56_c64 convfirst_n128_h28_c128; do
  dirs=(); for d in "$here/$c"/*/; do dirs+=("${d%/}"); done
  python3 scripts/bench/variants.py "$c" "${dirs[@]}" --rounds 7 > "$OUT/slices_$c.txt" 2>&1
  tail -$(( ${#dirs[@]} + 2 )) "$OUT/slices_$c.txt"
done
