#!/usr/bin/env bash
# Quick start, command 2: set up with the test extras, check style, and run the whole test suite.
# PostgreSQL tests run when CMP_ADAPTER_TEST_POSTGRES_URL is set, or when a server answers on
# 127.0.0.1:5432 (database `test`, trust auth); otherwise they are skipped and SQLite is tested alone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test

if [ -z "${CMP_ADAPTER_TEST_POSTGRES_URL:-}" ] && \
   .venv/bin/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then
  export CMP_ADAPTER_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"
fi
echo "PostgreSQL tests: ${CMP_ADAPTER_TEST_POSTGRES_URL:-skipped (no server)}"

.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
