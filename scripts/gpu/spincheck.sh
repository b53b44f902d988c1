#!/usr/bin/env bash
# On the GPU machine: tmc bench and tmc tune of ConvFirst at N=8 (kernels shorter than their submission through
# JCuda), to check that Gpu.time's spin keeps the host's submission out of the times (docs/benchmarks.md).
#   bash scripts/gpu/spincheck.sh dist/tmc-<version>-linux-x86_64.tar.xz
set -uo pipefail
source "$(dirname "$0")/lib.sh"; unpack_dist "$1"
"$tmc" bench samples/convfirst.tm --shape N=8,H=56,W=56 --plan fused --plan rows --plan best 2>&1 | tail -5
"$tmc" bench samples/convfirst.tm --shape N=128,H=56,W=56 --plan fused --plan best 2>&1 | tail -3
"$tmc" tune samples/convfirst.tm --shape N=8,H=56,W=56 --top 10 2>&1 | grep -E "winner|\["
