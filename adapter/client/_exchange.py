"""Moving resources between files and any FHIR R4 server: push, pull and the sandbox round-trip check.

These are what ``cmp-adapter push|pull|sandbox-check`` run. They use only standard R4 interactions
(transaction, search with paging, read), so they work against HAPI and Firely as well as this adapter.
"""

from __future__ import annotations

import copy
import heapq
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapter.client._bulk import DEFAULT_POLL_INTERVAL, ExportDownload
from adapter.client._client import FhirClient
from adapter.client._exceptions import HTTPStatusError, outcome_text
from adapter.client._search import SearchSet, parse_query

READABLE_SUFFIXES = (".json", ".ndjson")

UNPACKED_BUNDLE_TYPES = frozenset({"transaction", "batch", "collection", "searchset", "history",
                                   "transaction-response", "batch-response"})
"""Bundles whose entries are pushed one by one; a ``document`` or ``message`` Bundle is a resource itself."""

SERVER_META = frozenset({"versionId", "lastUpdated", "source"})
"""``meta`` elements a server assigns on write (http://hl7.org/fhir/R4/resource.html#Meta); never compared."""


@dataclass
class Item:
    """One resource to push: where it came from, and its ``fullUrl`` when it is known by a ``urn:uuid``."""

    source: str
    resource: dict[str, Any]
    full_url: str | None = None

    @property
    def key(self) -> str:
        """``Type/id``, or the ``urn:uuid`` it is referenced by when it has no id."""
        if self.resource.get("id"):
            return f"{self.resource['resourceType']}/{self.resource['id']}"
        if not self.full_url:
            self.full_url = f"urn:uuid:{uuid.uuid4()}"
        return self.full_url


class FileFormatError(ValueError):
    """A file that is not FHIR JSON or NDJSON."""


def read_items(paths: Iterable[Path]) -> list[Item]:
    """Every resource in FHIR JSON files (resources or Bundles) and NDJSON files; folders recursively.

    Raises:
        FileFormatError: a named file is not ``.json``/``.ndjson``, or a file is not JSON.
    """
    items: list[Item] = []
    for path in _files(paths):
        if path.suffix == ".ndjson":
            with path.open("rb") as lines:
                for number, line in enumerate(lines, 1):
                    if line.strip():
                        items.extend(_unpack(f"{path}:{number}", _json(line, f"{path}:{number}")))
        else:
            items.extend(_unpack(str(path), _json(path.read_bytes(), str(path))))
    return items


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in READABLE_SUFFIXES)
        elif path.suffix in READABLE_SUFFIXES:
            yield path
        else:
            raise FileFormatError(f"{path}: push reads FHIR JSON (.json) and NDJSON (.ndjson)")


def _json(data: bytes, where: str) -> Any:
    try:
        value = json.loads(data)
    except ValueError as error:
        raise FileFormatError(f"{where}: not JSON ({error})") from error
    if not isinstance(value, dict) or "resourceType" not in value:
        raise FileFormatError(f"{where}: not a FHIR resource (no resourceType)")
    return value


def _unpack(source: str, resource: dict[str, Any]) -> Iterator[Item]:
    if resource["resourceType"] != "Bundle" or resource.get("type") not in UNPACKED_BUNDLE_TYPES:
        yield Item(source, resource)
        return
    for index, entry in enumerate(resource.get("entry", [])):
        if isinstance(entry.get("resource"), dict) and entry.get("request", {}).get("method", "PUT") in (
                "PUT", "POST"):
            full_url = entry.get("fullUrl")
            yield Item(f"{source}#entry[{index}]", entry["resource"],
                       full_url if full_url and full_url.startswith("urn:") else None)


# --- dependency order ----------------------------------------------------------------------------------------

def references(value: Any) -> Iterator[str]:
    """Every ``Reference.reference`` string inside a resource (contained resources included)."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "reference" and isinstance(child, str):
                yield child
            else:
                yield from references(child)
    elif isinstance(value, list):
        for child in value:
            yield from references(child)


def _target_key(reference: str) -> str:
    """``Type/id`` of a relative or absolute reference (version dropped); a ``urn:`` as is."""
    if reference.startswith("urn:"):
        return reference
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    return "/".join(parts[-2:])


def dependency_order(items: list[Item]) -> list[Item]:
    """``items`` with every referenced item before the items referring to it; otherwise in input order.

    Resources in a reference cycle keep their input order (a transaction resolves those among its own
    entries; across batches the server must allow the dangling reference, as R4 servers usually do).
    """
    index_of = {item.key: n for n, item in enumerate(items)}
    needs: list[set[int]] = [set() for _ in items]
    needed_by: list[list[int]] = [[] for _ in items]
    for n, item in enumerate(items):
        for reference in references(item.resource):
            target = index_of.get(_target_key(reference))
            if target is not None and target != n and target not in needs[n]:
                needs[n].add(target)
                needed_by[target].append(n)
    ready = [n for n in range(len(items)) if not needs[n]]
    heapq.heapify(ready)
    order: list[int] = []
    placed = [False] * len(items)
    while len(order) < len(items):
        if not ready:  # a cycle: release the earliest unplaced item
            ready.append(next(n for n in range(len(items)) if not placed[n]))
        n = heapq.heappop(ready)
        if placed[n]:
            continue
        placed[n] = True
        order.append(n)
        for dependant in needed_by[n]:
            needs[dependant].discard(n)
            if not needs[dependant] and not placed[dependant]:
                heapq.heappush(ready, dependant)
    return [items[n] for n in order]


# --- push ----------------------------------------------------------------------------------------------------

@dataclass
class Accepted:
    item: Item
    status: str
    location: str | None


@dataclass
class Rejected:
    item: Item
    reason: str
    outcome: dict[str, Any] | None = None


@dataclass
class PushReport:
    accepted: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected


def push(client: FhirClient, items: list[Item], *, batch_size: int = 100,
         progress: Callable[[int], None] | None = None) -> PushReport:
    """Upload ``items`` as transaction Bundles of ``batch_size``, referenced resources first.

    Resources with an id are ``PUT Type/id`` (so pushing twice keeps one copy); those without are
    ``POST Type`` under their ``urn:uuid`` ``fullUrl``, and references to them from later batches are
    rewritten to the id the server assigned. A refused transaction rejects all of its resources, each
    reported with the server's OperationOutcome; the remaining batches are still sent.
    """
    report = PushReport()
    assigned: dict[str, str] = {}
    ordered = dependency_order(items)
    for start in range(0, len(ordered), max(1, batch_size)):
        batch = ordered[start:start + batch_size]
        entries = [_entry(item, assigned) for item in batch]
        try:
            response = client.transaction(entries)
        except HTTPStatusError as error:
            reason = outcome_text(error.outcome) if error.outcome else str(error)
            report.rejected.extend(Rejected(item, reason, error.outcome) for item in batch)
        else:
            for item, result in zip(batch, response.get("entry", []), strict=False):
                answer = result.get("response", {})
                location = answer.get("location")
                if item.key.startswith("urn:") and location:
                    assigned[item.key] = _target_key(location)
                if answer.get("status", "").startswith("2"):
                    report.accepted.append(Accepted(item, answer.get("status", ""), location))
                else:
                    outcome = answer.get("outcome")
                    report.rejected.append(Rejected(item, outcome_text(outcome) if outcome else
                                                    answer.get("status", "no status"), outcome))
        if progress:
            progress(len(batch))
    return report


def _entry(item: Item, assigned: dict[str, str]) -> dict[str, Any]:
    resource = item.resource
    if assigned and any(ref in assigned for ref in references(resource)):
        resource = copy.deepcopy(resource)
        _rewrite(resource, assigned)
    kind = resource["resourceType"]
    if resource.get("id"):
        return {"fullUrl": item.full_url or f"{kind}/{resource['id']}", "resource": resource,
                "request": {"method": "PUT", "url": f"{kind}/{resource['id']}"}}
    return {"fullUrl": item.key, "resource": resource, "request": {"method": "POST", "url": kind}}


def _rewrite(value: Any, assigned: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "reference" and isinstance(child, str) and child in assigned:
                value[key] = assigned[child]
            else:
                _rewrite(child, assigned)
    elif isinstance(value, list):
        for child in value:
            _rewrite(child, assigned)


# --- pull ----------------------------------------------------------------------------------------------------

def pull(client: FhirClient, queries: Iterable[str], out_dir: Path) -> dict[str, int]:
    """Run each search (``CarePlan?status=active``) with paging; write ``out_dir/<Type>.ndjson``.

    Included resources (``_include``/``_revinclude``) go to their own type's file too. A resource found by
    two queries or on two pages is written once. Returns the number written per type.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    seen: set[str] = set()
    files: dict[str, Any] = {}
    try:
        for query in queries:
            resource_type, params = parse_query(query)
            for bundle in SearchSet(client, resource_type, params).pages():
                for entry in bundle.get("entry", []):
                    resource = entry.get("resource")
                    if not resource or resource.get("resourceType") == "OperationOutcome":
                        continue
                    kind = resource["resourceType"]
                    key = f"{kind}/{resource.get('id')}"
                    if key in seen:
                        continue
                    seen.add(key)
                    if kind not in files:
                        files[kind] = (out_dir / f"{kind}.ndjson").open("w", encoding="utf-8")
                    files[kind].write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n")
                    counts[kind] = counts.get(kind, 0) + 1
    finally:
        for handle in files.values():
            handle.close()
    return counts


def pull_export(client: FhirClient, out_dir: Path, *, group_id: str | None = None, patients: bool = False,
                types: Iterable[str] = (), since: str | None = None, type_filters: Iterable[str] = (),
                poll_interval: float = DEFAULT_POLL_INTERVAL, timeout: float | None = None,
                progress: Callable[[str | None], None] | None = None) -> ExportDownload:
    """Bulk Data ``$export`` into ``out_dir/<Type>.ndjson``: kick off, poll (reporting ``X-Progress``),
    download; the alternative to paged search for whole populations.

    Raises:
        BulkExportError: no status URL, or not done within ``timeout``.
        HTTPStatusError: the server refused or failed the export.
    """
    job = client.export(group_id=group_id, patients=patients, types=types, since=since, type_filters=type_filters)
    for status in job.polls(poll_interval=poll_interval, timeout=timeout):  # the last one is done
        if not status.done and progress:
            progress(status.progress)
    return job.download(status.manifest or {}, out_dir)


# --- sandbox check -------------------------------------------------------------------------------------------

@dataclass
class TypeResult:
    resource_type: str
    checked: int = 0
    passed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class CheckReport:
    push: PushReport
    types: dict[str, TypeResult] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.push.ok and all(result.ok for result in self.types.values())


def sandbox_check(client: FhirClient, items: list[Item], *, batch_size: int = 100,
                  progress: Callable[[int], None] | None = None) -> CheckReport:
    """Push ``items``, read each one back and compare: does this server round-trip our resources?

    The comparison ignores what a server assigns on write: ``meta.versionId``, ``meta.lastUpdated``,
    ``meta.source``, and ``meta`` elements or tags/profiles the resource did not have. A resource sent
    without an id is read back at the id the server gave it. Everything else must come back equal.
    """
    report = CheckReport(push(client, items, batch_size=batch_size, progress=progress))
    where: dict[int, str] = {}
    for accepted in report.push.accepted:
        if accepted.item.resource.get("id"):
            where[id(accepted.item)] = accepted.item.key
        elif accepted.location:
            where[id(accepted.item)] = _target_key(accepted.location)
    rejected = {id(r.item): r.reason for r in report.push.rejected}
    stored = read_many(client, sorted(set(where.values())), batch_size=batch_size)
    for item in items:
        kind = item.resource["resourceType"]
        result = report.types.setdefault(kind, TypeResult(kind))
        result.checked += 1
        problem = _round_trip_problem(item, where.get(id(item)), rejected.get(id(item)), stored)
        if problem:
            result.failures.append((item.resource.get("id") or item.source, problem))
        else:
            result.passed += 1
    return report


def read_many(client: FhirClient, keys: list[str], *, batch_size: int = 100) -> dict[str, dict[str, Any] | str]:
    """Read each ``Type/id`` through batch Bundles of ``GET`` entries (one round trip per ``batch_size``, which
    matters against a remote sandbox); each key maps to the resource or to why it could not be read.

    A server that refuses such a batch gets one read per resource instead.
    """
    found: dict[str, dict[str, Any] | str] = {}
    for start in range(0, len(keys), max(1, batch_size)):
        chunk = keys[start:start + batch_size]
        try:
            response = client.batch([{"request": {"method": "GET", "url": key}} for key in chunk])
        except HTTPStatusError:
            found.update((key, _read_one(client, key)) for key in chunk)
            continue
        for key, entry in zip(chunk, response.get("entry", []), strict=False):
            answer = entry.get("response", {})
            if answer.get("status", "").startswith("2") and isinstance(entry.get("resource"), dict):
                found[key] = entry["resource"]
            else:
                outcome = answer.get("outcome")
                found[key] = f"{answer.get('status', 'no status')}" + (f": {outcome_text(outcome)}" if outcome else "")
    return found


def _read_one(client: FhirClient, key: str) -> dict[str, Any] | str:
    kind, _, resource_id = key.partition("/")
    try:
        return client.read(kind, resource_id)
    except HTTPStatusError as error:
        return str(error)


def _round_trip_problem(item: Item, key: str | None, rejected: str | None,
                        stored: dict[str, dict[str, Any] | str]) -> str | None:
    if rejected is not None:
        return f"rejected on push: {rejected}"
    if key is None:
        return "the server gave no location for it"
    resource = stored.get(key, "not read back")
    if isinstance(resource, str):
        return f"read back failed: {resource}"
    differences = compare(item.resource, resource)
    if len(differences) > 5:
        differences = [*differences[:5], f"(+{len(differences) - 5} more)"]
    return "; ".join(differences) or None


def compare(sent: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    """Where ``stored`` differs from ``sent``, as ``path: sent != stored``, ignoring server-assigned meta."""
    sent, stored = dict(sent), dict(stored)
    if "id" not in sent:
        stored.pop("id", None)
    differences = _meta_differences(sent.pop("meta", {}), stored.pop("meta", {}))
    _diff(sent, stored, sent.get("resourceType", ""), differences)
    return differences


def _meta_differences(sent: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    differences = []
    for key, value in sent.items():
        if key in SERVER_META:
            continue
        got = stored.get(key)
        if isinstance(value, list) and isinstance(got, list):
            missing = [v for v in value if v not in got]
            if missing:
                differences.append(f"meta.{key}: missing {json.dumps(missing)}")
        elif value != got:
            differences.append(f"meta.{key}: {json.dumps(value)} != {json.dumps(got)}")
    return differences


def _diff(sent: Any, stored: Any, path: str, out: list[str]) -> None:
    if isinstance(sent, dict) and isinstance(stored, dict):
        for key in sorted(sent.keys() | stored.keys()):
            if key not in stored:
                out.append(f"{path}.{key}: missing")
            elif key not in sent:
                out.append(f"{path}.{key}: added {json.dumps(stored[key])[:80]}")
            else:
                _diff(sent[key], stored[key], f"{path}.{key}", out)
    elif isinstance(sent, list) and isinstance(stored, list) and len(sent) == len(stored):
        for n, (a, b) in enumerate(zip(sent, stored, strict=True)):
            _diff(a, b, f"{path}[{n}]", out)
    elif sent != stored or type(sent) is not type(stored):
        out.append(f"{path}: {json.dumps(sent)[:80]} != {json.dumps(stored)[:80]}")
