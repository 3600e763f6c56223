#!/usr/bin/env bash
# Runs all of Lentera's tests. Installs what the tests need when it is missing and the script
# runs as root (PostGIS for the throwaway test cluster, GDAL as the independent reader, npm and
# Chromium for the web map's browser test);
# otherwise says exactly what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
pg_version=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1 || true)
pg_version=${pg_version:-15}
[ -x "/usr/lib/postgresql/$pg_version/bin/initdb" ] || need+=("postgresql-$pg_version")
[ -f "/usr/share/postgresql/$pg_version/extension/postgis.control" ] || need+=("postgresql-$pg_version-postgis-3")
command -v ogr2ogr >/dev/null 2>&1 || need+=("gdal-bin")
command -v pdftotext >/dev/null 2>&1 || need+=("poppler-utils")
command -v npm >/dev/null 2>&1 || need+=("npm")
[ -x /usr/bin/chromium ] || need+=("chromium")
# The map's place names are drawn from DejaVu Sans.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=("fonts-dejavu-core")

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing test dependencies: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "Missing test dependencies: ${need[*]}" >&2
    echo "Install them with: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
fi

export LENTERA_SHARED_DATA=${LENTERA_SHARED_DATA:-$(pwd)/../shared/data}
if [ ! -f "$LENTERA_SHARED_DATA/kaltim/desa.geojson" ]; then
  echo "Reference data not found in $LENTERA_SHARED_DATA: set LENTERA_SHARED_DATA to the folder holding kaltim/" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test "$@" 2>&1 | tee "$log" || status=$?
# One closing line over all test binaries and doc tests.
awk '/^test result:/ { p += $4; f += $6 } END { printf "lentera tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
