#!/usr/bin/env bash
# On the GPU machine: every configuration directory of GRID_DIR (scripts/bench/grid.py's output) timed with
# scripts/bench/variants.py, the sample's own plan ('fused') first.   bash scripts/gpu/grid.sh GRID_DIR
for c in "$1"/*/; do
  name="$(basename "$c")"
  dirs="$c/fused $(ls -d "$c"/g* 2>/dev/null | sort -V)"
  python3 scripts/bench/variants.py "$name" $dirs --rounds 5 2>&1 | grep -v "^\.carry\|max rel err .* ok"
done
