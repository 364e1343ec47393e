#!/usr/bin/env bash
# Set up a working copy: a virtualenv in .venv with the adapter installed (editable), and the FHIR R4
# definitions (hl7.fhir.r4.examples@4.0.1, via `npm pack`) in the FHIR package cache.
# Usage: scripts/setup.sh [extra]   e.g. `scripts/setup.sh test` installs the test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
extra=${1:-postgres}

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[${extra}]"

if ! command -v npm >/dev/null 2>&1; then
  echo "npm (Node.js) is needed once, to fetch the FHIR R4 definitions package; install it (apt-get install npm)" >&2
  exit 1
fi
.venv/bin/cmp-adapter packages install hl7.fhir.r4.examples@4.0.1
