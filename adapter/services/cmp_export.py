"""``$export-cmp``: the stored FHIR resources given back as CMP records (issue 5).

A member's records are gathered from the store by the kinds' declared shapes (``mappings/grouping.py``):
for each kind that concerns a member, the anchors that name the Patient (``Encounter?subject=Patient/m-1``,
kept when they declare the kind's profile), then each anchor's companions (read by reference, or searched by
the element that refers to the anchor: ``Coverage?beneficiary=Patient/m-1``). What was gathered is then
cut into records by the same :func:`mappings.grouping.group` that reads files, and each record read back
with its kind's ``from_fhir``. Resources of the anchor types that declare none of the record profiles are
not CMP records and are not looked at.

Stored resources that our mappings did not write (a second address, another profile, a missing companion)
cannot become records without loss: every such difference is listed in one 422 OperationOutcome, rather
than a record that silently lacks it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection

import mappings
from adapter import fhirjson
from adapter.errors import BadRequest, Issue, NotFound, Unprocessable
from adapter.services import search
from adapter.services.container import Services
from adapter.services.convert import NOT_CONVERTIBLE, record_json
from adapter.services.x12_io import default_envelope
from mappings import csv_format, grouping, x12_837p
from mappings.common import LossyConversion
from mappings.x12_parties import parties_from_fhir

#: The kinds whose records concern one member (all but ``team``), in the order of ``mappings.KIND_NAMES``.
MEMBER_KINDS = tuple(k for k in mappings.KIND_NAMES if grouping.shape(k).anchor.member is not None)


def member_records(services: Services, patient_id: str, kinds: Sequence[str] | None = None) -> dict[str, list[dict]]:
    """Every CMP record of the member ``Patient/{patient_id}``, by kind (CMP JSON, as ``$import-cmp`` takes).

    :raise NotFound: no such Patient. :raise BadRequest: a kind that is unknown or concerns no member.
    :raise Unprocessable: stored resources that do not convert to records without loss (all listed).
    """
    chosen = _member_kinds(kinds)
    with services.store.connect() as conn:
        view = _StoreView(services, conn)
        if view.read(f"Patient/{patient_id}") is None:
            raise NotFound(f"Patient/{patient_id} is not known", expression="Patient")
        out: dict[str, list[dict]] = {}
        issues: list[Issue] = []
        for kind in chosen:
            records, problems = _records(view, kind, _member_anchors(view, kind, patient_id))
            out[kind] = [record_json(r) for r in records]
            issues += problems
    if issues:
        raise Unprocessable(issues=issues)
    return out


def member_records_csv(services: Services, patient_id: str, kinds: Sequence[str] | None) -> str:
    """The member's records of one kind in the kind's CSV layout (``docs/records/csv.md``).

    :raise BadRequest: not exactly one kind. Otherwise as :func:`member_records`.
    """
    if not kinds or len(kinds) != 1:
        raise BadRequest("?format=csv gives one kind's CSV layout: name exactly one ?kind=", expression="kind")
    kind = kinds[0]
    records = member_records(services, patient_id, [kind])[kind]
    model = mappings.kind(kind).MODEL
    out = io.StringIO(newline="")
    csv_format.write_csv(kind, (model.model_validate(r) for r in records), out)
    return out.getvalue()


def claim_record(services: Services, claim_id: str) -> dict:
    """The claim record of ``Claim/{claim_id}`` (CMP JSON).

    :raise NotFound: no such Claim. :raise Unprocessable: a Claim our mappings did not write.
    """
    return record_json(_claim(services, claim_id)[0])


def claim_x12(services: Services, claim_id: str, moment: datetime | None = None) -> str:
    """``Claim/{claim_id}`` as an 837P interchange (one transaction set) from this adapter to the claim's payer.

    The parties are the stored team Organization, Patient and payer Organization the claim names.

    :raise NotFound: no such Claim. :raise Unprocessable: a Claim our mappings did not write, one 837P
        cannot carry (a care-management fee), or a party the 837P needs that is not stored or incomplete.
    """
    record, parties, notes = _claim(services, claim_id, with_parties=True)
    payer = parties.get("payer", record.payer_id)
    if payer is None:
        raise Unprocessable(f"Claim/{claim_id}: the payer Organization/{record.payer_id} has no X12 payer id"
                            " (docs/records/x12.md)", issues=[Issue("error", "processing", n) for n in notes])
    try:
        return x12_837p.claims_to_837p([record], default_envelope(payer, moment or datetime.now(UTC)), parties)
    except ValueError as exc:
        raise Unprocessable(f"Claim/{claim_id}: {exc}", issues=[Issue("error", "processing", n) for n in notes],
                            expression="Claim") from exc


def _claim(services: Services, claim_id: str, *, with_parties: bool = False):
    with services.store.connect() as conn:
        view = _StoreView(services, conn)
        claim = view.read(f"Claim/{claim_id}")
        if claim is None:
            raise NotFound(f"Claim/{claim_id} is not known", expression="Claim")
        if not grouping.shape("claim").is_anchor(claim):
            raise Unprocessable(f"Claim/{claim_id} declares neither cmp-claim nor care-management-fee-claim: "
                                "it is not a CMP claim record", expression="Claim.meta.profile")
        records, problems = _records(view, "claim", [claim])
        if problems:
            raise Unprocessable(issues=problems)
        record = records[0]
        if not with_parties:
            return record, None, None
        party_refs = (f"Organization/{record.provider_id}", f"Patient/{record.member_id}",
                      f"Organization/{record.payer_id}")
        parties, notes = parties_from_fhir(r for r in map(view.read, party_refs) if r is not None)
        return record, parties, notes


def _member_kinds(kinds: Sequence[str] | None) -> tuple[str, ...]:
    if not kinds:
        return MEMBER_KINDS
    wrong = [k for k in kinds if k not in MEMBER_KINDS]
    if wrong:
        raise BadRequest(f"kind {', '.join(wrong)} is not a record kind of a member; one of {', '.join(MEMBER_KINDS)}",
                         expression="kind")
    return tuple(kinds)


class _StoreView:
    """Current resources of the store, read on one connection (one consistent view per export)."""

    def __init__(self, services: Services, conn: Connection) -> None:
        self._services, self._conn = services, conn

    def read(self, reference: str) -> dict | None:
        res_type, _, res_id = reference.partition("/")
        if not res_id or "/" in res_id or not self._services.supports_type(res_type):
            return None
        stored = self._services.store.read(self._conn, res_type, res_id)
        return None if stored is None or stored.deleted else fhirjson.loads(stored.content)

    def referring(self, res_type: str, param: str, target: str) -> list[dict]:
        """Every resource of ``res_type`` whose ``param`` refers to ``target``, in store order (all pages)."""
        size = self._services.settings.max_page_size
        out: list[dict] = []
        while True:
            pairs = [(param, target), ("_count", str(size)), ("_offset", str(len(out))), ("_total", "none")]
            page = search.search(self._services, res_type, pairs, handling="strict", conn=self._conn).page
            out += [fhirjson.loads(row.content) for row in page.matches]
            if not page.has_next:
                return out


def _member_anchors(view: _StoreView, kind: str, patient_id: str) -> list[dict]:
    anchor = grouping.shape(kind).anchor
    if anchor.member == "id":
        patient = view.read(f"Patient/{patient_id}")
        return [patient] if patient is not None else []  # not of a member profile: group() says so
    found = view.referring(anchor.resource_type, anchor.member, f"Patient/{patient_id}")
    return [r for r in found if grouping.shape(kind).is_anchor(r)]


def _gather(view: _StoreView, kind: str, anchor: dict) -> list[dict]:
    """The anchor and the companions its kind's shape names, as stored (missing ones are left to group())."""
    found = [anchor]
    by_profile: dict[str, list[dict]] = {}
    for companion in grouping.shape(kind).companions:
        link = companion.link
        if isinstance(link, grouping.Referencing):
            # in id order: the store's order is the order of writes, which a reload changes; a record's list of
            # such companions (a member's coverages) comes back the same however the resources were loaded
            members = sorted((r for r in view.referring(companion.resource_type, link.path, grouping.key(anchor))
                              if grouping.has_profile(r, companion.profile)), key=grouping.key)
        else:
            holders = [anchor] if link.holder is None else by_profile.get(link.holder, [])
            members = [r for h in holders for ref in grouping.references_at(h, link.path)
                       if (r := view.read(ref)) is not None]
        by_profile.setdefault(companion.profile, []).extend(members)
        found += members
    return found


def _records(view: _StoreView, kind: str, anchors: list[dict]) -> tuple[list, list[Issue]]:
    """The records of ``anchors`` (of ``kind``) and the issues of those that do not convert."""
    module = mappings.kind(kind)
    records, issues = [], []
    for anchor in anchors:
        found = grouping.group(_gather(view, kind, anchor), [kind])
        issues += [Issue("error", "processing", f"{kind} record of {grouping.key(anchor)}: {u.resource} {u.reason}",
                         u.resource.split("/")[0]) for u in found.unassigned]
        for group in found.records:
            if group.missing:
                issues += [Issue("error", "not-found", f"{kind} record of {group.anchor}: {m} is not stored",
                                 group.anchor.split("/")[0]) for m in group.missing]
                continue
            try:
                records.append(module.from_fhir(group.resources))
            except LossyConversion as exc:
                issues += [Issue("error", "processing", f"{kind} record of {group.anchor}: {d}",
                                 group.anchor.split("/")[0])
                           for d in exc.differences]
            except NOT_CONVERTIBLE as exc:
                issues.append(Issue("error", "processing", f"{kind} record of {group.anchor}: not as our mappings"
                                    f" write it ({type(exc).__name__}: {exc})", group.anchor.split("/")[0]))
    return records, issues
