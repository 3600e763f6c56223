#!/usr/bin/env bash
# Starts Lentera's demo: a synthetic province with synthetic households, served with the web
# map on http://127.0.0.1:8080/ (extra arguments go to `lentera demo`, e.g. --port 9000).
# Installs the web map's npm packages (MapLibre GL JS and the PMTiles reader, pinned by
# web/package-lock.json) first, and again when one of them is missing;
# installs npm itself with apt when it is missing and the script runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing npm for the web map"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  else
    echo "The web map needs npm: sudo apt-get install npm" >&2
    exit 1
  fi
fi
# The map's place names are drawn from DejaVu Sans (without it the map shows no names).
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core >/dev/null || true
fi
if [ ! -f web/node_modules/maplibre-gl/dist/maplibre-gl.js ] || [ ! -f web/node_modules/pmtiles/dist/pmtiles.js ]; then
  npm ci --prefix web --no-audit --no-fund
fi
exec cargo run --release -- demo "$@"
