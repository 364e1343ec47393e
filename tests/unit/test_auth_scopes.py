"""SMART system scopes: parsing v1 and v2, granting never widens, permissions checks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapter.auth.scopes import Permissions, SystemScope, grant

TYPES = ["*", "Patient", "Encounter", "CarePlan"]
PERMS = ["read", "write", "*", "c", "r", "u", "d", "s", "rs", "cud", "cruds", "cu", "ds"]
scope_text = st.builds(lambda t, p: f"system/{t}.{p}", st.sampled_from(TYPES), st.sampled_from(PERMS))
scope_strings = st.lists(scope_text, max_size=5).map(" ".join)


def test_v1_and_v2_parse_to_letters():
    assert SystemScope.parse("system/CarePlan.read") == SystemScope("CarePlan", frozenset("rs"), 1)
    assert SystemScope.parse("system/*.write") == SystemScope("*", frozenset("cud"), 1)
    assert SystemScope.parse("system/Encounter.cruds") == SystemScope("Encounter", frozenset("cruds"), 2)
    assert SystemScope.parse("system/*.rs").text() == "system/*.rs"
    assert SystemScope.parse("system/*.*").text() == "system/*.*"
    for refused in ("patient/*.rs", "user/Patient.read", "system/Patient.sr", "system/Patient.rs?category=x",
                    "system/patient.rs", "openid", "system/Patient.", "launch"):
        assert SystemScope.parse(refused) is None, refused


def test_permissions():
    permissions = Permissions.parse("system/CarePlan.read system/*.c")
    assert permissions.allows("CarePlan", "s") and permissions.allows("Patient", "c")
    assert not permissions.allows("Patient", "r") and not permissions.allows("*", "r")
    assert permissions.types_allowing("r") == frozenset({"CarePlan"})
    assert permissions.types_allowing("c") is None


@given(scope_strings, scope_strings)
def test_grant_never_widens(requested: str, registered: str):
    granted = Permissions.parse(" ".join(grant(requested, registered)))
    asked, allowed = Permissions.parse(requested), Permissions.parse(registered)
    for res_type in ("Patient", "Encounter", "CarePlan", "Claim"):
        for letter in "cruds":
            if granted.allows(res_type, letter):
                assert asked.allows(res_type, letter) and allowed.allows(res_type, letter)
            if asked.allows(res_type, letter) and allowed.allows(res_type, letter) and res_type != "Claim":
                assert granted.allows(res_type, letter)


def test_grant_keeps_the_requested_spelling():
    assert grant("system/CarePlan.read", "system/*.*") == ["system/CarePlan.read"]
    assert grant("system/*.rs system/Encounter.cruds", "system/*.read system/Encounter.write") == [
        "system/*.rs", "system/Encounter.cud"]  # what * already grants is not repeated
    assert grant("system/*.rs", "system/Patient.read") == ["system/Patient.rs"]
