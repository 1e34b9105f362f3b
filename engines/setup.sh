#!/usr/bin/env bash
# Prepares `make test-engines` (engines/README.md): Java 17, the Python extra `engines`
# (pyspark and the Iceberg Spark runtime), Iceberg's shaded Jackson rebuilt from pyspark's own
# Jackson jars, and the sqlite JDBC driver. Idempotent: what is already there is left alone.
# Writes engines/jars/ (build output, git-ignored): the relocated Jackson jar and spark.env,
# which engines/conftest.py reads.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/engines/jars"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
UV="$VENV/bin/uv"
export UV_PROJECT_ENVIRONMENT="$VENV"

say() { printf 'engines/setup: %s\n' "$*"; }
die() { printf 'engines/setup: error: %s\n' "$*" >&2; exit 1; }

# ---- Debian packages -------------------------------------------------------------------------
java_is_17() {
    local v
    v="$("$1" -version 2>&1)" || return 1
    [[ $v =~ version\ \"17[.\"] ]]
}

ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
DEBIAN_JAVA_HOME="/usr/lib/jvm/java-17-openjdk-$ARCH"
JARJAR=/usr/share/java/jarjar.jar
SQLITE_JDBC=/usr/share/java/sqlite-jdbc.jar

missing=()
if command -v java >/dev/null && java_is_17 java; then
    :
elif [ -x "$DEBIAN_JAVA_HOME/bin/java" ] && java_is_17 "$DEBIAN_JAVA_HOME/bin/java"; then
    :
else
    missing+=(openjdk-17-jre-headless)
fi
[ -f "$JARJAR" ] || missing+=(libjarjar-java)
[ -f "$SQLITE_JDBC" ] || missing+=(libxerial-sqlite-jdbc-java)

if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null \
        || die "missing ${missing[*]} and there is no apt-get: install Java 17, jarjar and the sqlite JDBC driver by hand"
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "missing ${missing[*]}: run as root, or install them with apt-get"
        SUDO=(sudo)
    fi
    say "installing Debian packages: ${missing[*]}"
    # Slim images lack the man folders openjdk's postinst writes its alternatives into.
    "${SUDO[@]}" mkdir -p /usr/share/man/man1
    "${SUDO[@]}" apt-get update -qq || die "apt-get update failed (needed for: ${missing[*]})"
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
else
    say "Debian packages present: Java 17, libjarjar-java, libxerial-sqlite-jdbc-java"
fi

if command -v java >/dev/null && java_is_17 java; then
    JAVA_HOME_17="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
elif [ -x "$DEBIAN_JAVA_HOME/bin/java" ] && java_is_17 "$DEBIAN_JAVA_HOME/bin/java"; then
    JAVA_HOME_17="$DEBIAN_JAVA_HOME"
else
    die "no Java 17 after installing openjdk-17-jre-headless (java -version: $(java -version 2>&1 | head -1))"
fi
[ -f "$JARJAR" ] || die "$JARJAR missing after installing libjarjar-java"
[ -f "$SQLITE_JDBC" ] || die "$SQLITE_JDBC missing after installing libxerial-sqlite-jdbc-java"
say "Java 17: $JAVA_HOME_17"

# ---- Python: the `engines` extra -------------------------------------------------------------
[ -x "$UV" ] || die "$UV missing: create the venv first (make test does: python3.11 -m venv .venv && .venv/bin/pip install uv)"
(cd "$ROOT" && "$UV" sync --quiet --locked --inexact --compile-bytecode --extra test --extra engines) \
    || die "uv sync --extra engines failed (pyspark==3.5.9, snowpark-connect-deps-iceberg==1.0.3)"

read -r PYSPARK_VERSION PYSPARK_JARS ICEBERG_DIR < <("$PY" - <<'EOF'
import pathlib
import pyspark
import snowpark_connect_deps_iceberg as deps
print(pyspark.__version__, pathlib.Path(pyspark.__file__).parent / "jars",
      pathlib.Path(deps.__file__).parent / "jars")
EOF
) || die "pyspark or snowpark_connect_deps_iceberg cannot be imported from $VENV"
case "$PYSPARK_VERSION" in 3.5.*) ;; *) die "pyspark $PYSPARK_VERSION installed, 3.5.x expected";; esac

# The Scala version of the runtime jar must be pyspark's (3.5 ships Scala 2.12).
scala_lib="$(ls "$PYSPARK_JARS"/scala-library-*.jar 2>/dev/null | head -1 || true)"
[ -n "$scala_lib" ] || die "no scala-library jar in $PYSPARK_JARS"
SCALA="$(basename "$scala_lib" | sed -E 's/^scala-library-([0-9]+\.[0-9]+)\..*/\1/')"
ICEBERG_JAR="$(ls "$ICEBERG_DIR"/iceberg-spark-runtime-3.5_"$SCALA"-*.jar 2>/dev/null | sort | tail -1 || true)"
[ -n "$ICEBERG_JAR" ] || die "no iceberg-spark-runtime-3.5_$SCALA jar in $ICEBERG_DIR"
say "pyspark $PYSPARK_VERSION (Scala $SCALA); Iceberg runtime: $ICEBERG_JAR"

# ---- Iceberg's shaded Jackson, relocated from pyspark's Jackson ------------------------------
# The runtime jar in that package lacks org.apache.iceberg.shaded.com.fasterxml.jackson.*; the
# same classes are pyspark's Jackson under Iceberg's prefix. Multi-release and module entries
# are left out (jarjar 1.4 maps them onto the same names; the base classes suffice), and so are
# the service files (they name unrelocated classes).
JACKSON_VERSION="$(ls "$PYSPARK_JARS"/jackson-databind-*.jar 2>/dev/null \
    | sed -E 's/.*jackson-databind-(.*)\.jar/\1/' | head -1 || true)"
[ -n "$JACKSON_VERSION" ] || die "no jackson-databind jar in $PYSPARK_JARS"
inputs=()
for part in core databind annotations; do
    jar="$PYSPARK_JARS/jackson-$part-$JACKSON_VERSION.jar"
    [ -f "$jar" ] || die "$jar missing (pyspark's Jackson, relocated for Iceberg)"
    inputs+=("$jar")
done
JACKSON_JAR="$OUT/iceberg-shaded-jackson-$JACKSON_VERSION.jar"
mkdir -p "$OUT"
stale=0
[ -f "$JACKSON_JAR" ] || stale=1
for jar in "${inputs[@]}"; do if [ "$jar" -nt "$JACKSON_JAR" ]; then stale=1; fi; done
if [ "$stale" = 1 ]; then
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    "$PY" - "$work/merged.jar" "${inputs[@]}" <<'EOF'
import sys
import zipfile

out, *jars = sys.argv[1:]
seen = set()
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as merged:
    for jar in jars:
        with zipfile.ZipFile(jar) as z:
            for info in z.infolist():
                name = info.filename
                if (name in seen or name.endswith("/") or name.endswith("module-info.class")
                        or name.startswith(("META-INF/versions/", "META-INF/services/"))
                        or name == "META-INF/MANIFEST.MF"):
                    continue
                seen.add(name)
                merged.writestr(info, z.read(name))
EOF
    echo 'rule com.fasterxml.jackson.** org.apache.iceberg.shaded.com.fasterxml.jackson.@1' \
        > "$work/rules.txt"
    "$JAVA_HOME_17/bin/java" -jar "$JARJAR" process "$work/rules.txt" "$work/merged.jar" \
        "$work/relocated.jar" || die "jarjar could not relocate Jackson"
    "$PY" - "$work/relocated.jar" <<'EOF' || die "the relocated Jackson jar lacks ObjectMapper"
import sys
import zipfile

names = set(zipfile.ZipFile(sys.argv[1]).namelist())
sys.exit("org/apache/iceberg/shaded/com/fasterxml/jackson/databind/ObjectMapper.class"
         not in names)
EOF
    mv "$work/relocated.jar" "$JACKSON_JAR"
    say "built $JACKSON_JAR (Jackson $JACKSON_VERSION -> org.apache.iceberg.shaded.com.fasterxml.jackson)"
else
    say "relocated Jackson up to date: $JACKSON_JAR"
fi

# ---- what the tests read ---------------------------------------------------------------------
SQLITE_REAL="$(readlink -f "$SQLITE_JDBC")"
cat > "$OUT/spark.env" <<EOF
JAVA_HOME=$JAVA_HOME_17
ICEBERG_RUNTIME_JAR=$ICEBERG_JAR
ICEBERG_JACKSON_JAR=$JACKSON_JAR
SQLITE_JDBC_JAR=$SQLITE_REAL
SPARK_JARS=$ICEBERG_JAR,$JACKSON_JAR,$SQLITE_REAL
EOF
say "sqlite JDBC driver: $SQLITE_REAL"
say "wrote $OUT/spark.env; run: .venv/bin/python -m pytest -q engines/"
