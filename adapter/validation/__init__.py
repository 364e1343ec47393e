"""Resource validation driven by StructureDefinitions: base R4, then every declared or named profile.

The public surface is :class:`Validator` (``validate(resource, profiles=()) -> list[Issue]``). Behind it:

- base layer: per-scope plans (``plans``), the JSON walk (``structure_check``), element checks
  (``primitives``, ``bindings``, ``references``) and a local terminology service (``terminology``);
- profile layer (``profiles``): snapshots, published or generated from differentials (``snapshots``),
  compiled into element rules (``profile_tree``) and checked with ``values``, ``slicing``, ``targets``
  and ``invariants`` (FHIRPath: ``fhirpath_fast`` first, fhirpathpy with ``fhirpath_functions`` behind
  it); codes of external systems get a syntax check (``code_syntax``); references resolve within the
  Bundle or the contained resources (``resolution``).
"""

from adapter.validation.engine import Validator

__all__ = ["Validator"]
