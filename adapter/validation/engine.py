"""The validator: a list of checks, fed by the conformance definitions, run over a resource's JSON.

Two layers run on every resource:

1. the base R4 layer (:mod:`~adapter.validation.structure_check`): known elements, JSON shape,
   cardinality, primitive formats, reference targets, required bindings of the base specification, and
   every extension checked by URL against its definition;
2. the profile layer (:mod:`~adapter.validation.profiles`): each profile the resource declares in
   ``meta.profile`` or the caller names, through its whole ``baseDefinition`` chain (snapshots are
   generated when a package ships only differentials), and the same for every nested resource (Bundle
   entries, contained resources) against its own ``meta.profile``.

Naming a base resource definition as a profile (``http://hl7.org/fhir/StructureDefinition/Patient``)
checks the base invariants (``dom-*``, ``pat-1``...) of a resource that declares no profile; they are
left out otherwise so that plain base validation keeps its speed.

Whether a resource with errors is rejected (422) is the caller's policy, not the validator's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from adapter.errors import Issue
from adapter.validation.bindings import required_binding_check
from adapter.validation.plans import CheckBuilder, CheckContext, PlanCompiler
from adapter.validation.profiles import ProfileEngine, extension_check_builder
from adapter.validation.references import reference_target_check
from adapter.validation.snapshots import Snapshots
from adapter.validation.structure_check import StructureWalker
from adapter.validation.terminology import Terminology

if TYPE_CHECKING:
    from adapter.conformance.definitions import Definitions

#: The element-level checks of base R4, in the order they report.
BASE_CHECKS: tuple[CheckBuilder, ...] = (reference_target_check, required_binding_check)


class Validator:
    """Validates resources (parsed JSON, decimals as ``Decimal``) against base R4 and their profiles.

    Build one per process and share it: plans per scope, profile trees, parsed FHIRPath, primitive
    regexes and ValueSet expansions are compiled on first use and kept.

    :param checks: the base layer's element-level checks (tests replace them).
    :param extensions: check every extension against its definition (unknown ones are reported).
    :param snapshots: where profile snapshots come from; tests pass ``Snapshots(definitions,
        regenerate=True)`` to validate with generated instead of published snapshots.
    """

    def __init__(self, definitions: Definitions, checks: Sequence[CheckBuilder] = BASE_CHECKS, *,
                 extensions: bool = True, snapshots: Snapshots | None = None) -> None:
        self.definitions = definitions
        self.terminology = Terminology(definitions)
        self.profiles = ProfileEngine(definitions, self.terminology, snapshots)
        builders = (*checks, extension_check_builder(self.profiles)) if extensions else tuple(checks)
        context = CheckContext(definitions.types, definitions, self.terminology)
        self._walker = StructureWalker(PlanCompiler(context, builders))

    def validate(self, resource: Any, profiles: Sequence[str] = ()) -> list[Issue]:
        """Every problem of ``resource``: base R4, then each declared or named profile.

        Errors, warnings and "not checked" information alike, each once, in the order found.
        """
        issues: list[Issue] = []
        with self.profiles.session() as session:
            self._walker.resource(resource, None, issues)
            if type(resource) is dict:
                self.profiles.validate(resource, tuple(profiles), issues, session)
        return list(dict.fromkeys(issues))
