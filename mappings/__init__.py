"""CMP records <-> FHIR resources: pure functions, one module per record kind (see ``README.md``).

Each kind module (:mod:`mappings.member`, :mod:`mappings.team`, :mod:`mappings.enrollment`, ...) has a
pydantic record model, ``to_fhir(record) -> list[dict]`` and ``from_fhir(resources) -> record``.
:data:`KIND_NAMES` lists the delivered kinds; :func:`kind` returns the module of one.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

KIND_NAMES = ("member", "team", "enrollment", "treatment_plan", "quality_contact", "team_meeting", "claim",
              "shared_care_plan")


def kind(name: str) -> ModuleType:
    """The mapping module of record kind ``name``.

    Raises:
        KeyError: ``name`` is not a record kind.
    """
    if name not in KIND_NAMES:
        raise KeyError(f"unknown record kind {name!r}; known: {', '.join(KIND_NAMES)}")
    return import_module(f"{__name__}.{name}")
