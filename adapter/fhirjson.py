"""FHIR JSON as bytes, exact to the decimal digit.

FHIR decimals carry their precision in their text (``105.00`` is not ``105.0``; R4 §2.1.28.1 "decimal"),
so JSON is parsed with ``decimal.Decimal`` numbers and written back with the same digits. ``simplejson``
does this in C; the standard library and orjson turn decimals into floats (see BRIEF §5 and
docs/decisions/003-json-codec.md).
"""

from __future__ import annotations

from typing import Any

import simplejson

_COMPACT = {"separators": (",", ":"), "ensure_ascii": False, "use_decimal": True}
_PRETTY = {"indent": 2, "ensure_ascii": False, "use_decimal": True}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(data: bytes | str) -> Any:
    """Parse JSON with exact decimals; NaN and Infinity are rejected (not JSON).

    Raises:
        simplejson.JSONDecodeError, UnicodeDecodeError, ValueError: the input is not JSON.
    """
    return simplejson.loads(data, use_decimal=True, parse_constant=_reject_constant)


def dumps(value: Any, *, pretty: bool = False) -> bytes:
    """Serialize to UTF-8 JSON bytes, decimals written with their own digits."""
    return simplejson.dumps(value, **(_PRETTY if pretty else _COMPACT)).encode("utf-8")
