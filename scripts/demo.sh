#!/usr/bin/env bash
# Quick start, command 1: set up, load the example data, and serve the FHIR API at http://127.0.0.1:8080/fhir.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh postgres
ig=()  # the IG's conformance resources (profiles, OperationDefinitions, ...), so GET /fhir/OperationDefinition/import-cmp answers
for file in profiles/*-*.json; do ig+=(--load "$file"); done
# Authorization (SMART Backend Services) is on by default. This demo serves localhost only, so it turns it
# off there unless told otherwise (the server then logs a WARNING and says so in its CapabilityStatement).
# On any other HOST it stays on: register clients with `cmp-adapter clients add` (docs/security.md).
if [[ "${HOST:-127.0.0.1}" == "127.0.0.1" || "${HOST:-127.0.0.1}" == "localhost" ]]; then
  export CMP_ADAPTER_AUTH="${CMP_ADAPTER_AUTH:-off}"
fi
exec .venv/bin/cmp-adapter serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8080}" \
  --load examples/fhir/valid --load mappings/conceptmaps "${ig[@]}"
