"""Subscriptions under gunicorn: what a subscriber costs the writer, and how soon notifications arrive.

Starts ``cmp-adapter serve --workers 2`` on 127.0.0.1 with a fresh SQLite database (or ``--database-url``)
and a notification receiver on 127.0.0.1, then writes shared care plans one after another (``POST
CarePlan``, full validation) in three phases: no subscription; a subscription to shared care plans with a
fast receiver; the same with a receiver that takes ``--slow-seconds`` to answer. Reports write latency per
phase and, for the fast receiver, the delay from a write's response to its notification's arrival.

    python benchmarks/subscription_delivery.py --writes 200

This is a measurement, not a test: it prints figures for docs/performance.md and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.integration.hook_receiver import Receiver, hook_receiver
from tests.integration.live_server import running_server

REPO = Path(__file__).resolve().parent.parent
FHIR_JSON = {"Content-Type": "application/fhir+json", "Prefer": "return=minimal"}


def shared_care_plan() -> dict:
    plan = json.loads((REPO / "examples" / "fhir" / "valid" / "CarePlan-scp-m-101.json").read_text())
    del plan["id"]
    return plan


def writes(session: requests.Session, base: str, count: int) -> tuple[list[float], dict[str, float]]:
    """Latencies (s) and, per created id, the monotonic time its response arrived."""
    body = json.dumps(shared_care_plan())
    latencies, done = [], {}
    for _ in range(count):
        started = time.monotonic()
        response = session.post(f"{base}/CarePlan", data=body, headers=FHIR_JSON, timeout=30)
        finished = time.monotonic()
        response.raise_for_status()
        latencies.append(finished - started)
        done[response.headers["Location"].split("/CarePlan/")[1].split("/")[0]] = finished
    return latencies, done


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(name: str, latencies: list[float]) -> None:
    print(f"| {name} | {statistics.median(latencies) * 1000:.1f} ms | {percentile(latencies, 0.99) * 1000:.1f} ms "
          f"| {max(latencies) * 1000:.1f} ms |")


def subscribe(session: requests.Session, base: str, receiver: Receiver) -> None:
    body = json.loads((REPO / "examples" / "subscriptions" / "shared-care-plans.json").read_text())
    body["channel"]["endpoint"] = receiver.url
    session.post(f"{base}/Subscription", data=json.dumps(body), headers=FHIR_JSON, timeout=30).raise_for_status()


@contextmanager
def separate_worker(env: dict[str, str], wanted: bool) -> Iterator[None]:
    if not wanted:
        yield
        return
    process = subprocess.Popen([sys.executable, "-m", "adapter.cli", "subscriptions-worker"],
                               env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--slow-seconds", type=float, default=5.0)
    parser.add_argument("--poll-ms", type=int, default=1000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--separate-worker", action="store_true",
                        help="serve with CMP_ADAPTER_SUBSCRIPTION_WORKER=false and run `cmp-adapter "
                             "subscriptions-worker` as its own process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir, hook_receiver() as fast, hook_receiver() as slow:
        slow.delay = args.slow_seconds
        # one member's shared plan is written again and again: the one-plan rule (SCP-1) would refuse it
        env = {"CMP_ADAPTER_DATA_DIR": data_dir, "CMP_ADAPTER_SUBSCRIPTION_POLL_MS": str(args.poll_ms),
               "CMP_ADAPTER_RULE_ENFORCEMENT": "SCP-1=off,SCP-2=off,SCP-5=off"}
        if args.database_url:
            env["CMP_ADAPTER_DATABASE_URL"] = args.database_url
        if args.separate_worker:
            env["CMP_ADAPTER_SUBSCRIPTION_WORKER"] = "false"
        with running_server(env) as base, requests.Session() as session, separate_worker(env, args.separate_worker):
            writes(session, base, 20)  # warm-up
            where = "its own process" if args.separate_worker else "a thread of each server process"
            print(f"{args.writes} sequential POST CarePlan (shared care plan, validated), poll {args.poll_ms} ms, "
                  f"worker in {where}\n")
            print("| phase | p50 | p99 | max |\n|---|---|---|---|")
            report("no subscription", writes(session, base, args.writes)[0])
            subscribe(session, base, fast)
            time.sleep(args.poll_ms / 1000 * 2)
            latencies, done = writes(session, base, args.writes)
            report("one subscriber, fast receiver", latencies)
            received = fast.wait_for(args.writes, timeout=120)
            arrival = {r.path.rsplit("/", 1)[1]: r.at for r in received}
            delays = [arrival[res_id] - at for res_id, at in done.items() if res_id in arrival]
            slow_sub_started = time.monotonic()
            subscribe(session, base, slow)
            time.sleep(args.poll_ms / 1000 * 2)
            report(f"+ a receiver taking {args.slow_seconds:g} s", writes(session, base, args.writes)[0])
            print(f"\nnotifications received (fast receiver): {len(received)} of {args.writes}; "
                  f"write response → notification: p50 {statistics.median(delays) * 1000:.0f} ms, "
                  f"p99 {percentile(delays, 0.99) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms")
            print(f"slow receiver got {len(slow.received)} requests in "
                  f"{time.monotonic() - slow_sub_started:.1f} s")


if __name__ == "__main__":
    main()
