#!/usr/bin/env bash
# On the GPU machine: copies of one of a sample's plans with directives changed or added, verified and timed against
# it. Each VARIANT is NAME:DIRECTIVES, the directives separated by ';' (a directive replaces the base plan's line that
# starts with the same keyword, or is added); the sample with the variants appended is checked with `tmc verify`
# (every plan, default shapes; PARAMS apply), then the base plan and the variants are emitted at CONFIG's shape and
# timed in one process (scripts/bench/variants.py, 7 interleaved rounds, each checked against PyTorch first).
#   OUT=dir bash scripts/gpu/plan_variants.sh DIST SAMPLE BASE_PLAN CONFIG SHAPE "PARAMS" VARIANT...
# Example (ConvFirst's 'rows' streaming E by 128: 2 chunks instead of 4, still 2 blocks per SM):
#   OUT=dir bash scripts/gpu/plan_variants.sh dist/tmc-0.1.0-linux-x86_64.tar.xz convfirst rows \
#     convfirst_n128_h56_c64 N=128,H=56,W=56 "" "rows128:stream E by 128"
set -uo pipefail
out="${OUT:-out}"; mkdir -p "$out/logs"; start=$(date +%s)
export PYTHONUNBUFFERED=1
here="$(dirname "$0")"
source "$here/lib.sh"; unpack_dist "$1"
sample="$2"; base="$3"; config="$4"; shape="$5"; params="$6"; shift 6
k="$(mktemp -d)"
python3 - "samples/$sample.tm" "$k/$sample.tm" "$base" "$@" <<'PY'
import re, sys
src, dst, base, variants = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
s = open(src).read()
i = s.index("plan %s for" % base); j = s.index("\n}", i) + 2
plan = s[i:j]
out = [s]
for v in variants:
    name, directives = v.split(":", 1)
    lines = plan.replace("plan %s for" % base, "plan %s for" % name, 1).split("\n")
    for d in (x.strip() for x in directives.split(";") if x.strip()):
        key = d.split()[0]
        hit = [n for n, l in enumerate(lines) if re.match(r"\s*%s\b" % re.escape(key), l) and n > 0]
        if hit and key != "place":
            lines[hit[0]] = "  " + d
        else:
            lines.insert(len(lines) - 2, "  " + d)
    out.append("\n".join(lines))
open(dst, "w").write("\n\n".join(out) + "\n")
PY
grep -A12 "^plan $base for" "$k/$sample.tm" > /dev/null || { echo "no plan $base in samples/$sample.tm"; exit 2; }
cp "$k/$sample.tm" "$out/logs/"
pargs=(); for p in $params; do pargs+=(-p "$p"); done
verify_log "${sample}_variants" "$out/logs" "$k/$sample.tm" --reps 1 "${pargs[@]}"
"$tmc" emit "$k/$sample.tm" --arch sm_90 --shape "$shape" "${pargs[@]}" -o "$k/e" > /dev/null
dirs=()
for plan in "$base" "${@%%:*}"; do
  copy_program "$k/e" "$plan" "$k/v/$plan"; dirs+=("$k/v/$plan")
done
python3 scripts/bench/variants.py "$config" "${dirs[@]}" --rounds 7 > "$out/plan_variants_$config.txt" 2>&1
tail -$(( ${#dirs[@]} + 2 )) "$out/plan_variants_$config.txt"
pack_out "$out/logs"
echo "== total $(( $(date +%s) - start )) s"
