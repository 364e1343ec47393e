"""Compartments read from the CompartmentDefinitions in the loaded FHIR packages (R4 compartmentdefinition.html).

The Patient compartment says, per resource type, which search parameters link a resource to a patient
(``Observation``: ``subject``, ``performer``). Bulk Data's patient- and group-level exports take the
resources in the compartments of the patients concerned; the lists come from the definitions, never from
code.
"""

from __future__ import annotations

from adapter.conformance.definitions import Definitions
from adapter.errors import FhirError

PATIENT_COMPARTMENT = "http://hl7.org/fhir/CompartmentDefinition/patient"


def compartment_params(definitions: Definitions, url: str = PATIENT_COMPARTMENT) -> dict[str, tuple[str, ...]]:
    """The search parameters that put a resource of each type in the compartment, by type.

    ``{def}`` (the compartment's own resource, e.g. a Patient in its own compartment) is dropped: that
    link is the resource's id, which callers handle. Types listed without parameters are not in the
    compartment and are left out.

    Raises:
        FhirError: the CompartmentDefinition is not in the loaded packages (a broken installation).
    """
    definition = definitions.resource(url)
    if definition is None:
        raise FhirError(f"the CompartmentDefinition {url} is not in the loaded FHIR packages")
    params: dict[str, tuple[str, ...]] = {}
    for entry in definition.get("resource", []):
        codes = tuple(code for code in entry.get("param", []) if code != "{def}")
        if codes or entry.get("code") == definition.get("code"):
            params[entry["code"]] = codes
    return params
