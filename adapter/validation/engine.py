"""The validator: a list of checks, fed by the conformance definitions, run over a resource's JSON.

Today it applies the base FHIR R4 rules (known elements, JSON shape, cardinality, primitive formats,
reference targets, required bindings); profile checks (slicing, fixed/pattern values, invariants) will
be further :data:`~adapter.validation.plans.CheckBuilder` entries fed by profile snapshots. Whether a
resource with errors is rejected (422) is the caller's policy, not the validator's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from adapter.errors import Issue
from adapter.validation.bindings import required_binding_check
from adapter.validation.plans import CheckBuilder, CheckContext, PlanCompiler
from adapter.validation.references import reference_target_check
from adapter.validation.structure_check import StructureWalker
from adapter.validation.terminology import Terminology

if TYPE_CHECKING:
    from adapter.conformance.definitions import Definitions

#: The element-level checks of base R4, in the order they report.
BASE_CHECKS: tuple[CheckBuilder, ...] = (reference_target_check, required_binding_check)


class Validator:
    """Validates resources (parsed JSON, decimals as ``Decimal``) against the base R4 definitions.

    Build one per process and share it: plans per scope, primitive regexes and ValueSet expansions are
    compiled on first use and kept. ``checks`` replaces the element-level checks (tests, later profiles).
    """

    def __init__(self, definitions: Definitions, checks: Sequence[CheckBuilder] = BASE_CHECKS) -> None:
        self.definitions = definitions
        self.terminology = Terminology(definitions)
        context = CheckContext(definitions.types, definitions, self.terminology)
        self._walker = StructureWalker(PlanCompiler(context, checks))

    def validate(self, resource: Any) -> list[Issue]:
        """Every problem of ``resource`` against base R4, errors and "not checked" information alike."""
        issues: list[Issue] = []
        self._walker.resource(resource, None, issues)
        return issues
