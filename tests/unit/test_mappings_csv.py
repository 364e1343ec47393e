"""CMP records <-> CSV: the layout follows the models, round trips are exact, bad rows are reported and
rejected into a file that can be corrected and read again."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings import KIND_NAMES, csv_format, kind
from mappings.quality_contact import QualityContactRecord
from mappings.records import StaffRef
from tests.unit import (
    test_mappings_claim,
    test_mappings_enrollment,
    test_mappings_member,
    test_mappings_quality_contact,
    test_mappings_shared_care_plan,
    test_mappings_team,
    test_mappings_team_meeting,
    test_mappings_treatment_plan,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cmp"

STRATEGIES = {
    "member": test_mappings_member.member_records(),
    "team": test_mappings_team.team_records,
    "enrollment": test_mappings_enrollment.enrollment_records(),
    "treatment_plan": test_mappings_treatment_plan.records,
    "quality_contact": test_mappings_quality_contact.contact_records(),
    "team_meeting": test_mappings_team_meeting.contact_records(),
    "claim": test_mappings_claim.per_diem_claims() | test_mappings_claim.fee_claims(),
    "shared_care_plan": test_mappings_shared_care_plan.plan_records(),
}


def to_text(kind_name: str, records: list) -> str:
    out = io.StringIO(newline="")
    csv_format.write_csv(kind_name, records, out)
    return out.getvalue()


def read(kind_name: str, text: str) -> list[csv_format.RowResult]:
    return list(csv_format.read_csv(kind_name, io.StringIO(text, newline="")))


def contact(**changes: object) -> QualityContactRecord:
    fields = {"contact_id": "c1", "contact_id_system": "https://t.example.org/c", "member_id": "m1",
              "team_id": "t1", "mode": "F", "start": "2026-01-06T13:00:00-07:00",
              "staff": (StaffRef(staff_id="ward", name="Jamie Ward"),), "purposes": ("e", "f")}
    return QualityContactRecord(**{**fields, **changes})


def test_every_kind_has_a_layout_covering_every_field():
    assert set(STRATEGIES) == set(KIND_NAMES)
    for kind_name in KIND_NAMES:
        model = kind(kind_name).MODEL
        columns = csv_format.columns_of(kind_name)
        assert {c.field for c in columns} == set(model.model_fields), kind_name
        assert len({c.name for c in columns}) == len(columns)


def test_the_layout_document_and_the_examples_are_generated_from_the_models():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "make_cmp_csv.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    doc = (REPO / "docs" / "records" / "csv.md").read_text(encoding="utf-8")
    for kind_name in KIND_NAMES:
        for column in csv_format.header(kind_name):
            assert f"| `{column}` |" in doc


@pytest.mark.parametrize("kind_name", KIND_NAMES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_records_csv_records(kind_name, data):
    records = data.draw(st.lists(STRATEGIES[kind_name], max_size=3))
    results = read(kind_name, to_text(kind_name, records))
    assert [r.errors for r in results] == [()] * len(records)
    assert [r.record for r in results] == records


@given(st.lists(st.text(min_size=1), min_size=1))
def test_multi_values_escape_separator_and_backslash(values):
    assert csv_format.split(csv_format.join(values)) == values


@pytest.mark.parametrize("kind_name", KIND_NAMES)
def test_the_csv_examples_are_the_json_examples(kind_name):
    model = kind(kind_name).MODEL
    expected = [model.model_validate(r) for r in json.loads((EXAMPLES / f"{kind_name}.json").read_text("utf-8"))]
    text = (EXAMPLES / f"{kind_name}.csv").read_bytes().decode("utf-8")
    results = read(kind_name, text)
    assert [r.errors for r in results] == [()] * len(expected)
    assert [r.record for r in results] == expected
    assert to_text(kind_name, [r.record for r in results]) == text


def test_values_keep_their_exact_form():
    (claim,) = json.loads((EXAMPLES / "claim.json").read_text("utf-8"))[:1]
    record = kind("claim").MODEL.model_validate(claim)
    text = to_text("claim", [record])
    assert ",115.50," in text
    (result,) = read("claim", text)
    assert result.record.rate == Decimal("115.50") and str(result.record.rate) == "115.50"
    member = json.loads((EXAMPLES / "member.json").read_text("utf-8"))[0]
    text = to_text("member", [kind("member").MODEL.model_validate(member)])
    assert ",true,false," in text


def test_separators_quotes_and_commas_in_values_survive():
    record = contact(member_name='Ruth "R|H", Halvorsen',
                     staff=(StaffRef(staff_id="ward", name="Ward\\J|W"), StaffRef(staff_id="reyes")))
    text = to_text("quality_contact", [record])
    assert "Ward\\\\J\\|W|" in text
    (result,) = read("quality_contact", text)
    assert result.record == record


TRICKY = st.from_regex(r'[A-Za-z|\\,"][A-Za-z |\\,"]{0,8}[A-Za-z|\\,"]', fullmatch=True)


@given(names=st.lists(st.none() | TRICKY, min_size=1, max_size=4), team_name=st.none() | TRICKY)
def test_separators_backslashes_and_quotes_round_trip(names, team_name):
    record = contact(team_name=team_name,
                     staff=tuple(StaffRef(staff_id=f"s{i}", name=n) for i, n in enumerate(names)))
    text = to_text("quality_contact", [record])
    (result,) = read("quality_contact", text)
    assert result.record == record
    assert to_text("quality_contact", [result.record]) == text


def test_a_rejected_short_row_is_padded_and_its_error_stays_in_the_error_column():
    head = to_text("quality_contact", []).rstrip("\n")
    results = read("quality_contact", f"{head}\nc9,https://t.example.org/c\n")
    assert results[0].errors == (csv_format.RowError(2, "", "has 2 cells, the header has 13"),)
    rejects = io.StringIO(newline="")
    csv_format.write_rejects("quality_contact", results, rejects)
    (again,) = read("quality_contact", rejects.getvalue())
    assert {e.column for e in again.errors} >= {"member_id", "mode", "start", "staff.staff_id", "purposes"}


def test_empty_cells_are_absent_and_defaults_apply():
    header = "contact_id,contact_id_system,member_id,team_id,mode,start,staff.staff_id,staff.name,purposes\n"
    (result,) = read("quality_contact", header + "c1,https://t.example.org/c,m1,t1,F,2026-01-06T13:00:00-07:00,"
                     "ward|reyes,|Marisol Reyes,a\n")
    assert result.ok
    assert result.record.status == "finished" and result.record.end is None and result.record.member_name is None
    assert result.record.staff == (StaffRef(staff_id="ward"), StaffRef(staff_id="reyes", name="Marisol Reyes"))


@pytest.mark.parametrize(("header", "message"), [
    ("contact_id,contact_id_system,member_id,team_id,mode,start,staff.staff_id,purposes,colour",
     "unknown column(s): colour"),
    ("contact_id,member_id,team_id,mode,start,purposes", "missing required column(s): contact_id_system, "
                                                         "staff.staff_id"),
    ("contact_id,contact_id,contact_id_system,member_id,team_id,mode,start,staff.staff_id,purposes",
     "repeated column(s): contact_id"),
    ("", "empty"),
])
def test_a_bad_header_is_one_error_and_nothing_is_read(header, message):
    with pytest.raises(csv_format.CsvHeaderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        csv_format.read_csv("quality_contact", io.StringIO(header + ("\n" if header else "")))


def test_bad_rows_never_stop_good_ones_and_name_row_column_and_reason():
    good = to_text("quality_contact", [contact(contact_id="c1"), contact(contact_id="c2")])
    head, first, second = good.splitlines()
    bad_date = first.replace("2026-01-06T13:00:00-07:00", "2026-02-30T13:00:00-07:00").replace("c1,", "b1,", 1)
    bad_staff = second.replace("ward,Jamie Ward", "ward|reyes,Jamie Ward|M|X").replace("c2,", "b2,", 1)
    short = "b3,oops"
    text = "\n".join([head, first, bad_date, "", bad_staff, short, second]) + "\n"
    results = read("quality_contact", text)
    assert [r.row for r in results] == [2, 3, 5, 6, 7]
    assert [r.ok for r in results] == [True, False, False, False, True]
    assert results[1].errors[0].row == 3 and results[1].errors[0].column == "start"
    assert {e.column for e in results[2].errors} == {"staff.staff_id"}
    assert "has 2 value(s), staff.name has 3" in results[2].errors[0].reason
    assert results[3].errors[0].column == "" and "has 2 cells" in results[3].errors[0].reason


def test_validation_errors_point_at_the_column_and_the_value():
    text = to_text("quality_contact", [contact(purposes=("a", "b"))])
    head, row = text.splitlines()
    row = row.replace("a|b", "a|bad code").replace(",F,", ",,")
    (result,) = read("quality_contact", f"{head}\n{row}\n")
    columns = {e.column: e.reason for e in result.errors}
    assert set(columns) == {"purposes", "mode"}
    assert columns["purposes"].startswith("value 2:")
    member = json.loads((EXAMPLES / "member.json").read_text("utf-8"))[0]
    text = to_text("member", [kind("member").MODEL.model_validate(member)]).replace(",true,false,", ",yes,false,")
    (result,) = read("member", text)
    assert [(e.column, e.reason) for e in result.errors] == [
        ("sdmi.medical_necessity", "'yes' is not a boolean (true or false)")]


def test_rejects_can_be_corrected_and_read_again():
    good = to_text("quality_contact", [contact(contact_id="c1"), contact(contact_id="c2")])
    head, first, second = good.splitlines()
    bad = first.replace("c1,", "c3,", 1).replace(",F,", ",,")
    results = read("quality_contact", "\n".join([head, first, bad, second]) + "\n")
    rejects = io.StringIO(newline="")
    assert csv_format.write_rejects("quality_contact", iter(results), rejects) == 1
    lines = rejects.getvalue().splitlines()
    assert lines[0] == head + ",error"
    assert lines[1].startswith(bad + ",") and "mode:" in lines[1]
    again = read("quality_contact", rejects.getvalue())
    assert not again[0].ok
    second_rejects = io.StringIO(newline="")
    csv_format.write_rejects("quality_contact", again, second_rejects)
    assert second_rejects.getvalue() == rejects.getvalue()  # the error column is replaced, not repeated
    corrected = rejects.getvalue().replace(",finished,,", ",finished,F,")
    (fixed,) = read("quality_contact", corrected)
    assert fixed.ok and fixed.record == contact(contact_id="c3")


def test_rejects_can_be_written_while_the_good_rows_are_handled():
    good = to_text("quality_contact", [contact(contact_id="c1"), contact(contact_id="c2")])
    head, first, second = good.splitlines()
    out = io.StringIO(newline="")
    rejects, handled = csv_format.RejectsWriter("quality_contact", out), []
    for result in csv_format.read_csv("quality_contact", io.StringIO(f"{head}\n{first}\nx,y\n{second}\n")):
        if result.ok:
            handled.append(result.record.contact_id)
        else:
            rejects.add(result)
    assert rejects.close() == 1
    assert handled == ["c1", "c2"]
    assert out.getvalue().splitlines()[1] == "x,y" + "," * 11 + ",\"row: has 2 cells, the header has 13\""


def test_no_rejects_give_a_header_only_file():
    out = io.StringIO(newline="")
    assert csv_format.write_rejects("treatment_plan", [], out) == 0
    assert out.getvalue() == ",".join([*csv_format.header("treatment_plan"), "error"]) + "\n"


def test_a_byte_order_mark_and_crlf_are_read():
    text = to_text("quality_contact", [contact()])
    (result,) = read("quality_contact", "\ufeff" + text.replace("\n", "\r\n"))
    assert result.record == contact()


def test_columns_may_come_in_any_order_and_optional_ones_may_be_left_out():
    text = ("purposes,staff.staff_id,start,mode,team_id,member_id,contact_id_system,contact_id\n"
            "e|f,ward,2026-01-06T13:00:00-07:00,F,t1,m1,https://t.example.org/c,c1\n")
    (result,) = read("quality_contact", text)
    assert result.record == contact(staff=(StaffRef(staff_id="ward"),))
