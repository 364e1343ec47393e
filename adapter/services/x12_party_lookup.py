"""The parties an 837P names (billing team, member, payer), found in a store, on a server, or in a file.

``mappings.x12_837p.parse_837p`` turns the NPI, Medicaid id and payer id of each claim into the record's
``provider_id``, ``member_id`` and ``payer_id`` through a :class:`~mappings.x12_837p.Parties` lookup.
Those keys are our resource ids, so the natural place to look them up is where the members and teams
already are: ``Patient?identifier=<Medicaid id system>|<id>`` and ``Organization?identifier=<NPI system>|<npi>``,
in the local store or on a remote FHIR server. A payer's 837P id (NM109 ``PI``) is looked up by identifier
value alone (``Organization?identifier=MTMEDICAID``), whatever system the payer Organization records it
under; payers (or anyone) not found can come from a parties file (``--parties``, JSON:
:func:`parties_from_json`). The file wins where both know a party. Lookups are lazy: only the parties the
interchange names are asked for, once each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from adapter import fhirjson
from adapter.services import search
from adapter.services.container import Services
from mappings.common import MEDICAID_ID, NPI
from mappings.x12_837p import Address, Member, Parties, Payer, Provider

#: Finds the one resource of a type with an identifier token (``system|value`` or ``value``), or None.
FindByIdentifier = Callable[[str, str], "dict | None"]

X12_GENDER = {"female": "F", "male": "M"}
"""Patient.gender -> DMG03 (anything else is ``U``, unknown)."""


@dataclass(frozen=True)
class ResolvingParties(Parties):
    """Parties that asks ``find`` for the NPIs, Medicaid ids and payer ids it does not hold (and remembers)."""

    find: FindByIdentifier | None = field(default=None, compare=False)

    def get(self, kind: str, key: str):
        found = super().get(kind, key)
        if found is None and self.find is not None and key and kind in _LOOKUPS:
            resource_type, token, build = _LOOKUPS[kind]
            resource = self.find(resource_type, token(key))
            found = build(resource, key) if resource else None
            if found is not None:
                self._index[(kind, key)] = found
        return found


def member_of(patient: dict, medicaid_id: str) -> Member:
    """The 837P subscriber (2010BA) a ``cmp-member`` Patient describes."""
    name = (patient.get("name") or [{}])[0]
    birth = patient.get("birthDate", "")
    return Member(patient["id"], medicaid_id, name.get("family", ""), (name.get("given") or [""])[0],
                  date.fromisoformat(birth) if len(birth) == 10 else date.min,
                  X12_GENDER.get(patient.get("gender", ""), "U"), _address(patient))


def provider_of(organization: dict, npi: str) -> Provider:
    """The 837P billing provider (2010AA) a team Organization describes (its tax id only if it has one)."""
    tax_id = next((i.get("value", "") for i in organization.get("identifier", [])
                   if any(c.get("code") == "TAX" for c in i.get("type", {}).get("coding", []))), "")
    return Provider(organization["id"], organization.get("name", ""), npi, tax_id, _address(organization))


def payer_of(organization: dict, identifier: str) -> Payer:
    """The 837P payer (2010BB) a payer Organization describes."""
    return Payer(organization["id"], organization.get("name", ""), identifier)


def _address(resource: dict) -> Address:
    address = (resource.get("address") or [{}])[0]
    return Address((address.get("line") or [""])[0], address.get("city", ""), address.get("state", ""),
                   address.get("postalCode", ""))


_LOOKUPS: dict[str, tuple[str, Callable[[str], str], Callable[[dict, str], Any]]] = {
    "medicaid": ("Patient", lambda key: f"{MEDICAID_ID}|{key}", member_of),
    "npi": ("Organization", lambda key: f"{NPI}|{key}", provider_of),
    "payer-identifier": ("Organization", lambda key: key, payer_of),
}


def parties_from_json(data: Any, find: FindByIdentifier | None = None) -> ResolvingParties:
    """Parties from a ``--parties`` file, asking ``find`` for the rest.

    The file is ``{"providers": [...], "members": [...], "payers": [...]}`` with the fields of
    :class:`~mappings.x12_837p.Provider`, ``Member`` and ``Payer`` (addresses as objects, dates ISO 8601).

    Raises:
        ValueError: not that shape (the message names the entry).
    """
    if not isinstance(data, dict):
        raise ValueError("a parties file is a JSON object with providers, members and payers")
    try:
        providers = tuple(Provider(**{**p, "address": Address(**p["address"])}) for p in data.get("providers", []))
        members = tuple(Member(**{**m, "birth_date": date.fromisoformat(m["birth_date"]),
                                  "address": Address(**m["address"])}) for m in data.get("members", []))
        payers = tuple(Payer(**p) for p in data.get("payers", []))
    except (TypeError, KeyError, ValueError) as error:
        raise ValueError(f"parties file: {type(error).__name__}: {error}") from error
    return ResolvingParties(providers=providers, members=members, payers=payers, find=find)


def store_finder(services: Services) -> FindByIdentifier:
    """Look resources up in the local store (the same search the REST API runs)."""

    def find(resource_type: str, token: str) -> dict | None:
        page = search.search(services, resource_type, [("identifier", token), ("_count", "2")],
                             handling="strict").page
        return fhirjson.loads(page.matches[0].content) if len(page.matches) == 1 else None

    return find


def client_finder(client: Any) -> FindByIdentifier:
    """Look resources up on a remote FHIR server (an :class:`adapter.client.FhirClient`)."""

    def find(resource_type: str, token: str) -> dict | None:
        found = client.resources(resource_type).search(identifier=token).limit(2).fetch()
        return found[0] if len(found) == 1 else None

    return find
