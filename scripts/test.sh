#!/usr/bin/env bash
# `make test`: start a throwaway Neo4j in its own home, run pytest against it, stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export UNFRAGILE_HOME="${UNFRAGILE_TEST_HOME:-$PWD/.unfragile/test-home}"
unfragile=.venv/bin/unfragile

# tests/test_web.py drives a real headless Chromium; on a clean Debian machine, install it.
if { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; } \
   && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
fi

if [ -z "${NEO4J_URI:-}" ]; then
  # A fresh home each run, so no test depends on what an earlier run left.
  "$unfragile" db stop >/dev/null 2>&1 || true
  rm -rf "$UNFRAGILE_HOME"
  # With Neo4j Browser, so tests/test_neo4j_browser.py uses this server rather than starting
  # one of its own (a Neo4j start is the slowest step of that file).
  "$unfragile" db start --browser
  trap '"$unfragile" db stop' EXIT
fi
.venv/bin/python -m pytest "$@"
