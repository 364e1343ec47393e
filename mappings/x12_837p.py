"""CMP per-diem claim records <-> X12 005010X222A1 837P (health care claim: professional).

``claims_to_837p(records, envelope, parties)`` writes one interchange (ISA/GS) with one 837 transaction set
(ST/SE) per claim; ``parse_837p(text, parties)`` validates an interchange with pyx12 (the same validator
the tests run on what we write) and gives back the claim records, or a ``ParseError`` naming the segment
(id and position) and element that broke.

Where each record field travels:

=================  ==========================================================================================
record             837P
=================  ==========================================================================================
claim_id           BHT03 (originator reference) and CLM01 (patient control number, at most 38 characters)
created            BHT04 (the transaction set's creation date)
provider_id        2010AA NM109 (NPI); ``Parties`` maps the team to its NPI, address (N3/N4), tax id (REF*EI)
provider_name      2010AA NM103 (an 837P always names the billing provider: a record without a name comes
                   back with the name ``Parties`` holds for the team)
member_id          2010BA NM109 (MI: the member's Medicaid id), name, address and DMG from ``Parties``
coverage_id        2000B SBR03 (the insured's group or policy number); SBR09 ``MC`` (Medicaid)
payer_id           2010BB NM109 (PI: the payer's id from ``Parties``) and NM103 (the payer's name)
period_start/end   2300 NTE*ADD ``BILLING PERIOD CCYYMMDD-CCYYMMDD`` (837P has no statement-period date)
rate, days         2400 LX/SV1 ``HC:<HCPCS>`` * rate * ``UN`` * 1 (5010 allows only UN or MJ in SV103, not
                   DA), DTP*472 (the day), REF*6R (the contact id)
service_code       SV101-2 via the ``service-code`` ConceptMap (``CMP-PD`` -> ``H0040``)
diagnosis          2300 HI*ABK (ICD-10-CM without its period); the SV107 pointer is ``1``. HI is required
                   in 837P, so a per-diem claim without a diagnosis is refused
=================  ==========================================================================================

Not carried: ``diagnosis_display`` (837P carries codes, not displays; a parsed record has none) and the
care-management fee claims (a PMPM fee from a PractitionerRole: an 837P for it needs a rendering provider
and unit of month that the CMP per-diem submission does not have; ``claims_to_837p`` refuses them with
a ``ValueError``). Nothing here reads a clock: dates and control numbers come in the ``Envelope``.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pyx12.errors
import pyx12.map_if
import pyx12.params
import pyx12.x12n_document

from . import codes
from .claim import ClaimRecord

VERSION = "005010X222A1"
SEGMENT_TERMINATOR = "~"
ELEMENT_SEPARATOR = "*"
COMPONENT_SEPARATOR = ":"
REPETITION_SEPARATOR = "^"
ISA_LENGTH = 106
_PERIOD = re.compile(r"^BILLING PERIOD (\d{8})-(\d{8})$")
_ICD10CM = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
_X12_TEXT = re.compile(r"^[^~*:^]+$")


@dataclass(frozen=True)
class Envelope:
    """What the interchange, group and submission say about themselves: given, never read from a clock."""

    sender_id: str
    receiver_id: str
    control_number: int
    """ISA13 and GS06; transaction sets are numbered 0001, 0002, ... inside the group."""
    date: date
    time: str
    """HHMM."""
    submitter_name: str
    submitter_contact: str
    submitter_phone: str
    receiver_name: str
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    usage: str = "P"
    """ISA15: ``P`` production, ``T`` test."""


@dataclass(frozen=True)
class Address:
    line: str
    city: str
    state: str
    postal_code: str


@dataclass(frozen=True)
class Provider:
    """A CMP team as the billing provider (2010AA)."""

    provider_id: str
    name: str
    npi: str
    tax_id: str
    address: Address
    place_of_service: str = "53"
    """CLM05-1; 53 is a community mental health center."""


@dataclass(frozen=True)
class Member:
    """A member as the subscriber and patient (2010BA)."""

    member_id: str
    medicaid_id: str
    family: str
    given: str
    birth_date: date
    gender: str
    address: Address


@dataclass(frozen=True)
class Payer:
    payer_id: str
    name: str
    identifier: str
    """2010BB NM109 (PI)."""


@dataclass(frozen=True)
class Parties:
    """The providers, members and payers the claims name, looked up both ways."""

    providers: tuple[Provider, ...] = ()
    members: tuple[Member, ...] = ()
    payers: tuple[Payer, ...] = ()
    _index: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({("provider", p.provider_id): p for p in self.providers})
        self._index.update({("npi", p.npi): p for p in self.providers})
        self._index.update({("member", m.member_id): m for m in self.members})
        self._index.update({("medicaid", m.medicaid_id): m for m in self.members})
        self._index.update({("payer", p.payer_id): p for p in self.payers})
        self._index.update({("payer-identifier", p.identifier): p for p in self.payers})

    def get(self, kind: str, key: str):
        """The party of ``kind`` with ``key``, or None."""
        return self._index.get((kind, key))


@dataclass(frozen=True)
class ParseError:
    """Why (part of) an interchange was rejected: the segment (id, position) and element that broke."""

    message: str
    segment: str | None = None
    position: int | None = None
    """The segment's 1-based position in the interchange."""
    element: str | None = None
    """E.g. ``CLM01``."""
    claim_id: str | None = None

    def __str__(self) -> str:
        where = " ".join(p for p in (
            f"segment {self.segment}" if self.segment else "",
            f"#{self.position}" if self.position else "",
            f"element {self.element}" if self.element else "") if p)
        return f"{where}: {self.message}" if where else self.message


# --- writing ------------------------------------------------------------------------------------------

def claims_to_837p(records: Iterable[ClaimRecord], envelope: Envelope, parties: Parties) -> str:
    """One 837P interchange for ``records``: one transaction set per claim, in order.

    Raises:
        ValueError: a care-management fee claim, a party missing from ``parties``, a value an 837P element
            cannot hold (a claim id over 38 characters, a delimiter in a text).
        codes.UnmappedCode: a service code outside the ``service-code`` ConceptMap.
    """
    e = envelope
    control = f"{e.control_number:09d}"
    if not 0 < e.control_number < 10**9:
        raise ValueError(f"control number {e.control_number} does not fit ISA13 (1..999999999)")
    out = [
        "ISA*00*          *00*          *" + f"{e.sender_qualifier}*{e.sender_id:<15}*{e.receiver_qualifier}*"
        f"{e.receiver_id:<15}*{e.date:%y%m%d}*{e.time}*{REPETITION_SEPARATOR}*00501*{control}*0*{e.usage}*"
        f"{COMPONENT_SEPARATOR}",
        f"GS*HC*{e.sender_id}*{e.receiver_id}*{e.date:%Y%m%d}*{e.time}*{e.control_number}*X*{VERSION}",
    ]
    count = 0
    for count, record in enumerate(records, 1):
        out.extend(_transaction(record, f"{count:04d}", envelope, parties))
    out += [f"GE*{count}*{e.control_number}", f"IEA*1*{control}"]
    if len(out[0]) != ISA_LENGTH - 1:
        raise ValueError(f"ISA would be {len(out[0]) + 1} characters, not {ISA_LENGTH}: check sender/receiver ids")
    return "".join(f"{segment}{SEGMENT_TERMINATOR}\n" for segment in out)


def _text(value: str, what: str, max_length: int) -> str:
    if not _X12_TEXT.match(value) or len(value) > max_length:
        raise ValueError(f"{what} {value!r} is not X12 text of at most {max_length} characters without ~ * : ^")
    return value


def _amount(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _transaction(record: ClaimRecord, st02: str, e: Envelope, parties: Parties) -> list[str]:
    if record.kind != "per-diem":
        raise ValueError(f"claim {record.claim_id}: only per-diem claims go to 837P, not {record.kind}")
    provider = parties.get("provider", record.provider_id)
    member = parties.get("member", record.member_id)
    payer = parties.get("payer", record.payer_id)
    for what, found, key in (("provider", provider, record.provider_id), ("member", member, record.member_id),
                             ("payer", payer, record.payer_id)):
        if found is None:
            raise ValueError(f"claim {record.claim_id}: no {what} {key!r} in the parties")
    if not record.diagnosis or not _ICD10CM.match(record.diagnosis):
        raise ValueError(f"claim {record.claim_id}: an 837P needs an ICD-10-CM diagnosis (HI, SV107),"
                         f" not {record.diagnosis!r}")
    claim_id = _text(record.claim_id, "claim id (CLM01)", 38)
    hcpcs = codes.table("service-code").to_fhir(record.service_code).code
    name = _text(record.provider_name or provider.name, "provider name (NM103)", 60)
    segments = [
        f"ST*837*{st02}*{VERSION}",
        f"BHT*0019*00*{claim_id}*{record.created:%Y%m%d}*{e.time}*CH",
        f"NM1*41*2*{e.submitter_name}*****46*{e.sender_id}",
        f"PER*IC*{e.submitter_contact}*TE*{e.submitter_phone}",
        f"NM1*40*2*{e.receiver_name}*****46*{e.receiver_id}",
        "HL*1**20*1",
        f"NM1*85*2*{name}*****XX*{provider.npi}",
        *_address(provider.address),
        f"REF*EI*{provider.tax_id}",
        "HL*2*1*22*0",
        f"SBR*P*18*{record.coverage_id}******MC",
        f"NM1*IL*1*{member.family}*{member.given}****MI*{member.medicaid_id}",
        *_address(member.address),
        f"DMG*D8*{member.birth_date:%Y%m%d}*{member.gender}",
        f"NM1*PR*2*{payer.name}*****PI*{payer.identifier}",
        f"CLM*{claim_id}*{_amount(record.rate * len(record.days))}***{provider.place_of_service}:B:1*Y*A*Y*Y",
        f"NTE*ADD*BILLING PERIOD {record.period_start:%Y%m%d}-{record.period_end:%Y%m%d}",
    ]
    segments.append(f"HI*ABK:{record.diagnosis.replace('.', '')}")
    for n, day in enumerate(record.days, 1):
        segments += [
            f"LX*{n}",
            f"SV1*HC:{hcpcs}*{_amount(record.rate)}*UN*1***1",
            f"DTP*472*D8*{day.day:%Y%m%d}",
            f"REF*6R*{_text(day.contact_id, 'contact id (REF*6R)', 50)}",
        ]
    segments.append(f"SE*{len(segments) + 1}*{st02}")
    return segments


def _address(a: Address) -> list[str]:
    return [f"N3*{a.line}", f"N4*{a.city}*{a.state}*{a.postal_code}"]


# --- reading ------------------------------------------------------------------------------------------

@functools.cache
def _map_once(map_file: str, map_path: str | None) -> pyx12.map_if.map_if:
    return _load_map_file(map_file, pyx12.params.params(), map_path)


def _load_map_file_once(map_file: str, param: pyx12.params.ParamsBase, map_path: str | None = None):
    """pyx12's ``load_map_file``, parsed once per process instead of once per interchange.

    pyx12 parses the 837P map (an XML file of ~2 MB) for every document it validates: ~0.7 s, more than
    the walk of a 100-claim interchange. The map is read-only while a document is walked (since pyx12 3 the
    loop and segment counts live in the walker's ``nodeCounter``), so one parsed map serves every document.
    Only the default parameters (the only ones this module passes) are cached.
    """
    if param.__dict__ != _DEFAULT_PARAMS.__dict__:
        return _load_map_file(map_file, param, map_path)
    return _map_once(map_file, map_path)


_load_map_file = pyx12.map_if.load_map_file
_DEFAULT_PARAMS = pyx12.params.params()
pyx12.map_if.load_map_file = _load_map_file_once  # x12n_document looks it up on the module at each call


def validate_837p(text: str) -> list[ParseError]:
    """pyx12's findings on ``text`` (005010X222A1 and the envelopes), each naming segment and element."""
    return _validate(text)[0]


def _validate(text: str) -> tuple[list[ParseError], list[list[str]]]:
    """The findings, and the segments pyx12 read (as fields, with our delimiters), in one pass."""
    errors = _precheck(text)
    if errors and errors[0].segment != "CLM":
        return errors, []
    report = io.StringIO()
    read: list[list[str]] = []

    def keep(seg, src, node, valid) -> None:
        read.append(seg.format(SEGMENT_TERMINATOR[:0], ELEMENT_SEPARATOR, COMPONENT_SEPARATOR)
                    .split(ELEMENT_SEPARATOR))

    logger = logging.getLogger("pyx12")
    level, logger.level = logger.level, logging.CRITICAL
    try:
        ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(text), None, None,
                                               fd_json=report, callback=keep)
    except (pyx12.errors.X12Error, pyx12.errors.EngineError) as exc:
        return [ParseError(f"pyx12 cannot read the interchange: {exc}")], []
    except (IndexError, AttributeError, KeyError, TypeError, ValueError) as exc:
        # pyx12 4.0.0 fails this way on envelopes it cannot follow; _precheck catches the ones we know
        where = read[-1][0] if read else "ISA"
        return [ParseError(f"pyx12 cannot follow the interchange after segment {where} #{len(read) or 1}"
                           f" ({type(exc).__name__}: {exc})", segment=where, position=len(read) or 1)], []
    finally:
        logger.level = level
    found = errors + _findings(json.loads(report.getvalue() or '{"interchanges": []}'))
    if not ok and not found:
        found = [ParseError("pyx12 rejected the interchange")]
    return found, read


def _precheck(text: str) -> list[ParseError]:
    """What pyx12 would only log (or trace back on): the ISA's fixed length and the delimiters it sets."""
    if not text.startswith("ISA"):
        return [ParseError(f"an interchange starts with ISA, not {text[:3]!r}", position=1)]
    if len(text) < ISA_LENGTH:
        return [ParseError(f"ISA is {len(text)} characters, not {ISA_LENGTH}", segment="ISA", position=1)]
    element, terminator = text[3], text[ISA_LENGTH - 1]
    isa = text[:ISA_LENGTH - 1].split(element)
    if len(isa) != 17:
        return [ParseError(f"ISA has {len(isa) - 1} elements, not 16 (is it {ISA_LENGTH} characters long?)",
                           segment="ISA", position=1, element="ISA16")]
    if len(isa[16]) != 1:
        return [ParseError(f"ISA is not {ISA_LENGTH} characters long: ISA16 is {isa[16]!r}",
                           segment="ISA", position=1, element="ISA16")]
    if terminator.isalnum() or terminator in (element, isa[16]):
        return [ParseError(f"segment terminator {terminator!r} after ISA16 is not a delimiter",
                           segment="ISA", position=1, element="ISA16")]
    segments = [s.strip() for s in text.split(terminator)]
    if segments[-1]:
        segments.append(segments.pop())  # an unterminated tail is a segment too
    else:
        segments.pop()
    if len(segments) == 1:
        return [ParseError(f"segment 2 does not end in the segment terminator {terminator!r} that ISA sets"
                           " (a different segment terminator?)", segment=segments[0][106:109] or None,
                           position=2)]
    ids = [seg.split(element, 1)[0] for seg in segments]
    other = re.search(r"([^\w\s" + re.escape(element + isa[16]) + r"])\s*IEA" + re.escape(element), segments[-1])
    if ids[-1] != "IEA" and other:
        return [ParseError(f"this segment and those after it end in {other[1]!r}, not in the"
                           f" segment terminator {terminator!r} that ISA sets", segment=ids[-1], position=len(ids))]
    if ids[-1] != "IEA":
        return [ParseError(f"the interchange ends after segment {ids[-1]} #{len(ids)} without an IEA trailer"
                           " (truncated?)", segment="IEA", position=len(ids) + 1)]
    nesting = _nesting(ids)
    if nesting:
        return [nesting]
    for position, (sid, seg) in enumerate(zip(ids, segments, strict=True), 1):
        count = [*seg.split(element), ""][1]
        if sid in _CLOSES and not count.isdigit():
            return [ParseError(f"{sid}01 is {count!r}, not a count", segment=sid,
                               position=position, element=f"{sid}01")]
    errors = []
    start, claims = 0, 0
    for position, sid in enumerate(ids, 1):
        if sid == "ST":
            start, claims = position, 0
        elif sid == "CLM":
            claims += 1
        elif sid == "SE" and claims != 1:
            errors.append(ParseError(f"transaction set ST #{start}..SE #{position} has {claims} CLM segments,"
                                     " not 1 (one claim per transaction set)", segment="CLM", position=start))
    return errors


#: pyx12 reports trailer mismatches on the header loop: (loop, code) -> the trailer segment and element.
_TRAILERS = {("ST", "4"): ("SE", "SE01"), ("ST", "3"): ("SE", "SE02"), ("GS", "5"): ("GE", "GE01"),
             ("GS", "4"): ("GE", "GE02"), ("ISA", "001"): ("IEA", "IEA02"), ("ISA", "021"): ("IEA", "IEA01")}


#: The envelope segments: what each must be inside of, and what it opens (or closes).
_OPENS = {"ISA": None, "GS": "ISA", "ST": "GS"}
_CLOSES = {"SE": "ST", "GE": "GS", "IEA": "ISA"}


def _nesting(ids: list[str]) -> ParseError | None:
    """The first envelope segment out of place (pyx12 4.0.0 raises IndexError/AttributeError on those)."""
    open_: list[str] = []
    for position, sid in enumerate(ids, 1):
        top = open_[-1] if open_ else None
        if sid in _OPENS:
            if top != _OPENS[sid] or (sid == "ISA" and position != 1):
                where = f"inside an open {top} (a trailer missing?)" if top else "after the IEA"
                return ParseError(f"{sid} out of place: {where}", segment=sid, position=position)
            open_.append(sid)
        elif sid in _CLOSES:
            if top != _CLOSES[sid]:
                what = f"while {top} is open" if top else "after the IEA"
                return ParseError(f"{sid} out of place: it closes {_CLOSES[sid]}, {what}", segment=sid,
                                  position=position)
            open_.pop()
        elif top != "ST":
            where = f"inside {top}, outside any ST/SE" if top else "after the IEA"
            return ParseError(f"segment {sid} out of place: {where}", segment=sid, position=position)
    return None


def _findings(report: dict) -> list[ParseError]:
    found: list[ParseError] = []

    def add(errors: list[dict], segment: str, position: int | None = None, element: str | None = None,
            claim_id: str | None = None) -> None:
        for err in errors:
            segment, element = _TRAILERS.get((segment, str(err["err_cde"])), (segment, element))
            value = f" (value {err['err_val']!r})" if err.get("err_val") else ""
            found.append(ParseError(f"{err['err_str']}{value} [{err['err_cde']}]", segment=segment,
                                    position=position, element=element, claim_id=claim_id))

    for isa in report["interchanges"]:
        add(isa["errors"], "ISA", isa.get("cur_line"))
        for gs in isa["groups"]:
            add(gs["errors"], "GS", gs.get("cur_line"))
            for st in gs["transactions"]:
                add(st["errors"], "ST", st.get("cur_line"))
                for seg in st["segments"]:
                    add(seg["errors"], seg["seg_id"], seg.get("cur_line"))
                    for ele in seg["elements"]:
                        name = f"{seg['seg_id']}{int(ele['ele_pos']):02d}"
                        if ele.get("subele_pos"):
                            name += f"-{ele['subele_pos']}"
                        add(ele["errors"], seg["seg_id"], seg.get("cur_line"), name)
    return found


def parse_837p(text: str, parties: Parties) -> Iterator[ClaimRecord | ParseError]:
    """The claim records of an 837P interchange, in order, or why it was rejected.

    An interchange pyx12 finds errors in yields those errors (each naming segment, position and element)
    and no records; in a valid one, each transaction set gives a record or a ``ParseError`` of its own
    (an NPI, Medicaid id or payer id ``parties`` does not know, a service code outside the ConceptMap).
    """
    errors, read = _validate(text)
    if errors:
        yield from errors
        return
    transaction: list[tuple[int, list[str]]] = []
    for position, fields in enumerate(read, 1):
        if fields[0] == "ST":
            transaction = []
        transaction.append((position, fields))
        if fields[0] == "SE":
            yield _claim(transaction, parties)


def _claim(segments: list[tuple[int, list[str]]], parties: Parties) -> ClaimRecord | ParseError:
    claim_id = None
    current: tuple[int, list[str]] = segments[0]
    try:
        bht = _one(segments, "BHT")
        claim_id = bht[3]
        provider_name = npi = medicaid = payer_identifier = coverage = period = diagnosis = None
        days: list[dict] = []
        rates: set[Decimal] = set()
        total: Decimal | None = None
        hcpcs: set[str] = set()
        for current in segments:
            _, f = current
            sid = f[0]
            if sid == "NM1" and f[1] == "85":
                provider_name, npi = f[3], f[9]
            elif sid == "NM1" and f[1] == "IL":
                medicaid = f[9]
            elif sid == "NM1" and f[1] == "PR":
                payer_identifier = f[9]
            elif sid == "SBR":
                coverage = f[3]
            elif sid == "CLM":
                if f[1] != claim_id:
                    raise _Broken("CLM01", f"claim id {f[1]!r} is not BHT03 {claim_id!r}")
                total = Decimal(f[2])
            elif sid == "NTE":
                period = _PERIOD.match(f[2])
                if not period:
                    raise _Broken("NTE02", f"{f[2]!r} is not 'BILLING PERIOD CCYYMMDD-CCYYMMDD'")
            elif sid == "HI":
                code = f[1].split(COMPONENT_SEPARATOR)[1]
                diagnosis = code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"
            elif sid == "SV1":
                qualifier, code = f[1].split(COMPONENT_SEPARATOR)[:2]
                if qualifier != "HC":
                    raise _Broken("SV101-1", f"a per-diem line bills a HCPCS code (HC), not {qualifier!r}")
                if f[3] != "UN" or Decimal(f[4]) != 1:
                    raise _Broken("SV103", f"a per-diem line bills 1 unit (UN), not {f[4]} {f[3]}")
                hcpcs.add(code)
                rates.add(Decimal(f[2]))
                days.append({})
            elif sid == "DTP" and f[1] == "472":
                days[-1]["day"] = _date(f[3])
            elif sid == "REF" and f[1] == "6R":
                days[-1]["contact_id"] = f[2]
        current = segments[0]
        if len(rates) != 1 or len(hcpcs) != 1:
            raise _Broken("SV102", f"the lines bill different services or rates: {sorted(hcpcs)} {sorted(rates)}")
        rate = rates.pop()
        if rate * len(days) != total:
            current = next(s for s in segments if s[1][0] == "CLM")
            raise _Broken("CLM02", f"total {total} is not {len(days)} day(s) at {rate}")
        if period is None:
            raise _Broken("NTE02", "the claim has no billing period (NTE*ADD)")
        provider = _party(parties, "npi", npi, segments, "NM1", "NM109", "billing provider NPI")
        member = _party(parties, "medicaid", medicaid, segments, "NM1", "NM109", "Medicaid id")
        payer = _party(parties, "payer-identifier", payer_identifier, segments, "NM1", "NM109", "payer id")
        return ClaimRecord(
            claim_id=claim_id, kind="per-diem", member_id=member.member_id, coverage_id=coverage,
            payer_id=payer.payer_id, provider_id=provider.provider_id, provider_name=provider_name,
            period_start=_date(period[1]), period_end=_date(period[2]), created=_date(bht[4]),
            service_code=codes.table("service-code").from_code(hcpcs.pop()), rate=rate, diagnosis=diagnosis,
            days=tuple(days))
    except _Broken as exc:
        return ParseError(exc.message, segment=exc.segment or current[1][0], position=exc.position or current[0],
                          element=exc.element, claim_id=claim_id)
    except (ValueError, KeyError, IndexError) as exc:
        return ParseError(f"cannot read the claim: {exc}", segment=current[1][0], position=current[0],
                          claim_id=claim_id)


class _Broken(Exception):
    def __init__(self, element: str, message: str, segment: str | None = None, position: int | None = None):
        super().__init__(message)
        self.element, self.message, self.segment, self.position = element, message, segment, position


def _one(segments: list[tuple[int, list[str]]], sid: str) -> list[str]:
    return next(f for _, f in segments if f[0] == sid)


def _party(parties: Parties, kind: str, key: str | None, segments, sid: str, element: str, what: str):
    found = parties.get(kind, key or "")
    if found is None:
        position = next((p for p, f in segments if f[0] == sid and key in f), None)
        raise _Broken(element, f"no party has {what} {key!r}", segment=sid, position=position)
    return found


def _date(value: str) -> date:
    return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
