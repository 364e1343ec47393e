"""Value semantics shared by indexing and querying, so both sides compare like with like.

- Strings (R4 search §3.1.1.4.9): searches ignore case and accents, so stored and searched text go
  through the same :func:`normalize`.
- Numbers and quantities (§3.1.1.4.8): a decimal stands for the interval its written precision implies
  (``100`` is ``[99.5, 100.5]``, ``100.00`` is ``[99.995, 100.005]``). An ``int`` is exact: the JSON
  reader gives ``int`` for integer literals and ``Decimal`` for everything with a fraction or exponent.
- References (§3.1.1.4.10): ``Type/id``, absolute ``.../Type/id[/_history/v]``, and canonical
  ``url|version`` are split into the columns of ``search_reference``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

#: Width of the indexed text columns (``String(255)``): longer values are cut, on both sides alike.
TEXT_WIDTH = 255
#: Widths of ``search_reference.target_type`` / ``target_id`` (``String(64)``).
ID_WIDTH = 64
#: Stand-ins for the open ends of a Range; finite so that every database stores them as plain doubles.
NUMBER_MIN = -1.0e300
NUMBER_MAX = 1.0e300

_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def normalize(text: str) -> str:
    """Lower-case, accent-free, single-spaced text: what a default string search compares."""
    if text.isascii():
        folded = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(folded.split())[:TEXT_WIDTH]


def clip(text: str | None) -> str | None:
    """Cut a value to the indexed column width (see :data:`TEXT_WIDTH`)."""
    return text[:TEXT_WIDTH] if text is not None and len(text) > TEXT_WIDTH else text


def number_range(value: Decimal | int | float) -> tuple[float, float]:
    """The interval a stored number stands for: exact for ``int``, by written precision for ``Decimal``."""
    if isinstance(value, Decimal):
        return decimal_range(value)
    return float(value), float(value)


def decimal_range(value: Decimal) -> tuple[float, float]:
    """``value`` ± half a unit of its last written digit (``1.50`` → ``[1.495, 1.505]``)."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):  # NaN or Infinity: not a FHIR decimal
        raise ValueError(f"not a finite number: {value}")
    half = Decimal(5).scaleb(exponent - 1)
    return float(value - half), float(value + half)


def parse_decimal(text: str) -> Decimal | None:
    """A search number (``100``, ``1.5e2``, ``-3.25``) or ``None`` when it is not one."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or abs(value.as_tuple().exponent) > 400 or abs(value.adjusted()) > 308:
        return None  # beyond a double: the index cannot compare it (and 1e999999999 overflows the range math)
    return value


@dataclass(frozen=True, slots=True)
class ReferenceTarget:
    """What a reference points at, in the columns of ``search_reference``."""

    target_type: str | None = None
    target_id: str | None = None
    target_url: str | None = None
    target_version: str | None = None


def parse_reference(text: str, resource_types: frozenset[str]) -> ReferenceTarget | None:
    """Split a reference or canonical into type/id/url/version; ``None`` for ``#contained`` and blanks.

    ``Type/id`` (also ``Type/id/_history/v``) needs ``Type`` to be a resource type, so that relative
    URLs to other things are not mistaken for local references. Absolute URLs keep the whole URL (for
    searches by URL) and, when they end in ``Type/id``, the type and id too (for ``_include`` and
    chaining across servers that use full URLs). ``url|version`` canonicals split off the version.
    """
    text = text.strip()
    if not text or text.startswith("#"):
        return None
    if "|" in text:
        url, _, version = text.partition("|")
        return ReferenceTarget(target_url=clip(url), target_version=version[:ID_WIDTH] or None)
    segments = text.split("/")
    version = None
    if len(segments) >= 4 and segments[-2] == "_history":
        version = segments[-1][:ID_WIDTH]
        segments = segments[:-2]
    absolute = "://" in text or text.startswith("urn:")
    typed = _type_and_id(segments, resource_types)
    if typed is None:
        return ReferenceTarget(target_url=clip(text), target_version=version if absolute else None)
    target_type, target_id = typed
    url = clip("/".join(segments)) if absolute else None
    return ReferenceTarget(target_type, target_id, url, version)


def _type_and_id(segments: list[str], resource_types: frozenset[str]) -> tuple[str, str] | None:
    if len(segments) < 2:
        return None
    target_type, target_id = segments[-2], segments[-1]
    if target_type in resource_types and _ID.fullmatch(target_id):
        return target_type, target_id
    return None


def is_id(text: str) -> bool:
    """Whether ``text`` is a valid FHIR logical id (``[A-Za-z0-9\\-.]{1,64}``)."""
    return _ID.fullmatch(text) is not None
