"""FHIR JSON as bytes, exact to the decimal digit.

FHIR decimals carry their precision in their text (``105.00`` is not ``105.0``; R4 §2.1.28.1 "decimal"),
so JSON is parsed with ``decimal.Decimal`` numbers and written back with the same digits. ``simplejson``
parses (in C; the standard library and orjson turn decimals into floats: BRIEF §5 and
docs/decisions/003-json-codec.md); compact output is written by orjson with each Decimal spliced in as its
own text, which gives simplejson's bytes much faster (see :func:`dumps`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
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
    """Serialize to UTF-8 JSON bytes, decimals written with their own digits.

    Compact JSON is written by orjson, with each ``Decimal`` spliced in as its own text (``orjson.Fragment``):
    the same bytes as simplejson, 15-100 times faster (simplejson escapes each string in Python when
    ``ensure_ascii`` is off; docs/performance.md, issue 5). What orjson cannot write (integers beyond 64
    bits, non-string keys) falls back to simplejson. Pretty output stays with simplejson.
    """
    if not pretty:
        try:
            return orjson.dumps(value, default=_decimal_text)
        except orjson.JSONEncodeError:
            pass
    return simplejson.dumps(value, **(_PRETTY if pretty else _COMPACT)).encode("utf-8")


def _decimal_text(value: Any) -> orjson.Fragment:
    if type(value) is Decimal and value.is_finite():
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON")
