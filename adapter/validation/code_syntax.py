"""The syntax of codes from large external code systems whose content this server does not hold.

SNOMED CT, LOINC, ICD-10-CM, HCPCS, CPT, NUCC, RxNorm... are too big (or licensed) to ship, and the
validator never calls a terminology server. A code from one of them cannot be proven to exist, but its
form can be checked: a SNOMED CT concept id is 6-18 digits with a Verhoeff check digit, a LOINC code is
digits, a dash and a check digit. A code that passes is reported as "not checked" (information); one that
fails cannot be a code of that system at all.

The table below is the only place that knows these systems; it is data, one entry per system URL
(terminologies-systems.html).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def _verhoeff_valid(digits: str) -> bool:
    """SNOMED CT identifiers end with a Verhoeff check digit (SNOMED CT TIG, "Check-digit")."""
    check = 0
    for position, digit in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[position % 8][int(digit)]]
    return check == 0


def _snomed_expression(code: str) -> bool:
    """A post-coordinated SNOMED CT expression (``123:456=789``) is a valid code, but not one we can read."""
    return any(mark in code for mark in ":|{=+")


@dataclass(frozen=True, slots=True)
class CodeSyntax:
    """How codes of one external system look."""

    name: str
    pattern: re.Pattern[str]
    rule: str
    """The form in words, for messages."""
    check: Callable[[str], bool] | None = None
    """A further test (check digit) run when the pattern matches."""
    exempt: Callable[[str], bool] | None = None
    """Codes that are valid in a form the pattern does not describe."""

    def problem(self, code: str) -> str | None:
        """Why ``code`` cannot be a code of this system, or None when its form is right."""
        if self.exempt is not None and self.exempt(code):
            return None
        if self.pattern.fullmatch(code) is None:
            return f"{code!r} is not a valid {self.name} code ({self.rule})"
        if self.check is not None and not self.check(code):
            return f"{code!r} is not a valid {self.name} code (its check digit is wrong)"
        return None


def _syntax(name: str, pattern: str, rule: str, check: Callable[[str], bool] | None = None,
            exempt: Callable[[str], bool] | None = None) -> CodeSyntax:
    return CodeSyntax(name, re.compile(pattern, re.ASCII), rule, check, exempt)


_HCPCS = _syntax("HCPCS Level II", r"[A-V][0-9]{4}", "a letter A-V and four digits, e.g. H0040")
_ICD10 = r"[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?"

#: System URL -> syntax of its codes.
EXTERNAL_SYSTEMS: dict[str, CodeSyntax] = {
    "http://snomed.info/sct": _syntax("SNOMED CT", r"[1-9][0-9]{5,17}",
                                      "6 to 18 digits ending in a check digit", _verhoeff_valid,
                                      _snomed_expression),
    "http://loinc.org": _syntax("LOINC", r"(L[APGLT])?[0-9]{1,8}-[0-9]",
                                "digits, a dash and a check digit, e.g. 85354-9 or LA6576-8"),
    "http://hl7.org/fhir/sid/icd-10-cm": _syntax("ICD-10-CM", _ICD10, "a letter, two characters and an "
                                                 "optional dotted extension, e.g. F20.9"),
    "http://hl7.org/fhir/sid/icd-10": _syntax("ICD-10", _ICD10, "a letter, two characters and an optional "
                                              "dotted extension, e.g. F20.9"),
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": _HCPCS,
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": _HCPCS,
    "urn:oid:2.16.840.1.113883.6.285": _HCPCS,
    "http://www.ama-assn.org/go/cpt": _syntax("CPT", r"[0-9]{4}[0-9FTU]", "four digits and a digit or F/T/U"),
    "http://nucc.org/provider-taxonomy": _syntax("NUCC provider taxonomy", r"[0-9]{3}[0-9A-Z]{6}X",
                                                 "10 characters ending in X, e.g. 207Q00000X"),
    "http://www.nlm.nih.gov/research/umls/rxnorm": _syntax("RxNorm", r"[0-9]{1,10}", "digits"),
    "http://hl7.org/fhir/sid/cvx": _syntax("CVX", r"[0-9]{1,3}", "one to three digits"),
    "http://hl7.org/fhir/sid/ndc": _syntax("NDC", r"[0-9]{4,5}-[0-9]{3,4}-[0-9]{1,2}|[0-9]{10,11}",
                                           "10 or 11 digits, optionally as three dash-separated groups"),
    "urn:oid:2.16.840.1.113883.6.238": _syntax("CDC Race & Ethnicity", r"[0-9]{4}-[0-9]",
                                               "four digits, a dash and a digit, e.g. 2106-3"),
    "http://unitsofmeasure.org": _syntax("UCUM", r"[!-~]+", "printable characters without spaces"),
}


def syntax_problem(system: str | None, code: str) -> str | None:
    """Why ``code`` cannot belong to ``system``, when the system is one whose syntax we know."""
    syntax = EXTERNAL_SYSTEMS.get(system or "")
    return syntax.problem(code) if syntax is not None else None


def system_name(system: str | None) -> str | None:
    syntax = EXTERNAL_SYSTEMS.get(system or "")
    return syntax.name if syntax is not None else None
