#!/usr/bin/env bash
# The thirteenth session's prepared experiments in one device call (one machine start): occupancy.sh (one more
# resident block where ptxas and shared memory allow it) and rows_split.sh (MBConv 'rows' with a producer side at
# C=64). About 4 minutes on an H100; each writes under its own folder of $OUT.
#   OUT=dir bash scripts/gpu/next_session.sh dist/tmc-<version>-linux-x86_64.tar.xz
set -uo pipefail
out="${OUT:-out}"; here="$(dirname "$0")"
echo "== occupancy"; OUT="$out/occupancy" bash "$here/occupancy.sh" "$1"
echo "== rows_split"; OUT="$out/rows_split" bash "$here/rows_split.sh" "$1"
