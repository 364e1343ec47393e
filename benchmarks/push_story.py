"""``cmp-adapter push`` of the example story to a real server over HTTP, and ``sandbox-check`` of it.

Starts ``cmp-adapter serve`` (gunicorn, 2 workers) on 127.0.0.1 with a fresh database (SQLite, or
``--database-url``) and the IG's validate-on-write policy, then runs the two commands an integration
engineer runs against a sandbox, through the real CLI in a separate process, several times:

    python benchmarks/push_story.py --runs 3 [--batch-size 100] [--database-url postgresql+psycopg://...]

The first push creates every resource; later pushes update them (conditional and id-based entries), which
is what a nightly re-sync does. ``--base URL`` skips the local server and measures against any server.
This is a measurement, not a test: it prints figures for docs/performance.md and exits 0.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.integration.live_server import running_server

REPO = Path(__file__).resolve().parent.parent
STORY = REPO / "examples" / "fhir" / "valid"


def timed_cli(*args: str) -> tuple[float, str]:
    """Run ``cmp-adapter ARGS`` in its own process; return the wall time and its last output line."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "adapter.cli", *args], capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        output = done.stdout[-2000:] + done.stderr[-2000:]
        raise SystemExit(f"cmp-adapter {args[0]} failed ({done.returncode}):\n{output}")
    return elapsed, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--base", default="", help="measure against this FHIR base URL instead of a local server")
    args = parser.parse_args()
    files = sorted(STORY.glob("*.json"))
    print(f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{len(files)} resources in {STORY.relative_to(REPO)}, batch size {args.batch_size}")
    with tempfile.TemporaryDirectory() as data:
        env = {"CMP_ADAPTER_DATA_DIR": data, "CMP_ADAPTER_AUTH": "off"}
        if args.database_url:
            env["CMP_ADAPTER_DATABASE_URL"] = args.database_url
        server = nullcontext(args.base) if args.base else running_server(env)
        with server as base:
            print(f"server {base} ({'SQLite' if not args.database_url else args.database_url.split(':')[0]})")
            for run in range(1, args.runs + 1):
                seconds, summary = timed_cli("push", "--to", base, "--batch-size", str(args.batch_size), str(STORY))
                print(f"push run {run}: {seconds:6.2f} s, {len(files) / seconds:7.1f} resources/s  ({summary})")
            seconds, summary = timed_cli("sandbox-check", "--base", base, "--examples", str(STORY))
            print(f"sandbox-check: {seconds:6.2f} s, {len(files) / seconds:7.1f} resources/s  ({summary})")


if __name__ == "__main__":
    main()
