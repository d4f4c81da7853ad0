#!/usr/bin/env bash
# README command 2: install the development dependencies and run the whole test suite.
# PostgreSQL when DATABASE_URL points at it (PostgreSQL-only tests skip on SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e ".[dev]"
# The stock Segment browser library the browser-client tests serve to Chromium (its lock file
# pins it); installed once, then the tests need no network.
if [ ! -d tests/api/segment/browser/node_modules ]; then
  (cd tests/api/segment/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

export DJANGO_DEBUG="${DJANGO_DEBUG:-true}"
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
