#!/usr/bin/env bash
# The thirteenth session's prepared experiments in one device call (one machine start): occupancy.sh (one more
# resident block where ptxas and shared memory allow it) and rows_split.sh (MBConv 'rows' with a producer side at
# C=64), then Nsight Compute on the kernel behind each row of the f16 table (profile_table.sh). About 6 minutes on an
# H100; each writes under its own folder of $OUT, and the whole of $OUT is packed into $OUT/logs.tar.gz at the end.
#   OUT=dir bash scripts/gpu/next_session.sh dist/tmc-<version>-linux-x86_64.tar.xz
set -uo pipefail
out="${OUT:-out}"; here="$(dirname "$0")"
echo "== occupancy"; OUT="$out/occupancy" bash "$here/occupancy.sh" "$1"
echo "== rows_split"; OUT="$out/rows_split" bash "$here/rows_split.sh" "$1"
echo "== profile_table"
source "$here/lib.sh"; unpack_dist "$1"; k="$(mktemp -d)"
TMC="$tmc" bash scripts/bench/emit_configs.sh "$k" f16 > /dev/null
bash "$here/profile_table.sh" "$k" > "$out/ncu_table.txt" 2>&1; cat "$out/ncu_table.txt"
pack_out "$out"
