"""CMP per-diem claim records <-> X12 005010X222A1 837P: pyx12 validates what we write, the round trip is
exact, and a malformed interchange is a ParseError naming segment and element, never a traceback."""

from __future__ import annotations

import importlib.util
import io
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import pyx12.params
import pyx12.x12n_document
from hypothesis import HealthCheck, given, settings

from mappings.claim import ClaimRecord
from mappings.x12_837p import (
    Address,
    Member,
    ParseError,
    Parties,
    Payer,
    Provider,
    claims_to_837p,
    parse_837p,
    validate_837p,
)
from tests.unit.test_mappings_claim import fee_claims, per_diem_claims

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "cmp" / "claims.x12"
SCRIPT = REPO / "scripts" / "make_cmp_x12.py"


def _script():
    spec = importlib.util.spec_from_file_location("make_cmp_x12", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make = _script()
TEXT = EXAMPLE.read_text(encoding="ascii")
PARTIES = make.parties()
ENVELOPE = make.ENVELOPE


def pyx12_valid(text: str) -> bool:
    """pyx12's own validator, called as its ``x12_valid`` script does, with a 999 written: no errors."""
    ack = io.StringIO()
    ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(text), ack, None)
    return ok and "IK5*A" in ack.getvalue() and "AK9*A" in ack.getvalue()


def segments(text: str) -> list[list[str]]:
    return [s.strip().split("*") for s in text.split("~") if s.strip()]


# --- the story's example ------------------------------------------------------------------------------

def test_example_file_is_generated_by_the_script():
    assert subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True).returncode == 0
    assert make.render() == TEXT


def test_example_is_valid_for_pyx12():
    assert validate_837p(TEXT) == []
    assert pyx12_valid(TEXT)


def test_example_parses_to_exactly_the_per_diem_claims():
    expected = [c.model_copy(update={"diagnosis_display": None}) for c in make.claims()]
    assert len(expected) == 83
    assert list(parse_837p(TEXT, PARTIES)) == expected


def test_envelope_control_numbers_and_counts():
    segs = segments(TEXT)
    isa, gs, ge, iea = segs[0], segs[1], segs[-2], segs[-1]
    assert len(TEXT.split("~")[0]) + 1 == 106
    assert isa[13] == iea[2] == "000000001" and int(gs[6]) == int(ge[2]) == 1
    assert iea[1] == "1" and gs[8] == "005010X222A1"
    starts = [i for i, s in enumerate(segs) if s[0] == "ST"]
    assert int(ge[1]) == len(starts) == 83
    for n, start in enumerate(starts, 1):
        end = next(i for i in range(start, len(segs)) if segs[i][0] == "SE")
        assert segs[start][2] == segs[end][2] == f"{n:04d}"
        assert int(segs[end][1]) == end - start + 1
        assert [s[0] for s in segs[start:end + 1]].count("CLM") == 1


def test_loops_of_one_claim():
    first = TEXT[:TEXT.index("SE*")]
    for segment in ("NM1*41*2*CMP FHIR ADAPTER*****46*CMPADAPTER", "NM1*40*2*MONTANA MEDICAID*****46*MTMEDICAID",
                    "HL*1**20*1", "NM1*85*2*Yellowstone PACT Team*****XX*1000031009", "REF*EI*810003100",
                    "N3*500 Main Street", "HL*2*1*22*0", "SBR*P*18*cov-m-001******MC",
                    "NM1*IL*1*Halvorsen*Ruth****MI*MT100200301", "DMG*D8*19710314*F",
                    "NM1*PR*2*MONTANA MEDICAID*****PI*MTMEDICAID", "CLM*clm-m-001-w1*231.00***53:B:1*Y*A*Y*Y",
                    "HI*ABK:F200", "LX*2", "SV1*HC:H0040*115.50*UN*1***1", "DTP*472*D8*20260109",
                    "REF*6R*qc-m-001-20260109"):
        assert f"\n{segment}~" in first, segment


# --- generated claims ---------------------------------------------------------------------------------

def _parties_for(record: ClaimRecord) -> Parties:
    here = Address("1 Main Street", "Helena", "MT", "59601")
    return Parties(providers=(Provider(record.provider_id, "Some Team", "1234567893", "123456789", here),),
                   members=(Member(record.member_id, "MT000000001", "Doe", "Jane", date(1980, 2, 3), "F", here),),
                   payers=(Payer(record.payer_id, "PAYER", "PAYER01"),))


def _writable(record: ClaimRecord) -> ClaimRecord:
    """What an 837P carries of a per-diem claim: the billing provider's name always, no diagnosis display."""
    return record.model_copy(update={"claim_id": record.claim_id[:38], "provider_name": "Some Team",
                                     "diagnosis_display": None})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(per_diem_claims())
def test_record_837p_record(record):
    record = _writable(record)
    parties = _parties_for(record)
    text = claims_to_837p([record, record], ENVELOPE, parties)
    assert list(parse_837p(text, parties)) == [record, record]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(per_diem_claims())
def test_generated_837p_is_valid_for_pyx12(record):
    text = claims_to_837p([_writable(record)], ENVELOPE, _parties_for(record))
    assert validate_837p(text) == []
    assert pyx12_valid(text)


@settings(max_examples=10, deadline=None)
@given(fee_claims())
def test_care_management_fee_claims_are_refused(record):
    with pytest.raises(ValueError, match="only per-diem claims go to 837P"):
        claims_to_837p([record], ENVELOPE, _parties_for(record))


def test_a_party_missing_is_refused():
    record = make.claims()[0]
    with pytest.raises(ValueError, match="no member 'm-001' in the parties"):
        claims_to_837p([record], ENVELOPE, Parties(providers=PARTIES.providers, payers=PARTIES.payers))


def test_a_claim_without_diagnosis_is_refused():
    """HI is required in 005010X222A1 (pyx12 says so too: 'Mandatory segment ... (HI) missing')."""
    record = make.claims()[0].model_copy(update={"diagnosis": None, "diagnosis_display": None})
    with pytest.raises(ValueError, match=r"needs an ICD-10-CM diagnosis \(HI, SV107\)"):
        claims_to_837p([record], ENVELOPE, PARTIES)


def test_a_claim_id_too_long_for_clm01_is_refused():
    record = make.claims()[0].model_copy(update={"claim_id": "c" * 39})
    with pytest.raises(ValueError, match=r"CLM01"):
        claims_to_837p([record], ENVELOPE, PARTIES)


# --- malformed input ----------------------------------------------------------------------------------

def _errors(text: str) -> list[ParseError]:
    out = list(parse_837p(text, PARTIES))
    assert out and all(isinstance(o, ParseError) for o in out)
    return out


@pytest.mark.parametrize(("name", "text", "segment", "element", "words"), [
    ("truncated", TEXT[:len(TEXT) // 2], "IEA", None, "without an IEA trailer"),
    ("wrong segment terminator", TEXT[:107] + TEXT[107:].replace("~", "!"), "GS", None,
     "end in '!', not in the segment terminator '~'"),
    ("bad ISA length", TEXT.replace("*          *00", "*         *00", 1), "ISA", "ISA16", "not 106 characters"),
    ("SE count mismatch", TEXT.replace("SE*29*0001", "SE*28*0001", 1), "SE", "SE01", "SE count of 28"),
    ("SE control number", TEXT.replace("SE*29*0001", "SE*29*0002", 1), "SE", "SE02", "does not match ST"),
    ("GE count", TEXT.replace("GE*83*1", "GE*82*1"), "GE", "GE01", "GE count of 82"),
    ("IEA control number", TEXT.replace("IEA*1*000000001", "IEA*1*000000002"), "IEA", "IEA02", "does not match"),
    ("bad amount", TEXT.replace("CLM*clm-m-001-w1*231.00", "CLM*clm-m-001-w1*231.0X"), "CLM", "CLM02",
     "invalid character"),
    ("not X12", "hello", None, None, "starts with ISA"),
    ("empty", "", None, None, "starts with ISA"),
])
def test_malformed_interchange_is_rejected_with_segment_and_element(name, text, segment, element, words):
    first = _errors(text)[0]
    assert (first.segment, first.element) == (segment, element), str(first)
    assert words in first.message
    assert first.position is not None


def test_missing_clm_names_the_transaction_set():
    text = re.sub(r"CLM\*clm-m-001-w1\*[^~]*~\n", "", TEXT, count=1)
    errors = _errors(text)
    assert errors[0].segment == "CLM" and errors[0].position == 3
    assert "0 CLM segments" in errors[0].message
    assert str(errors[0]).startswith("segment CLM #3: transaction set ST #3..SE #30")


def test_unknown_npi_rejects_each_claim_with_its_element():
    out = list(parse_837p(TEXT.replace("1000031009", "1999999999"), PARTIES))
    assert len(out) == 83
    bad = [o for o in out if isinstance(o, ParseError)]
    assert len(bad) == 46 and all(b.element == "NM109" and b.segment == "NM1" for b in bad)
    assert bad[0].claim_id == "clm-m-001-w1" and bad[0].position == 9


def test_other_delimiters_read_the_same():
    """The delimiters are the ISA's, not ours: | elements, > components, ! segments."""
    claim = make.claims()[0]
    text = claims_to_837p([claim], ENVELOPE, PARTIES).replace("*", "|").replace(":", ">").replace("~", "!")
    assert list(parse_837p(text, PARTIES)) == [claim.model_copy(update={"diagnosis_display": None})]


@pytest.mark.parametrize(("text", "segment", "position", "element", "words"), [
    (TEXT.replace("GE*83*1~\n", "GE*83*1~\nGE*83*1~\n"), "GE", 2443, None, "GE out of place"),
    (TEXT.replace("SE*29*0001~\n", "", 1), "ST", 31, None, "ST out of place: inside an open ST"),
    (TEXT.replace("GE*83*1", "GE*8-3*1"), "GE", 2442, "GE01", "not a count"),
])
def test_envelope_out_of_order_is_an_error_not_a_traceback(text, segment, position, element, words):
    """pyx12 4.0.0 raises IndexError/AttributeError/ValueError on these; we name the segment first."""
    first = _errors(text)[0]
    assert (first.segment, first.position, first.element) == (segment, position, element), str(first)
    assert words in first.message
