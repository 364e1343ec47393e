"""What authorization costs per request: read and search with auth off, on, and on for a client restricted to
one organization (half of the members), under gunicorn, driven by ``wrk``.

    python benchmarks/auth_overhead.py --patients 1000 --encounters 5000 --duration 10

This is a measurement, not a test: it prints figures for docs/performance.md and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.http_load import LUA, encounter, patient, run_wrk
from tests.integration.live_server import running_server

FHIR_JSON = "application/fhir+json"
SCOPE = "system/*.cruds"


def member(n: int) -> dict:
    """Even-numbered patients are members of Organization/team-a."""
    resource = patient(n)
    if n % 2 == 0:
        resource["managingOrganization"] = {"reference": "Organization/team-a"}
    return resource


def load(base: str, patients: int, encounters: int, headers: dict[str, str]) -> None:
    session = requests.Session()
    resources = ([{"resourceType": "Organization", "id": "team-a", "name": "Team A"}]
                 + [member(n) for n in range(patients)] + [encounter(n, patients) for n in range(encounters)])
    for start in range(0, len(resources), 500):
        bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources[start:start + 500]]}
        session.post(base, json=bundle, headers={"Content-Type": FHIR_JSON, **headers}, timeout=600).raise_for_status()


def cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "adapter.cli", *args], env={**os.environ, **env}, check=True,
                   capture_output=True)


def token(base: str, client_id: str, key_file: Path) -> str:
    from adapter.client import BackendServicesCredentials

    return BackendServicesCredentials(base, client_id, key_file.read_bytes(), scope=SCOPE)()


def measure(base: str, label: str, args: argparse.Namespace, bearer: str | None) -> None:
    header = f'wrk.headers["Authorization"] = "Bearer {bearer}"\n' if bearer else ""
    for kind in ("read", "search"):
        result = run_wrk(base, kind, header + LUA[kind].format(patients=args.patients), args.duration,
                         args.connections)
        print(json.dumps({"auth": label, **result}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--encounters", type=int, default=5000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    print(f"# {platform.node()} {os.cpu_count()} cores, python {platform.python_version()}; {args.patients} "
          f"patients, {args.encounters} encounters; {args.workers} gunicorn workers; SQLite; "
          f"wrk -t2 -c{args.connections} -d{args.duration}s")
    with tempfile.TemporaryDirectory(prefix="cmp-auth-bench-") as folder:
        env = {"CMP_ADAPTER_DATA_DIR": str(Path(folder) / "off")}
        with running_server(env, workers=args.workers) as base:
            load(base, args.patients, args.encounters, {})
            measure(base, "off", args, None)
        env = {"CMP_ADAPTER_DATA_DIR": str(Path(folder) / "on"), "CMP_ADAPTER_AUTH": "on",
               "CMP_ADAPTER_AUTH_TOKEN_LIFETIME": "3600"}
        key, jwks = Path(folder) / "key.pem", Path(folder) / "jwks.json"
        cli(env, "clients", "keygen", "--private-key", str(key), "--jwks", str(jwks))
        cli(env, "clients", "add", "--id", "all", "--jwks", str(jwks), "--scope", SCOPE)
        cli(env, "clients", "add", "--id", "team-a", "--jwks", str(jwks), "--scope", SCOPE,
            "--organization", "Organization/team-a")
        with running_server(env, workers=args.workers) as base:
            unrestricted = token(base, "all", key)
            load(base, args.patients, args.encounters, {"Authorization": f"Bearer {unrestricted}"})
            measure(base, "on", args, unrestricted)
            measure(base, "on, restricted to one organization", args, token(base, "team-a", key))


if __name__ == "__main__":
    main()
