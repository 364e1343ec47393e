"""In-process cost of the audit trail per read: the same read with the trail off, synchronous
(``audit_flush_ms=0``) and spooled (``audit_flush_ms=200``, the time of the final flush included).

Flask test client, one thread, SQLite; five alternating rounds of 300 reads, medians printed.

    python benchmarks/audit_cost.py

A measurement, not a test (docs/performance.md, "Audit").
"""

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from adapter.app import create_app

HEADERS = {"Content-Type": "application/fhir+json"}
READS = 300


def app_for(audit: bool, flush_ms: int):
    app = create_app({"data_dir": tempfile.mkdtemp(), "audit": audit, "audit_flush_ms": flush_ms})
    client = app.test_client()
    client.put("/fhir/Patient/p1", data=json.dumps({"resourceType": "Patient", "id": "p1"}), headers=HEADERS)
    return app, client


def main() -> None:
    modes = {(False, 0): app_for(False, 0), (True, 0): app_for(True, 0), (True, 200): app_for(True, 200)}
    timings: dict = {mode: [] for mode in modes}
    for _ in range(5):
        for mode, (app, client) in modes.items():
            queue = app.extensions.get("cmp_audit_queue")
            started = time.perf_counter()
            for _ in range(READS):
                client.get("/fhir/Patient/p1")
            if queue is not None:
                queue.flush()
            timings[mode].append((time.perf_counter() - started) / READS * 1000)
    for (audit, flush_ms), runs in timings.items():
        print(f"audit={audit} audit_flush_ms={flush_ms}: median {statistics.median(runs):.2f} ms/read "
              f"(rounds {[round(r, 2) for r in runs]})")


if __name__ == "__main__":
    main()
