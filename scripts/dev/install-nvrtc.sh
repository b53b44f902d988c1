#!/usr/bin/env bash
# Puts an NVRTC library where tmc's tests can use it, on a machine whose CUDA toolkit lacks libnvrtc
# (a GPU-less dev or CI box). NVRTC needs no GPU: with it, the NVRTC and kernel-cache tests compile real kernels
# instead of being skipped.
#
# Source: the NVIDIA CUDA redistributable jar that JavaCPP publishes on Maven Central
# (org.bytedeco:cuda-redist, ~380 MB, fetched once into ~/.m2 by Maven). Only libnvrtc.so.13 and its
# libnvrtc-builtins are extracted. The CUDA headers (cuda_fp16.h) still come from the local toolkit
# (/usr/local/cuda*/include) or $TMC_CUDA_INCLUDE.
#
# Usage: scripts/dev/install-nvrtc.sh [DEST]     (default DEST: ~/.cache/tmc-dev/nvrtc)
# Then:  export TMC_NVRTC=DEST/libnvrtc.so.13    (bin/test does this by itself when DEST is the default)
set -euo pipefail
dest="${1:-$HOME/.cache/tmc-dev/nvrtc}"
artifact="org.bytedeco:cuda-redist:13.1-9.19-1.5.13:jar:linux-x86_64"
jar="$HOME/.m2/repository/org/bytedeco/cuda-redist/13.1-9.19-1.5.13/cuda-redist-13.1-9.19-1.5.13-linux-x86_64.jar"
if [ -f "$dest/libnvrtc.so.13" ]; then echo "NVRTC already at $dest/libnvrtc.so.13"; exit 0; fi
if [ ! -f "$jar" ]; then
  echo "Fetching $artifact with Maven (about 380 MB, once)..." >&2
  mvn -B -q dependency:get -Dartifact="$artifact" -Dtransitive=false >&2
fi
mkdir -p "$dest"
tmp="$(mktemp -d "$dest/.unpack.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
unzip -q -j -o "$jar" 'org/bytedeco/cuda/linux-x86_64/libnvrtc.so.13' 'org/bytedeco/cuda/linux-x86_64/libnvrtc-builtins.so.*' -d "$tmp"
chmod 755 "$tmp"/libnvrtc*
mv "$tmp"/libnvrtc* "$dest/"
echo "NVRTC installed: $dest/libnvrtc.so.13"
echo "Use it with: export TMC_NVRTC=$dest/libnvrtc.so.13"
