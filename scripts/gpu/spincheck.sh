set -uo pipefail
tmp="$(mktemp -d)"; tar -xJf "$1" -C "$tmp"; tmc="$(ls -d "$tmp"/tmc-*/bin/tmc)"; export TMC_CACHE_DIR="$tmp/cache"
"$tmc" bench samples/convfirst.tm --shape N=8,H=56,W=56 --plan fused --plan rows --plan best 2>&1 | tail -5
"$tmc" bench samples/convfirst.tm --shape N=128,H=56,W=56 --plan fused --plan best 2>&1 | tail -3
"$tmc" tune samples/convfirst.tm --shape N=8,H=56,W=56 --top 10 2>&1 | grep -E "winner|\["
