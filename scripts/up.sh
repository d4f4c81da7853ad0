#!/usr/bin/env bash
# README command 1: set up and start the whole product on embedded defaults (SQLite, a
# filesystem Celery broker), with demo data; prints the admin URL and a login.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${ONEFOLD_PORT:-8000}"
PYTHON="${PYTHON:-python3}"
ADMIN_OPTIONS=()
for arg in "$@"; do
  case "$arg" in
    --new-password) ADMIN_OPTIONS+=(--new-password) ;;
    *) echo "usage: bash scripts/up.sh [--new-password]" >&2; exit 2 ;;
  esac
done

port_is_free() {
  "$PYTHON" -c 'import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$PORT"
}
if ! port_is_free; then
  echo "Port ${PORT} is already in use (another Onefold, or another server)." >&2
  echo "Stop it, or choose another port: ONEFOLD_PORT=8001 bash scripts/up.sh" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> Creating the virtualenv (.venv)"
  "$PYTHON" -m venv .venv
fi
echo "==> Installing Onefold and its dependencies"
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e .

if [ ! -f .env ]; then
  echo "==> Writing .env (debug mode, a fresh random secret key)"
  secret=$(.venv/bin/python -c "import secrets; print(secrets.token_urlsafe(50))")
  printf 'DJANGO_DEBUG=true\nDJANGO_SECRET_KEY=%s\n' "$secret" > .env
fi

manage() { .venv/bin/python manage.py "$@"; }
echo "==> Migrating the database"
manage migrate --noinput
echo "==> Seeding demo data (skipped if people already exist)"
manage seed_demo --if-empty
login=$(manage create_demo_admin "${ADMIN_OPTIONS[@]}")

DATA_DIR=$(.venv/bin/python -c 'from crm.settings import DATA_DIR; print(DATA_DIR)')
mkdir -p "$DATA_DIR/log"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

echo "==> Starting a Celery worker and beat (logs in $DATA_DIR/log/)"
.venv/bin/celery -A crm worker --pool=solo --loglevel=INFO >"$DATA_DIR/log/worker.log" 2>&1 &
pids+=($!)
.venv/bin/celery -A crm beat --loglevel=INFO >"$DATA_DIR/log/beat.log" 2>&1 &
pids+=($!)

cat <<MSG

  Onefold is starting.
  Admin:     http://127.0.0.1:${PORT}/admin/
  ${login}
  Demo shop: http://127.0.0.1:${PORT}/demo/
  Stop with Ctrl-C.

MSG
# Started directly (not through the manage function) so that $! is the server itself and
# the cleanup above stops it.
.venv/bin/python manage.py runserver "127.0.0.1:${PORT}" --noreload &
pids+=($!)
wait "${pids[-1]}"
