"""PostgreSQL for fault tests: a schema of its own on the shared server, or a private cluster to restart.

The shared server on 127.0.0.1:5432 is never stopped (others' tests use it); a test that restarts
PostgreSQL gets a throwaway cluster of its own (``initdb`` into a temporary folder, its own port and
socket folder), run as the ``postgres`` user when the tests run as root (``initdb`` refuses root).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.databases import postgres_schema
from tests.integration.live_server import free_port

SHARED_URL = os.environ.get("CMP_ADAPTER_TEST_POSTGRES_URL")


@contextmanager
def shared_schema(application_name: str) -> Iterator[str]:
    """A fresh schema on the shared server; yields a URL whose connections use it and carry
    ``application_name`` (so the test can find the server's transactions in ``pg_stat_activity``)."""
    if not SHARED_URL:
        pytest.skip("CMP_ADAPTER_TEST_POSTGRES_URL is not set")
    with postgres_schema(application_name=application_name) as url:
        yield url


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PrivateCluster:
    """A PostgreSQL cluster in a temporary folder: ``start()``, ``stop(mode)``, ``url``."""

    def __init__(self, root: Path) -> None:
        binaries = _binaries()
        if binaries is None:
            pytest.skip("PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) are not installed")
        self.bin = binaries
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            if shutil.which("runuser") is None:
                pytest.skip("running as root and runuser is missing: initdb refuses root")
            shutil.chown(root, "postgres")
        self._run(["initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"])

    def _run(self, command: list[str], check: bool = True) -> subprocess.CompletedProcess:
        full = [str(self.bin / command[0]), *command[1:]]
        if self._as_postgres:
            full = ["runuser", "-u", "postgres", "--", *full]
        done = subprocess.run(full, capture_output=True, text=True, timeout=120, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(full)} failed ({done.returncode}): {done.stderr[-2000:]}")
        return done

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=100"
        self._run(["pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "postgres.log"), "-w",
                   "-t", "60", "start"])
        deadline = time.monotonic() + 30
        while self._run(["pg_isready", "-h", "127.0.0.1", "-p", str(self.port)], check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the private PostgreSQL did not come up")
            time.sleep(0.2)

    def stop(self, mode: str = "fast") -> None:
        self._run(["pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"], check=False)


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A started cluster in a new folder under the system temp folder (pytest's own is private to the
    user running the tests, which the ``postgres`` user cannot enter); removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="cmp-pg-"))
    try:
        cluster = PrivateCluster(root)
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def server_processes(port: int) -> tuple[int, list[int]]:
    """The gunicorn master serving ``port`` and its workers (from /proc)."""
    commands: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if "adapter.cli" in cmdline and f"--port {port}" in cmdline:
            commands[int(entry.name)] = (ppid, cmdline)
    masters = [pid for pid, (ppid, _) in commands.items() if ppid not in commands]
    assert len(masters) == 1, commands
    master = masters[0]
    return master, sorted(pid for pid, (ppid, _) in commands.items() if ppid == master)
