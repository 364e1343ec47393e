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


def loads(data: bytes | str) -> Any:
    """Parse JSON with exact decimals; NaN and Infinity are rejected (not JSON).

    Raises:
        simplejson.JSONDecodeError, UnicodeDecodeError, ValueError: the input is not JSON.
    """
    return simplejson.loads(data, use_decimal=True, parse_constant=_reject_constant)


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
