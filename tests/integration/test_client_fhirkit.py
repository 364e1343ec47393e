"""Conformance with a Node client nobody here wrote: fhir-kit-client (from the npm registry).

A Node script drives the same server as ``test_client.py`` (this adapter on 127.0.0.1, or
``CMP_ADAPTER_SANDBOX_URL``) through capabilities, CRUD with a stale ``If-Match``, a transaction, search
paging with ``nextPage``, ``_include``, ``$validate`` and delete, and prints what it saw as JSON. The
package is installed once (pinned) into pytest's cache folder; the test is skipped where there is no npm.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.integration.test_client import sandbox_url  # noqa: F401  (the fixture)

FHIR_KIT_CLIENT = "fhir-kit-client@2.0.3"

SCENARIO = r"""
import { Client } from 'fhir-kit-client';

const [, , baseUrl, family] = process.argv;
const client = new Client({ baseUrl });
const out = {};
const status = async (call) => { try { await call(); return 'ok'; } catch (e) {
  return { status: e.response?.status, resourceType: e.response?.data?.resourceType }; } };

out.fhirVersion = (await client.capabilityStatement()).fhirVersion;

const created = await client.create({ resourceType: 'Patient',
  body: { resourceType: 'Patient', name: [{ family }], gender: 'female' } });
const read = await client.read({ resourceType: 'Patient', id: created.id });
const updated = await client.update({ resourceType: 'Patient', id: created.id, body: { ...read, gender: 'male' } });
out.versions = [created.meta.versionId, updated.meta.versionId];
out.firstGender = (await client.vread({ resourceType: 'Patient', id: created.id,
  version: created.meta.versionId })).gender;
out.stale = await status(() => client.update({ resourceType: 'Patient', id: created.id,
  body: { ...read, gender: 'other' }, options: { headers: { 'If-Match': `W/"${created.meta.versionId}"` } } }));

const entry = [...Array(5).keys()].map((n) => ({ resource: { resourceType: 'Practitioner',
  name: [{ family, given: [String(n)] }] }, request: { method: 'POST', url: 'Practitioner' } }));
entry.push({ resource: { resourceType: 'Encounter', status: 'finished',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
  subject: { reference: `Patient/${created.id}` } }, request: { method: 'POST', url: 'Encounter' } });
const tx = await client.transaction({ body: { resourceType: 'Bundle', type: 'transaction', entry } });
out.transaction = [tx.type, ...tx.entry.map((e) => e.response.status.slice(0, 3))];

let page = await client.search({ resourceType: 'Practitioner', searchParams: { family, _count: 2 } });
out.pages = 0; out.found = [];
while (page) {
  out.pages += 1;
  out.found.push(...(page.entry ?? []).map((e) => e.resource.name[0].given[0]));
  page = await client.nextPage({ bundle: page });
}

const encounterId = tx.entry[5].response.location.split('/')[1];
const included = await client.search({ resourceType: 'Encounter',
  searchParams: { _id: encounterId, _include: 'Encounter:subject' } });
out.include = included.entry.map((e) => `${e.resource.resourceType}:${e.search.mode}`).sort();

const invalid = { resourceType: 'Patient', gender: 'x' };
const outcome = await client.operation({ resourceType: 'Patient', name: '$validate',
  input: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: invalid }] } });
out.validate = [outcome.resourceType, outcome.issue.some((i) => i.severity === 'error')];

await client.delete({ resourceType: 'Patient', id: created.id });
out.afterDelete = await status(() => client.read({ resourceType: 'Patient', id: created.id }));
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def fhir_kit_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with fhir-kit-client installed, reused across runs when pytest's cache is on."""
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        pytest.skip("node and npm are needed for the fhir-kit-client conformance test")
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("fhir-kit-client") if cache else tmp_path_factory.mktemp("fhir-kit-client")
    if not (folder / "node_modules" / "fhir-kit-client" / "package.json").is_file():
        installed = subprocess.run([npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund",
                                    "--loglevel=error", FHIR_KIT_CLIENT], capture_output=True, text=True,
                                   timeout=300, check=False)
        assert installed.returncode == 0, f"npm install {FHIR_KIT_CLIENT} failed:\n{installed.stderr[-2000:]}"
    (folder / "scenario.mjs").write_text(SCENARIO)
    return folder


def test_fhir_kit_client_round_trip(sandbox_url, fhir_kit_dir):  # noqa: F811
    family = "Zz" + uuid.uuid4().hex[:10]
    run = subprocess.run(["node", str(fhir_kit_dir / "scenario.mjs"), sandbox_url, family], capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["fhirVersion"].startswith("4.0")
    assert seen["versions"][0] != seen["versions"][1] and seen["firstGender"] == "female"
    assert seen["stale"]["status"] in (409, 412) and seen["stale"]["resourceType"] == "OperationOutcome"
    assert seen["transaction"] == ["transaction-response"] + ["201"] * 6
    assert seen["pages"] == 3 and sorted(seen["found"]) == ["0", "1", "2", "3", "4"]
    assert seen["include"] == ["Encounter:match", "Patient:include"]
    assert seen["validate"] == ["OperationOutcome", True]
    assert seen["afterDelete"]["status"] == 410
