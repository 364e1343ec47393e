"""HTTP throughput of the FHIR server under gunicorn: read, search, create, update.

Starts ``cmp-adapter serve --workers 2`` on 127.0.0.1 with a fresh SQLite database (or
``--database-url``), loads N Patients and M Encounters, then drives each interaction with ``wrk`` (Debian
package ``wrk``) from a separate process and reports requests/s and p50/p99 latency.

    python benchmarks/http_load.py --patients 2000 --encounters 10000 --duration 15

This is a measurement, not a test: it prints figures for docs/performance.md and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.integration.live_server import running_server

FHIR_JSON = "application/fhir+json"


def patient(n: int) -> dict:
    return {"resourceType": "Patient", "id": f"bench-{n}",
            "identifier": [{"system": "https://medicaid.mt.gov/fhir/member-id", "value": f"MT{n:08d}"}],
            "name": [{"family": f"Family{n % 997}", "given": [f"Given{n}", "Q"]}], "gender": "female",
            "birthDate": f"19{50 + n % 50}-0{1 + n % 9}-1{n % 10}",
            "address": [{"line": [f"{n} Main St"], "city": "Billings", "state": "MT", "postalCode": "59101"}],
            "telecom": [{"system": "phone", "value": f"406-555-{n % 10000:04d}"}]}


def encounter(n: int, patients: int) -> dict:
    day = 1 + n % 28
    return {"resourceType": "Encounter", "id": f"enc-{n}", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "type": [{"coding": [{"system": "https://cmp-adapter.org/fhir/CodeSystem/contact-type",
                                  "code": "quality-contact"}]}],
            "subject": {"reference": f"Patient/bench-{n % patients}"},
            "period": {"start": f"2026-10-{day:02d}T10:00:00-06:00", "end": f"2026-10-{day:02d}T10:45:00-06:00"}}


def four_kb_patient() -> dict:
    """A realistic Patient of about 4 KB: identifiers, names, contacts, addresses and a narrative."""
    resource = patient(0)
    resource.pop("id")
    resource["text"] = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>'
                        + "Member of the Billings PACT team since 2024; prefers telehealth contacts. " * 26
                        + "</p></div>"}
    resource["identifier"] += [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "123-45-6789"},
                               {"system": "urn:oid:2.16.840.1.113883.3.4.5", "value": "MRN-0042"}]
    resource["name"].append({"use": "maiden", "family": "Oldname", "given": ["Given0"]})
    resource["telecom"] += [{"system": "email", "value": "member0@example.org", "use": "home"},
                            {"system": "phone", "value": "406-555-0199", "use": "mobile", "rank": 1}]
    resource["address"].append({"use": "old", "line": ["77 Old Rd", "Apt 3"], "city": "Laurel", "state": "MT",
                                "postalCode": "59044", "period": {"end": "2024-02-01"}})
    resource["maritalStatus"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
                                             "code": "S"}]}
    resource["contact"] = [{"relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131",
                                                          "code": "N"}]}],
                            "name": {"family": f"Contact{n}", "given": ["Kin"]},
                            "telecom": [{"system": "phone", "value": f"406-555-01{n}0"}],
                            "address": {"line": [f"{n} Side St"], "city": "Billings", "state": "MT"}}
                           for n in range(3)]
    resource["communication"] = [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-US"}]},
                                  "preferred": True}]
    resource["managingOrganization"] = {"reference": "Organization/pact-billings"}
    return resource


def extension_heavy_patient() -> dict:
    """About 5 KB, mostly 40 extensions no loaded package defines: each is checked and warned about."""
    resource = patient(0)
    resource.pop("id")
    resource["extension"] = [{"url": f"https://example.org/ext/{i}", "valueString": "x" * 60} for i in range(40)]
    return resource


def load(base: str, patients: int, encounters: int) -> None:
    session = requests.Session()
    resources = [patient(n) for n in range(patients)] + [encounter(n, patients) for n in range(encounters)]
    for start in range(0, len(resources), 500):
        chunk = resources[start:start + 500]
        bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in chunk]}
        response = session.post(base, json=bundle, headers={"Content-Type": FHIR_JSON}, timeout=600)
        response.raise_for_status()


LUA = {
    "read": """
        counter = 0
        request = function()
          counter = counter + 1
          return wrk.format("GET", "/fhir/Patient/bench-" .. (counter * 7919 % {patients}))
        end""",
    "search": """
        counter = 0
        request = function()
          counter = counter + 1
          local subject = "Patient/bench-" .. (counter * 7919 % {patients})
          return wrk.format("GET", "/fhir/Encounter?subject=" .. subject .. "&_count=50")
        end""",
    "create": """
        wrk.method = "POST"
        wrk.path = "/fhir/Patient"
        wrk.headers["Content-Type"] = "application/fhir+json"
        wrk.headers["Prefer"] = "return=minimal"
        wrk.body = [[{body}]]""",
    "update": """
        counter = 0
        body = [[{body}]]
        request = function()
          counter = counter + 1
          local id = "bench-" .. (counter * 7919 % {patients})
          local b = string.gsub(body, "__ID__", id)
          return wrk.format("PUT", "/fhir/Patient/" .. id,
                            {{["Content-Type"] = "application/fhir+json", ["Prefer"] = "return=minimal"}}, b)
        end""",
}


def run_wrk(base: str, kind: str, script: str, duration: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(textwrap.dedent(script))
    root = base.rsplit("/fhir", 1)[0]
    output = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", handle.name,
                             root], capture_output=True, text=True, check=True).stdout
    os.unlink(handle.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"interaction": kind, "rps": round(rps), "p50": latency.get("50"), "p99": latency.get("99"),
            "non_2xx": int(errors.group(1)) if errors else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--encounters", type=int, default=10000)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--body", choices=("realistic", "extensions"), default="realistic",
                        help="the 4 KB write body: a realistic Patient, or one made of 40 unknown extensions")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    data_dir = Path(tempfile.mkdtemp(prefix="cmp-bench-"))
    env = {"CMP_ADAPTER_DATA_DIR": str(data_dir)}
    if args.database_url:
        env["CMP_ADAPTER_DATABASE_URL"] = args.database_url
    make_body = four_kb_patient if args.body == "realistic" else extension_heavy_patient
    body_4k = json.dumps(make_body())
    update_body = json.dumps({**make_body(), "id": "__ID__"})
    print(f"# {platform.node()} {os.cpu_count()} cores, python {platform.python_version()}; {args.body} write body "
          f"= {len(body_4k)} bytes; {args.patients} patients, {args.encounters} encounters; "
          f"{args.workers} gunicorn workers; wrk -t2 -c{args.connections} -d{args.duration}s")
    with running_server(env, workers=args.workers) as base:
        load(base, args.patients, args.encounters)
        results = []
        for kind in ("read", "search", "create", "update"):
            script = LUA[kind].format(patients=args.patients, body=body_4k if kind == "create" else update_body)
            results.append(run_wrk(base, kind, script, args.duration, args.connections))
            print(json.dumps(results[-1]))
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
