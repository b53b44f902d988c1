# Shared by bin/tmc and bin/test. Sourced, not run.

# Sets JAVA_HOME to a JDK of version 25 or newer: $JAVA_HOME if it is new enough, else the newest under
# /usr/lib/jvm (and /opt/java, /usr/java). Exits with a message naming what is needed if none is found.
tmc_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -1
}

tmc_find_java() {
  local need=25 candidate major best="" best_major=0
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] && [ -x "$JAVA_HOME/bin/javac" ]; then
    major="$(tmc_java_major "$JAVA_HOME")"
    if [ -n "$major" ] && [ "$major" -ge "$need" ] 2>/dev/null; then export JAVA_HOME; return 0; fi
  fi
  for candidate in /usr/lib/jvm/* /opt/java/* /usr/java/*; do
    [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    major="$(tmc_java_major "$candidate")"
    if [ -n "$major" ] && [ "$major" -ge "$need" ] 2>/dev/null && [ "$major" -gt "$best_major" ]; then
      best="$candidate"; best_major="$major"
    fi
  done
  if [ -z "$best" ]; then
    echo "tmc: needs a JDK of version $need or newer (found none: JAVA_HOME=${JAVA_HOME:-unset}, and none under /usr/lib/jvm)." >&2
    echo "     Install one (for example Temurin 25) and set JAVA_HOME to it." >&2
    exit 1
  fi
  export JAVA_HOME="$best"
}

# Builds target/tmc.jar with Maven when it is missing or older than any source, grammar or pom change.
tmc_build_if_stale() {
  local jar="$root/target/tmc.jar"
  if [ -f "$jar" ] && [ -d "$root/target/lib" ] && [ -d "$root/target/native" ] && \
     [ -z "$(find "$root/src/main" "$root/grammar" "$root/pom.xml" -newer "$jar" -print -quit 2>/dev/null)" ]; then
    return 0
  fi
  if ! command -v mvn >/dev/null 2>&1; then
    echo "tmc: building needs Apache Maven (mvn) on the PATH." >&2; exit 1
  fi
  echo "tmc: building (first use or sources changed)..." >&2
  local log; log="$(mktemp)"
  if ! (cd "$root" && mvn -B -q -DskipTests package >"$log" 2>&1); then
    cat "$log" >&2; rm -f "$log"
    echo "tmc: build failed (see above)." >&2; exit 1
  fi
  rm -f "$log"
  touch "$jar"
}
TMC_JAVA_OPTS="${TMC_JAVA_OPTS:-}"
# Maven's own libraries touch sun.misc.Unsafe; on JDK 25 that prints warnings that are not ours.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"

# A GPU-less dev or CI box may have NVRTC only where scripts/dev/install-nvrtc.sh put it; use it when nothing else
# was chosen, so the NVRTC and kernel-cache tests compile real kernels instead of being skipped.
tmc_dev_nvrtc() {
  local dev="$HOME/.cache/tmc-dev/nvrtc/libnvrtc.so.13"
  if [ -z "${TMC_NVRTC:-}" ] && [ -f "$dev" ]; then export TMC_NVRTC="$dev"; fi
}
