"""Endpoint declarations: which scopes satisfy which Need."""

from __future__ import annotations

from adapter.auth.access import Access
from adapter.auth.needs import AUTHENTICATED, on, on_every_type, on_type
from adapter.auth.scopes import Permissions


def _access(scope: str) -> Access:
    return Access("c", Permissions.parse(scope))


def test_type_from_the_url_and_letters():
    need = on_type("s")
    assert need.refusal(_access("system/Encounter.rs"), {"res_type": "Encounter"}) is None
    assert need.refusal(_access("system/Encounter.r"), {"res_type": "Encounter"}) is not None
    assert need.refusal(_access("system/*.rs"), {"res_type": "Patient"}) is None
    assert "c" in need.refusal(_access("system/Encounter.s"), {"res_type": "Encounter"}, extra="c")


def test_one_of_every_type_and_also():
    assert on_type(one_of="cu").refusal(_access("system/Patient.u"), {"res_type": "Patient"}) is None
    assert on_type(one_of="cu").refusal(_access("system/Patient.rs"), {"res_type": "Patient"}) is not None
    assert on_every_type("rs").refusal(_access("system/Patient.rs system/Encounter.rs"), {}) is not None
    assert on_every_type("rs").refusal(_access("system/*.read"), {}) is None
    group_export = on("Group", "r", also=(("*", "rs"),))
    assert group_export.refusal(_access("system/Group.r"), {}) is not None
    assert group_export.refusal(_access("system/*.rs"), {}) is None
    claims = on_every_type("rs", also=(("Claim", "c"),))
    assert claims.refusal(_access("system/*.rs"), {}) is not None
    assert claims.refusal(_access("system/*.rs system/Claim.c"), {}) is None
    assert AUTHENTICATED.refusal(_access("system/Patient.r"), {}) is None
