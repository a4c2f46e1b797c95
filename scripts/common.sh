# Shared by the scripts in this folder (sourced, not run). Finds a JDK >= 25, makes sure Maven and
# OpenBLAS are there (installing with apt-get when root), and builds what is stale.
# Environment:
#   JAVA_HOME                  a JDK >= 25 to use (else the newest under /usr/lib/jvm)
#   PANAMA_RNN_NO_INSTALL=1    never run apt-get; only say what is missing
#   PANAMA_RNN_NO_OPENBLAS=1   do not install OpenBLAS (the library then runs on the Vector API backend)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MIN_JAVA=25
JVM_FLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)

say() { echo "panama-rnn: $*" >&2; }
die() { say "$*"; exit 1; }

java_major() { # $1 = JDK home; prints its feature version or nothing
  local rel="$1/release" v=""
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  if [ -f "$rel" ]; then v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$rel"); fi
  if [ -z "$v" ]; then v=$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1); fi
  echo "$v"
}

find_jdk() {
  local v
  if [ -n "${JAVA_HOME:-}" ]; then
    v=$(java_major "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge "$MIN_JAVA" ]; then export JAVA_HOME; export PATH="$JAVA_HOME/bin:$PATH"; return 0; fi
    say "JAVA_HOME=$JAVA_HOME is not a JDK >= $MIN_JAVA (found version '${v:-none}'); looking in /usr/lib/jvm"
  fi
  local best="" bestv=0 d
  for d in /usr/lib/jvm/*; do
    [ -d "$d" ] || continue
    v=$(java_major "$d")
    if [ -n "$v" ] && [ "$v" -ge "$MIN_JAVA" ] && [ "$v" -gt "$bestv" ]; then best="$d"; bestv="$v"; fi
  done
  if [ -z "$best" ]; then
    die "no JDK >= $MIN_JAVA found (checked JAVA_HOME and /usr/lib/jvm/*). Install a JDK $MIN_JAVA or newer (for example Eclipse Temurin 25, Debian package name temurin-25-jdk from Adoptium's apt repository) and set JAVA_HOME to it."
  fi
  export JAVA_HOME="$best"
  export PATH="$JAVA_HOME/bin:$PATH"
}

can_install() { [ "$(id -u)" = 0 ] && [ -z "${PANAMA_RNN_NO_INSTALL:-}" ] && command -v apt-get >/dev/null; }

APT_UPDATED=""
apt_install() { # packages...
  if [ -z "$APT_UPDATED" ]; then apt-get update -qq >&2 || true; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

ensure_maven() {
  command -v mvn >/dev/null && return 0
  if can_install; then say "installing Maven (apt-get install maven)"; apt_install maven; return 0; fi
  die "Maven is not installed. Run: sudo apt-get install maven"
}

openblas_present() {
  [ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0 ] && return 0
  [ -e /usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0 ] && return 0
  ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so\.0'
}

ensure_openblas() {
  openblas_present && return 0
  [ -n "${PANAMA_RNN_NO_OPENBLAS:-}" ] && return 0
  if can_install; then
    say "installing OpenBLAS (apt-get install libopenblas0-pthread)"
    apt_install libopenblas0-pthread || say "apt-get could not install libopenblas0-pthread; continuing on the Vector API backend"
  else
    say "OpenBLAS is not installed, so the Vector API backend will be used. For the OpenBLAS backend run: sudo apt-get install libopenblas0-pthread"
  fi
}

MVN_FLAGS=(-B -ntp -q)
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"

# The commit --version names: the short hash of HEAD, "-dirty" when tracked files differ from it, "unknown"
# outside a git checkout. Every build here passes it to Maven as -Dgit.commit (cli's version.properties).
git_commit() {
  local c
  c=$(git -C "$ROOT" rev-parse --short=7 HEAD 2>/dev/null) || { echo unknown; return 0; }
  git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || c="$c-dirty"
  echo "$c"
}

# Whether a pom or a main source (Java, proto, resource) of the given modules is newer than the stamp file.
# Generated sources under target/ do not count: another module's build regenerates them.
sources_newer() { # stamp modules...
  local stamp="$1" m dirs=(pom.xml); shift
  for m in "$@"; do dirs+=("$m/pom.xml" "$m/src/main"); done
  [ -n "$(cd "$ROOT" && find "${dirs[@]}" -newer "$stamp" \( -name '*.java' -o -name '*.proto' -o -name pom.xml -o -path '*/resources/*' \) -print -quit 2>/dev/null)" ]
}

# Builds the reactor when any main source or pom is newer than the CLI's stamp, when the commit changed since
# the last build (for --version), or when nothing is built yet.
ensure_built() {
  local stamp="$ROOT/cli/target/classpath.txt" commit built_commit
  commit=$(git_commit)
  built_commit=$(sed -n 's/^commit=//p' "$ROOT/cli/target/classes/dev/panamarnn/cli/version.properties" 2>/dev/null || true)
  if [ -f "$stamp" ] && [ "$built_commit" = "$commit" ] && ! sources_newer "$stamp" core native onnx server cli bench; then
    return 0
  fi
  say "building (mvn package -DskipTests)..."
  (cd "$ROOT" && mvn "${MVN_FLAGS[@]}" package -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true -Dgit.commit="$commit" -pl cli -am) >&2 || die "build failed"
  (cd "$ROOT" && ls cli/target/panama-rnn-cli-*.jar cli/target/lib/*.jar | sed "s|^|$ROOT/|" | paste -sd: > "$stamp")
}

# The Spark module and what it needs (Spark itself is 'provided': on the local classpath here, from the
# cluster under spark-submit). Builds when a source or pom of its modules is newer than its classpath file.
# Sets SPARK_CP, SPARK_JVM_FLAGS (what spark-submit adds to every JVM, from spark/pom.xml) and SPARK_JOB_JAR.
ensure_spark_built() {
  local stamp="$ROOT/spark/target/classpath.txt" flags="$ROOT/spark/target/classes/dev/panamarnn/spark/jvm.flags"
  if [ ! -f "$stamp" ] || [ ! -f "$flags" ] || sources_newer "$stamp" core native onnx spark; then
    say "building the spark module (mvn package -DskipTests; Spark's jars are about 200 MB the first time)..."
    (cd "$ROOT" && mvn "${MVN_FLAGS[@]}" package -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true -pl spark -am) >&2 || die "build failed"
    (cd "$ROOT" && echo "$ROOT/$(ls spark/target/panama-rnn-spark-*.jar | grep -v -- -job.jar | head -1):$(cat spark/target/dependency-classpath.txt)") > "$stamp"
  fi
  SPARK_CP=$(cat "$stamp")
  read -r -a SPARK_JVM_FLAGS < "$flags"
  SPARK_JOB_JAR=$(ls "$ROOT"/spark/target/panama-rnn-spark-*-job.jar | head -1)
}

# A seq2seq spark-score job's JSON-lines output as translate prints it (text, a tab, the translation), in
# the order of the part files: what scripts/test and scripts/bench compare with translate's output.
spark_translations() { # output directory
  cat "$1"/part-* | sed -E 's/^\{"text":"(.*)","translation":"(.*)"\}$/\1\t\2/'
}

# spark-submit without a Spark distribution: Spark's own SparkSubmit from the module's classpath (Spark's
# jars only, as on a cluster) with the job jar, so that the same command runs in local mode and on a
# local-cluster[N,cores,MB] master (a standalone master and N executor JVMs on this machine). The
# executors need a SPARK_HOME with jars/ (links to the same jars) and the Scala version.
spark_submit() { # spark-submit arguments (--master ... --class ... JAR args)
  ensure_spark_built
  local home="$ROOT/spark/target/spark-home" j
  if [ ! -d "$home/jars" ] || [ "$home/jars" -ot "$ROOT/spark/target/classpath.txt" ]; then
    rm -rf "$home"; mkdir -p "$home/jars"
    for j in $(tr ':' '\n' < "$ROOT/spark/target/dependency-classpath.txt" | grep -v -e /panama-rnn- -e /picocli- -e /protobuf-java-); do ln -s "$j" "$home/jars/"; done
  fi
  SPARK_HOME="$home" SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}" \
    "$JAVA_HOME/bin/java" "${SPARK_JVM_FLAGS[@]}" -Dlog4j2.configurationFile="$ROOT/spark/conf/log4j2.properties" \
    -cp "$home/jars/*" org.apache.spark.deploy.SparkSubmit --conf spark.ui.enabled=false "$@"
}

setup() {
  find_jdk
  ensure_maven
  ensure_openblas
}
