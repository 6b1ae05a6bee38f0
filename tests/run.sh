#!/usr/bin/env bash
# Set up (virtualenv + editable install with every extra) and run the whole test suite, then
# type-check lakepkg/ with mypy (config in pyproject.toml); exits non-zero if either fails.
# Starts the local PostgreSQL and MariaDB servers when they are down.
# mypy runs after a whole-suite run (no test paths given); LAKEPKG_MYPY=1 forces it, =0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c 'import lakepkg, lakepkg_connectors, pyspark_lakepkg, pyspark, moto' # fail early on a broken install
# an editable install has no bytecode, and with PYTHONDONTWRITEBYTECODE set every process (each CLI
# test, each Spark worker) compiled lakepkg's ~430 KB of source again: compile it once, as pip does
# for a wheel (a stale .pyc is never used: Python checks each source's mtime)
.venv/bin/python -m compileall -q lakepkg connectors spark_jobs >/dev/null

# the catalog's browser tests drive Debian's Chromium (never a downloaded browser); a missing one fails loudly
if [ ! -x /usr/bin/chromium ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "tests/run.sh: installing Debian's chromium for the catalog's browser tests"
  $sudo apt-get install -y -q chromium >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium >/dev/null; } \
    || { echo "tests/run.sh: cannot install chromium (apt-get install -y chromium); tests/test_catalog_browser.py needs /usr/bin/chromium" >&2; exit 1; }
fi

if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if [ -x /usr/sbin/mariadbd ] && ! (echo > /dev/tcp/127.0.0.1/3306) 2>/dev/null; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  for _ in $(seq 1 30); do (echo > /dev/tcp/127.0.0.1/3306) 2>/dev/null && break; sleep 1; done
fi
export LAKEPKG_NO_PROGRESS=1
run_mypy=1
for arg in "$@"; do
  case "$arg" in -*) ;; *) run_mypy=0 ;; esac  # a test path or node id: a targeted run
done
run_mypy=${LAKEPKG_MYPY:-$run_mypy}
rc=0
.venv/bin/python -m pytest "$@" || rc=$?
if [ "$run_mypy" = 1 ]; then
  echo "mypy lakepkg"
  .venv/bin/python -m mypy lakepkg || rc=$((rc == 0 ? 1 : rc))
fi
exit "$rc"
