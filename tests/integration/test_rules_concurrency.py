"""Two claims for the same member-week written at the same moment, in real threads, cannot both pass.

Each claim bills two days of a week whose limit is three: alone each is valid, together they are not. The
write check takes the member's lock (``serialize_on``: a transaction-scoped advisory lock on PostgreSQL, the
database write lock on SQLite) before it counts, so the second transaction to reach the check sees the
first's committed claim and is refused.
"""

from __future__ import annotations

import copy
import threading
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from adapter.errors import Unprocessable
from adapter.services import resources
from adapter.services.container import Services
from tests.scenarios import loader
from tests.scenarios.generator import ScenarioSettings, generate

SMALL = generate(ScenarioSettings(seed=7, weeks=8))
MEMBER = "m-02001"
ROUNDS = 6


def _setup(services: Services) -> None:
    writes = [w for w in SMALL.accepted_writes() if w.res_type not in ("Encounter", "Claim")]
    for start in range(0, len(writes), 200):
        loader.write_in_transaction(services, writes[start:start + 200])


def _contact(day: date) -> dict:
    template = next(w.resource for w in SMALL.accepted_writes() if w.method == "PUT" and w.res_type == "Encounter"
                    and w.res_id.startswith(f"qc-{MEMBER}-") and w.resource["status"] == "finished")
    contact = copy.deepcopy(template)
    start = datetime.combine(day, time(12), tzinfo=ZoneInfo("America/Denver"))
    contact.update(id=f"qc-{MEMBER}-race-{day:%Y%m%d}", period={"start": start.isoformat()})
    contact["identifier"][0]["value"] = contact["id"]
    return contact


def _claim(claim_id: str, days: list[date]) -> dict:
    template = next(w.resource for w in SMALL.accepted_writes() if w.res_type == "Claim" and w.resource["patient"]
                    ["reference"] == f"Patient/{MEMBER}")
    claim = copy.deepcopy(template)
    item = template["item"][0]
    claim.update(id=claim_id, billablePeriod={"start": days[0].isoformat(), "end": days[-1].isoformat()},
                 item=[{**copy.deepcopy(item), "sequence": n, "servicedDate": day.isoformat(),
                        "encounter": [{"reference": f"Encounter/qc-{MEMBER}-race-{day:%Y%m%d}"}]}
                       for n, day in enumerate(days, 1)],
                 total={"value": Decimal(item["net"]["value"]) * len(days), "currency": "USD"})
    return claim


def test_concurrent_claims_for_one_member_week_do_not_both_pass(services: Services) -> None:
    _setup(services)
    outcomes = []
    for round_ in range(ROUNDS):
        week = SMALL.weeks[-1] + timedelta(days=7 * (round_ + 1))
        days = [week + timedelta(days=n) for n in range(1, 5)]
        for day in days:
            resources.update(services, "Encounter", _contact(day)["id"], _contact(day))
        claims = [_claim(f"clm-race-{round_}-a", days[:2]), _claim(f"clm-race-{round_}-b", days[2:])]
        barrier = threading.Barrier(len(claims))
        results: dict[str, str] = {}

        def write(claim: dict, results: dict[str, str] = results, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                resources.update(services, "Claim", claim["id"], claim)
                results[claim["id"]] = "stored"
            except Unprocessable as error:
                results[claim["id"]] = ",".join(sorted({i.rule_id for i in error.issues if i.rule_id}))

        threads = [threading.Thread(target=write, args=(claim,)) for claim in claims]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        outcomes.append(sorted(results.values()))
    assert outcomes == [["CMP-BILL-2", "stored"]] * ROUNDS
