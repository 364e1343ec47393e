#!/usr/bin/env python3
"""Write ``examples/cmp/claims.x12``: the story's CMP per-diem claims (``examples/cmp/claim.json``) as one
005010X222A1 837P interchange, deterministically (the envelope below is fixed; nothing reads the clock).

The 837P needs parties the claim records only name: the billing team's NPI and address come from
``examples/cmp/team.json``, the member's Medicaid id, name, birth date, gender and address from
``examples/cmp/member.json``, the teams' tax ids (EINs) from ``team.json``. The payer's 837P name and payer
id (``PAYERS``) are not in any record: they are the ``alias`` and NIIP identifier of the payer Organization
of the FHIR story (``examples/fhir/valid/Organization-mt-medicaid.json``), repeated here. The care-management fee
claims (Connecticut PCCM/PCMH) are not per-diem claims and are left out (see ``mappings/x12_837p.py``).

Usage::

    python scripts/make_cmp_x12.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mappings.claim import ClaimRecord  # noqa: E402
from mappings.x12_837p import Address, Envelope, Member, Parties, Payer, Provider, claims_to_837p  # noqa: E402

CMP = REPO / "examples" / "cmp"
OUT = CMP / "claims.x12"
ENVELOPE = Envelope(
    sender_id="CMPADAPTER", receiver_id="MTMEDICAID", control_number=1, date=date(2026, 3, 2), time="0900",
    submitter_name="CMP FHIR ADAPTER", submitter_contact="BILLING OFFICE", submitter_phone="4065550100",
    receiver_name="MONTANA MEDICAID", usage="T")
PAYERS = (Payer("mt-medicaid", "MONTANA MEDICAID", "MTMEDICAID"),)


def _read(kind: str) -> list[dict]:
    return json.loads((CMP / f"{kind}.json").read_text(encoding="utf-8"))


def parties() -> Parties:
    """The teams, members and payer of the story, as the 837P names them."""
    teams = tuple(
        Provider(t["team_id"], t["name"], t["npi"], t["tax_id"],
                 Address(t["address_line"], t["city"], t["state"], t["postal_code"]))
        for t in _read("team") if t.get("tax_id"))
    members = tuple(
        Member(m["member_id"], m["medicaid_id"], m["family"], m["given"], date.fromisoformat(m["birth_date"]),
               m["gender"], Address(m["address"]["line"], m["address"]["city"], m["address"]["state"],
                                    m["address"]["postal_code"]))
        for m in _read("member") if m.get("medicaid_id") and m.get("address"))
    return Parties(providers=teams, members=members, payers=PAYERS)


def claims() -> list[ClaimRecord]:
    """The per-diem claims of the story, in file order."""
    records = [ClaimRecord.model_validate(r) for r in _read("claim")]
    return [r for r in records if r.kind == "per-diem"]


def render() -> str:
    return claims_to_837p(claims(), ENVELOPE, parties())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed file is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="ascii") != text:
            print(f"{OUT.relative_to(REPO)} is stale: run scripts/make_cmp_x12.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="ascii")
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
