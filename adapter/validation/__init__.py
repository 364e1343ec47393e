"""Resource validation driven by StructureDefinitions: base R4 rules now, profiles next.

The public surface is :class:`Validator`; the modules behind it are a terminology service
(``terminology``), per-scope plans (``plans``), the JSON walk (``structure_check``) and the element checks
(``primitives``, ``bindings``, ``references``).
"""

from adapter.validation.engine import Validator

__all__ = ["Validator"]
