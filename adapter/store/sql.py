"""The resource store: versioned FHIR resources and their search index in one SQL database.

Every method takes the SQLAlchemy ``Connection`` of the caller's transaction, so that one interaction (or
a whole transaction Bundle) commits or rolls back as a unit; :meth:`ResourceStore.begin` opens such a
transaction. The stored JSON is the resource as received plus the server-assigned ``id``, ``versionId``
and ``lastUpdated``; reads return those bytes untouched (BRIEF §5).

Concurrency: an update or delete changes the current row with ``WHERE version = <version read>``, so of
two writers that read the same version exactly one wins and the other gets :class:`VersionConflict`
(on PostgreSQL the row is also locked with ``SELECT … FOR UPDATE``; on SQLite a write transaction starts
with ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from adapter import fhirjson
from adapter.store.schema import INDEX_TABLES, metadata, resource_versions, resources

IndexRows = dict[str, list[dict]]
"""Search index rows by index kind (``string``, ``token``, ...), as :class:`Indexer` extracts them."""


class Indexer(Protocol):
    """Extracts search index rows from a resource (``adapter.search.index.Indexer``)."""

    def rows(self, resource: dict) -> IndexRows: ...


class VersionConflict(Exception):
    """The resource changed between the read and the write (a concurrent writer won)."""


class DuplicateResource(Exception):
    """A resource with this type and id was created concurrently."""


@dataclass(frozen=True, slots=True)
class StoredResource:
    """One version of a resource as stored. ``content`` is None for a delete marker."""

    res_type: str
    res_id: str
    version: int
    last_updated: datetime
    deleted: bool
    content: bytes | None
    method: str = "PUT"

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'

    @property
    def last_updated_instant(self) -> str:
        return format_instant(self.last_updated)


def format_instant(moment: datetime) -> str:
    """A naive-UTC datetime as a FHIR instant with milliseconds (``2026-11-22T11:58:03.123+00:00``)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


def now_utc() -> datetime:
    """The current time, naive UTC, truncated to milliseconds so it equals what ``meta`` says."""
    moment = datetime.now(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


_CURRENT_COLUMNS = (resources.c.pk, resources.c.res_type, resources.c.res_id, resources.c.version,
                    resources.c.last_updated, resources.c.deleted, resources.c.content)
# Statements built once: constructing them per call costs more than running them on SQLite.
_READ_CURRENT = select(*_CURRENT_COLUMNS).where(resources.c.res_type == bindparam("res_type"),
                                                resources.c.res_id == bindparam("res_id"))
_INSERT_CURRENT = insert(resources).returning(resources.c.pk)
_INSERT_VERSION = insert(resource_versions)
_SWAP_CURRENT = (update(resources)
                 .where(resources.c.pk == bindparam("current_pk"), resources.c.version == bindparam("old_version"))
                 .values(version=bindparam("new_version"), last_updated=bindparam("moment"),
                         deleted=bindparam("is_deleted"), content=bindparam("new_content")))
_ADVISORY_XACT_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_INSERT_INDEX = {kind: insert(table) for kind, table in INDEX_TABLES.items()}
_CURRENT_FOR_WRITE = select(resources.c.pk, resources.c.version, resources.c.deleted).where(
    resources.c.res_type == bindparam("res_type"), resources.c.res_id == bindparam("res_id"))
_CURRENT_FOR_UPDATE = _CURRENT_FOR_WRITE.with_for_update()


class ResourceStore:
    """Versioned resources with history and search index rows, on any SQLAlchemy engine."""

    def __init__(self, engine: Engine, indexer: Indexer) -> None:
        self.engine = engine
        self.indexer = indexer
        self.is_postgres = engine.dialect.name == "postgresql"
        self._writers = _SqliteWriterQueue(engine) if engine.dialect.name == "sqlite" else None
        marker = "%s" if engine.dialect.paramstyle in ("format", "pyformat") else "?"
        self._clear_index_sql = [f"DELETE FROM {table.name} WHERE resource_pk = {marker}"
                                 for table in INDEX_TABLES.values()]

    # --- engine and transactions ---------------------------------------------------------------------------

    @staticmethod
    def create_engine(url: str, *, echo: bool = False) -> Engine:
        """An engine tuned for this store: SQLite in WAL mode with ``BEGIN IMMEDIATE`` writes."""
        if url.startswith("sqlite"):
            engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})
            _configure_sqlite(engine)
            return engine
        return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)

    def create_schema(self) -> None:
        """Create the tables directly (tests); deployments use Alembic migrations."""
        metadata.create_all(self.engine)

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self._writers or contextlib.nullcontext(), self.engine.connect() as conn:
            conn = conn.execution_options(cmp_write=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """A read-only connection."""
        with self.engine.connect() as conn:
            yield conn

    def serialize_on(self, conn: Connection, key: str) -> None:
        """Hold a lock named ``key`` until the transaction ends, so that check-then-write steps on the same
        key (a conditional create's search and insert) run one at a time.

        PostgreSQL: a transaction-scoped advisory lock on a 64-bit hash of the key. SQLite: nothing to do,
        a write transaction already holds the database lock from ``BEGIN IMMEDIATE``.
        """
        if self.is_postgres:
            digest = int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big", signed=True)
            conn.execute(_ADVISORY_XACT_LOCK, {"key": digest})

    # --- reads ---------------------------------------------------------------------------------------------

    def read(self, conn: Connection, res_type: str, res_id: str) -> StoredResource | None:
        """The current version (possibly a delete marker), or None if the id never existed."""
        row = conn.execute(_READ_CURRENT, {"res_type": res_type, "res_id": res_id}).first()
        return _stored(row) if row is not None else None

    def read_version(self, conn: Connection, res_type: str, res_id: str, version: int) -> StoredResource | None:
        row = conn.execute(
            select(resource_versions.c.res_type, resource_versions.c.res_id, resource_versions.c.version,
                   resource_versions.c.last_updated, resource_versions.c.method, resource_versions.c.content)
            .where(resource_versions.c.res_type == res_type, resource_versions.c.res_id == res_id,
                   resource_versions.c.version == version)
        ).first()
        return _version(row) if row is not None else None

    def history(self, conn: Connection, *, res_type: str | None = None, res_id: str | None = None,
                since: datetime | None = None, at: datetime | None = None, count: int = 50,
                offset: int = 0, exclude_types: Sequence[str] = ()) -> tuple[list[StoredResource], int]:
        """Versions newest first, with the total count (instance, type or system history).

        ``_at`` semantics: the versions current at that moment, one per resource. ``exclude_types`` leaves
        types out (the system history leaves out the audit trail).
        """
        v = resource_versions.c
        conditions = []
        if exclude_types:
            conditions.append(v.res_type.not_in(list(exclude_types)))
        if res_type is not None:
            conditions.append(v.res_type == res_type)
        if res_id is not None:
            conditions.append(v.res_id == res_id)
        if since is not None:
            conditions.append(v.last_updated >= since)
        if at is not None:
            latest = (select(func.max(resource_versions.c.pk)).where(resource_versions.c.last_updated <= at)
                      .group_by(resource_versions.c.resource_pk))
            conditions.append(v.pk.in_(latest))
        total = conn.execute(select(func.count()).select_from(resource_versions).where(*conditions)).scalar_one()
        rows = conn.execute(
            select(v.res_type, v.res_id, v.version, v.last_updated, v.method, v.content)
            .where(*conditions).order_by(v.pk.desc()).limit(count).offset(offset)
        ).all()
        return [_version(row) for row in rows], total

    # --- writes --------------------------------------------------------------------------------------------

    def create(self, conn: Connection, res_type: str, resource: dict, res_id: str | None = None,
               index_rows: IndexRows | None = None) -> StoredResource:
        """Store a new resource with a server-assigned id (or ``res_id`` for create-on-update).

        ``index_rows`` are the resource's search index rows when the caller extracted them before the
        transaction (to keep the write lock short); otherwise they are extracted here.

        Raises:
            DuplicateResource: the id exists (only possible with an explicit ``res_id``).
        """
        res_id = res_id or str(uuid.uuid4())
        moment = now_utc()
        content = _finalize(resource, res_type, res_id, 1, moment)
        try:
            with conn.begin_nested() if self.is_postgres else contextlib.nullcontext():
                pk = conn.execute(_INSERT_CURRENT, {
                    "res_type": res_type, "res_id": res_id, "version": 1, "last_updated": moment,
                    "deleted": False, "content": content}).scalar_one()
        except IntegrityError as exc:
            raise DuplicateResource(f"{res_type}/{res_id} already exists") from exc
        self._add_version(conn, pk, res_type, res_id, 1, moment, "POST", content)
        self._write_index(conn, pk, res_type, resource, index_rows, replace=False)
        return StoredResource(res_type, res_id, 1, moment, False, content, "POST")

    def create_many(self, conn: Connection, res_type: str, resources_with_ids: Sequence[dict]) -> int:
        """Store new resources of one type, each with its own fresh ``id``, in a few multi-row statements
        (the audit trail's batches: a per-resource :meth:`create` costs six statements each).

        Raises:
            sqlalchemy.exc.IntegrityError: an id exists already (the caller's transaction is then unusable).
        """
        if not resources_with_ids:
            return 0
        moment = now_utc()
        current_rows, contents = [], []
        for resource in resources_with_ids:
            content = _finalize(resource, res_type, resource["id"], 1, moment)
            contents.append(content)
            current_rows.append({"res_type": res_type, "res_id": resource["id"], "version": 1,
                                 "last_updated": moment, "deleted": False, "content": content})
        pks = conn.execute(insert(resources).returning(resources.c.pk, sort_by_parameter_order=True),
                           current_rows).scalars().all()
        conn.execute(_INSERT_VERSION, [
            {"resource_pk": pk, "res_type": res_type, "res_id": row["res_id"], "version": 1, "last_updated": moment,
             "method": "POST", "content": row["content"]} for pk, row in zip(pks, current_rows, strict=True)])
        index: dict[str, list[dict]] = {}
        for pk, resource in zip(pks, resources_with_ids, strict=True):
            for kind, rows in self.indexer.rows(resource).items():
                index.setdefault(kind, []).extend({**row, "resource_pk": pk, "res_type": res_type} for row in rows)
        for kind, rows in index.items():
            if rows:
                conn.execute(_INSERT_INDEX[kind], rows)
        return len(pks)

    def update(self, conn: Connection, res_type: str, res_id: str, resource: dict,
               expected_version: int | None = None, index_rows: IndexRows | None = None,
               ) -> tuple[StoredResource, bool]:
        """Store a new version (or the first one: update-as-create). Returns (stored, created).

        Raises:
            VersionConflict: ``expected_version`` is not the current version, or a concurrent writer won.
        """
        current = self._current_for_write(conn, res_type, res_id)
        if current is None:
            if expected_version is not None:
                raise VersionConflict(f"{res_type}/{res_id} does not exist (If-Match: {expected_version})")
            try:
                return self.create(conn, res_type, resource, res_id, index_rows), True
            except DuplicateResource as exc:
                raise VersionConflict(f"{res_type}/{res_id} was created concurrently") from exc
        pk, version = current.pk, current.version
        if expected_version is not None and expected_version != version:
            raise VersionConflict(f"{res_type}/{res_id} is at version {version}, not {expected_version}")
        moment = now_utc()
        content = _finalize(resource, res_type, res_id, version + 1, moment)
        self._swap_current(conn, pk, version, version + 1, moment, False, content)
        self._add_version(conn, pk, res_type, res_id, version + 1, moment, "PUT", content)
        self._write_index(conn, pk, res_type, resource, index_rows)
        return StoredResource(res_type, res_id, version + 1, moment, False, content, "PUT"), False

    def delete(self, conn: Connection, res_type: str, res_id: str, expected_version: int | None = None,
               ) -> StoredResource | None:
        """Mark the resource deleted (a new version without content). None if it was absent or deleted.

        Raises:
            VersionConflict: as for :meth:`update`.
        """
        current = self._current_for_write(conn, res_type, res_id)
        if current is None or current.deleted:
            return None
        if expected_version is not None and expected_version != current.version:
            raise VersionConflict(f"{res_type}/{res_id} is at version {current.version}, not {expected_version}")
        moment = now_utc()
        version = current.version + 1
        self._swap_current(conn, current.pk, current.version, version, moment, True, None)
        self._add_version(conn, current.pk, res_type, res_id, version, moment, "DELETE", None)
        self._clear_index(conn, current.pk)
        return StoredResource(res_type, res_id, version, moment, True, None, "DELETE")

    # --- internals -----------------------------------------------------------------------------------------

    def _current_for_write(self, conn: Connection, res_type: str, res_id: str) -> Any:
        statement = _CURRENT_FOR_UPDATE if self.is_postgres else _CURRENT_FOR_WRITE
        return conn.execute(statement, {"res_type": res_type, "res_id": res_id}).first()

    def _swap_current(self, conn: Connection, pk: int, old_version: int, new_version: int, moment: datetime,
                      deleted: bool, content: bytes | None) -> None:
        result = conn.execute(_SWAP_CURRENT, {"current_pk": pk, "old_version": old_version, "new_version": new_version,
                                              "moment": moment, "is_deleted": deleted, "new_content": content})
        if result.rowcount != 1:
            raise VersionConflict(f"resource {pk} changed concurrently")

    def _add_version(self, conn: Connection, pk: int, res_type: str, res_id: str, version: int,
                     moment: datetime, method: str, content: bytes | None) -> None:
        conn.execute(_INSERT_VERSION, {"resource_pk": pk, "res_type": res_type, "res_id": res_id, "version": version,
                                       "last_updated": moment, "method": method, "content": content})

    def _write_index(self, conn: Connection, pk: int, res_type: str, resource: dict, index_rows: IndexRows | None,
                     *, replace: bool = True) -> None:
        """Insert the resource's search index rows; ``replace`` first removes the previous version's."""
        if replace:
            self._clear_index(conn, pk)
        for kind, rows in (index_rows if index_rows is not None else self.indexer.rows(resource)).items():
            if rows:
                conn.execute(_INSERT_INDEX[kind], [{**row, "resource_pk": pk, "res_type": res_type} for row in rows])

    def _clear_index(self, conn: Connection, pk: int) -> None:
        """Remove a resource's index rows from every index table, with plain driver statements: seven of
        them per update, inside the write lock, where SQLAlchemy's per-statement overhead would dominate."""
        for statement in self._clear_index_sql:
            conn.exec_driver_sql(statement, (pk,))


def _finalize(resource: dict, res_type: str, res_id: str, version: int, moment: datetime) -> bytes:
    """The bytes to store: the resource as received, with the server's id, versionId and lastUpdated.

    ``resourceType``, ``id`` and ``meta`` lead, the rest keeps the sender's order. The caller's dict is
    updated too, so that index rows see the same id and meta.
    """
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = format_instant(moment)
    rest = {k: v for k, v in resource.items() if k not in ("resourceType", "id", "meta")}
    resource.clear()
    resource.update({"resourceType": res_type, "id": res_id, "meta": meta, **rest})
    return fhirjson.dumps(resource)


def _stored(row: Any) -> StoredResource:
    return StoredResource(row.res_type, row.res_id, row.version, row.last_updated, row.deleted, row.content)


def _version(row: Any) -> StoredResource:
    return StoredResource(row.res_type, row.res_id, row.version, row.last_updated, row.method == "DELETE",
                          row.content, row.method)


class _SqliteWriterQueue:
    """Let one writer at a time into an SQLite database, across threads and gunicorn processes.

    SQLite admits one writer; a second one that finds the lock taken sleeps in SQLite's busy handler for
    1, 2, 5, 10... ms, however soon the lock is released, which caps write throughput and stretches tail
    latency. Waiting on a kernel ``flock`` (and a thread lock) instead wakes a writer the moment the
    previous one commits. Readers never wait (WAL).
    """

    def __init__(self, engine: Engine) -> None:
        database = engine.url.database or ""
        in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
        self._path = None if in_memory else Path(database).with_name(Path(database).name + ".write-lock")
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        if self._path is not None:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()


def _configure_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers; writes take the lock up front so read-then-write never deadlocks."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("cmp_write") else "BEGIN")
