#!/usr/bin/env bash
# GPU host check of the tmc runtime: 'tmc doctor', then the end-to-end smoke test ('tmc smoke': NVRTC compiles
# an fp16 kernel for this GPU, JCuda launches it with >48 KB dynamic shared memory, events time it, the result is
# checked bit for bit). Needs no network and no JDK. Prints PASS or FAIL last; exit 0 on PASS.
#
# Usage, from the repository root:
#   scripts/gpu/runtime_smoke.sh dist/tmc-0.1.0-linux-x86_64.tar.xz   # a tarball from bin/dist
#   scripts/gpu/runtime_smoke.sh /opt/tmc-0.1.0-linux-x86_64          # an unpacked one
#   scripts/gpu/runtime_smoke.sh                                      # newest dist/*.tar.xz, else target/ + $TMC_JRE
# With no tarball, the repo's target/tmc.jar, target/lib and target/native are used with the Java runtime in
# $TMC_JRE (default .carry/jre), e.g. a dist's runtime/ folder carried over.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
arg="${1:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ -z "$arg" ]; then
  arg="$(ls -t dist/tmc-*-linux-x86_64.tar.xz 2>/dev/null | head -1)"
fi
if [ -n "$arg" ] && [ -f "$arg" ]; then
  echo "== unpacking $arg"
  tar -xJf "$arg" -C "$work" || { echo "FAIL: cannot unpack $arg"; exit 1; }
  tmc=("$(ls -d "$work"/tmc-*/bin/tmc | head -1)")
elif [ -n "$arg" ] && [ -x "$arg/bin/tmc" ]; then
  tmc=("$arg/bin/tmc")
else
  jre="${TMC_JRE:-.carry/jre}"
  if [ ! -x "$jre/bin/java" ] || [ ! -f target/tmc.jar ] || [ ! -d target/native ]; then
    echo "FAIL: no tmc to test: give a dist tarball or folder, or carry target/ and a Java runtime in \$TMC_JRE ($jre)"
    exit 1
  fi
  tmc=("$jre/bin/java" --enable-native-access=ALL-UNNAMED -Xss8m -Djava.library.path="$PWD/target/native"
       -cp "$PWD/target/tmc.jar:$PWD/target/lib/*" tmc.cli.Main)
fi
echo "== tmc: ${tmc[*]}"
command -v nvidia-smi >/dev/null && { echo "== nvidia-smi -L"; nvidia-smi -L; }

# Keep the host's kernel cache untouched by this test.
export TMC_CACHE_DIR="$work/cache"

echo "== tmc doctor"
doctor="$("${tmc[@]}" doctor 2>&1)"; echo "$doctor"
if echo "$doctor" | grep -q '^NVRTC      NOT FOUND' && [ -z "${TMC_NVRTC:-}" ]; then
  # CUDA from pip wheels (e.g. under a Python site-packages) is outside tmc's search path: look there too.
  lib="$(find /usr /opt /root -name 'libnvrtc.so.1[23]' -not -path '*/proc/*' 2>/dev/null | sort -r | head -1)"
  if [ -n "$lib" ]; then
    export TMC_NVRTC="$lib"
    inc="$(find "$(dirname "$(dirname "$lib")")" /usr/local /opt -name cuda_fp16.h 2>/dev/null | head -1)"
    [ -n "$inc" ] && export TMC_CUDA_INCLUDE="$(dirname "$inc")"
    echo "== NVRTC was not in tmc's search path; found $lib, retrying with TMC_NVRTC=$lib TMC_CUDA_INCLUDE=${TMC_CUDA_INCLUDE:-}"
    "${tmc[@]}" doctor 2>&1 | grep -A2 '^NVRTC'
  fi
fi

echo "== tmc smoke"
"${tmc[@]}" smoke 2>&1
rc=$?
if [ $rc -eq 0 ]; then echo "runtime_smoke: PASS"; else echo "runtime_smoke: FAIL (tmc smoke exited $rc)"; fi
exit $rc
