"""FHIR JSON as bytes, exact to the decimal digit.

FHIR decimals carry their precision in their text (``105.00`` is not ``105.0``; R4 §2.1.28.1 "decimal"),
so JSON is parsed with ``decimal.Decimal`` numbers and written back with the same digits. ``simplejson``
does this in C; the standard library and orjson turn decimals into floats (see BRIEF §5 and
docs/decisions/003-json-codec.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import simplejson

_COMPACT = {"separators": (",", ":"), "ensure_ascii": False, "use_decimal": True}
_PRETTY = {"indent": 2, "ensure_ascii": False, "use_decimal": True}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


#: The largest decimal exponent a number may have: beyond an IEEE double (about 1.8e308) no consumer can
#: hold it, and the search index (floats) cannot either. Applies to the exponent as written too, so that
#: ``0e999999999999`` cannot send decimal arithmetic into overflow.
MAX_EXPONENT = 308
#: Digits of the longest integer literal accepted (a double's range; Python's own limit is 4300).
MAX_INTEGER_DIGITS = 309


def json_decimal(text: str) -> Decimal:
    """A JSON number with a fraction or exponent, exact. :raise ValueError: beyond :data:`MAX_EXPONENT`."""
    value = Decimal(text)
    exponent = value.as_tuple().exponent
    if abs(exponent) > MAX_EXPONENT + 100 or (not value.is_zero() and abs(value.adjusted()) > MAX_EXPONENT):
        raise ValueError(f"the number {text[:40]} is out of range (|exponent| > {MAX_EXPONENT})")
    return value


def json_integer(text: str) -> int:
    """A JSON integer. :raise ValueError: more than :data:`MAX_INTEGER_DIGITS` digits."""
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits is out of range")
    return int(text)


def loads(data: bytes | str) -> Any:
    """Parse JSON with exact decimals; NaN, Infinity and numbers beyond a double's range are rejected.

    Raises:
        simplejson.JSONDecodeError, UnicodeDecodeError, ValueError: the input is not JSON.
    """
    return simplejson.loads(data, parse_float=json_decimal, parse_int=json_integer, parse_constant=_reject_constant)


def dumps(value: Any, *, pretty: bool = False) -> bytes:
    """Serialize to UTF-8 JSON bytes, decimals written with their own digits."""
    return simplejson.dumps(value, **(_PRETTY if pretty else _COMPACT)).encode("utf-8")
