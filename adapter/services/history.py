"""The parameters of a history interaction: ``_count``, ``_since``, ``_at`` and the page offset."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from adapter.errors import BadRequest
from adapter.settings import Settings


@dataclass(frozen=True)
class HistoryRequest:
    count: int
    offset: int
    since: datetime | None
    at: datetime | None
    since_text: str | None = None
    at_text: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str], settings: Settings) -> HistoryRequest:
        """:raise BadRequest: a parameter that is not a number or an instant."""
        count = _int(params, "_count", settings.default_page_size)
        return cls(
            count=max(0, min(count, settings.max_page_size)),
            offset=max(0, _int(params, "_offset", 0)),
            since=_instant(params.get("_since"), "_since"),
            at=_instant(params.get("_at"), "_at"),
            since_text=params.get("_since"),
            at_text=params.get("_at"),
        )

    def query(self, offset: int) -> str:
        parts = [f"_count={self.count}"]
        if self.since_text:
            parts.append(f"_since={self.since_text}")
        if self.at_text:
            parts.append(f"_at={self.at_text}")
        parts.append(f"_offset={offset}")
        return "&".join(parts)


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(f"{name}={raw!r} is not a whole number", expression=name) from exc
    if abs(value) > 2**31 - 1:  # SQL integer parameters overflow beyond
        raise BadRequest(f"{name} is larger than {2**31 - 1}", expression=name)
    return value


def _instant(raw: str | None, name: str) -> datetime | None:
    """A FHIR instant/dateTime as naive UTC (a date without time means its start, in UTC)."""
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError as exc:
        raise BadRequest(f"{name}={raw!r} is not a FHIR instant (e.g. 2026-11-22T10:00:00Z)", expression=name) from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
