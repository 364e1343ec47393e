"""The 837P ``Parties`` (billing teams, members, payers) read from FHIR resources.

A claim record only names its team, member and payer; the 837P spells them out (NPI, tax id, names,
addresses, the payer's X12 id). Offline (``cmp-adapter convert``) they come from the FHIR resources of the
input or a ``--parties`` file; on the server from the stored team Organizations, Patients and payer
Organizations. Which element gives what (``docs/records/x12.md``, "Parties from FHIR"):

* **Provider** <- an Organization with profile ``cmp-team-organization``: ``id``, ``name``, the NPI
  identifier, the tax id (identifier system ``urn:oid:2.16.840.1.113883.4.4``, the EIN) and ``address[0]``.
* **Member** <- a Patient: ``id``, the Medicaid id identifier, ``name[0]`` family and first given,
  ``birthDate``, ``gender`` (``gender`` ConceptMap back to the local code the DMG carries: F, M, U) and
  ``address[0]``.
* **Payer** <- an Organization with an identifier of system :data:`X12_PAYER_ID` (type NIIP): ``id``, that
  identifier's value (2010BB NM109) and ``alias[0]`` as the 837P name (else ``name``).

Any other resource (Coverage, Practitioner, claims, ...) is ignored. A resource that would be a party but
lacks what the 837P needs (a team without a tax id, a member without an address) is not a party; it is
named in the notes, so a "no member 'm-9'" error can be explained.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from . import codes
from .common import CANONICAL, MEDICAID_ID, NPI, identifier_value
from .grouping import has_profile
from .team import EIN_SYSTEM
from .x12_837p import Address, Member, Parties, Payer, Provider

X12_PAYER_ID = f"{CANONICAL}/NamingSystem/x12-payer-id"
TEAM_PROFILE = "cmp-team-organization"


def parties_from_fhir(resources: Iterable[dict]) -> tuple[Parties, list[str]]:
    """The ``Parties`` of ``resources`` and notes on those that could not be parties (and why)."""
    providers: list[Provider] = []
    members: list[Member] = []
    payers: list[Payer] = []
    notes: list[str] = []
    for body in resources:
        what = f"{body.get('resourceType')}/{body.get('id')}"
        try:
            if body.get("resourceType") == "Patient":
                members.append(_member(body))
            elif body.get("resourceType") == "Organization" and has_profile(body, TEAM_PROFILE):
                providers.append(_provider(body))
            elif body.get("resourceType") == "Organization" and identifier_value(body.get("identifier", []),
                                                                                   X12_PAYER_ID):
                payers.append(_payer(body))
        except (KeyError, IndexError, TypeError, ValueError, codes.UnmappedCode) as exc:
            notes.append(f"{what} is not an 837P party: {exc}")
    return Parties(providers=tuple(providers), members=tuple(members), payers=tuple(payers)), notes


def _address(body: dict) -> Address:
    address = body["address"][0]
    return Address(address["line"][0], address["city"], address["state"], address["postalCode"])


def _required(identifiers: list[dict], system: str, what: str) -> str:
    value = identifier_value(identifiers, system)
    if value is None:
        raise ValueError(f"no {what} (identifier system {system})")
    return value


def _provider(org: dict) -> Provider:
    identifiers = org.get("identifier", [])
    return Provider(org["id"], org["name"], _required(identifiers, NPI, "NPI"),
                    _required(identifiers, EIN_SYSTEM, "tax id"), _address(org))


def _member(patient: dict) -> Member:
    name = patient["name"][0]
    return Member(patient["id"], _required(patient.get("identifier", []), MEDICAID_ID, "Medicaid id"),
                  name["family"], name["given"][0], date.fromisoformat(patient["birthDate"]),
                  codes.table("gender").from_code(patient["gender"]), _address(patient))


def _payer(org: dict) -> Payer:
    return Payer(org["id"], (org.get("alias") or [org["name"]])[0],
                 _required(org.get("identifier", []), X12_PAYER_ID, "X12 payer id"))
