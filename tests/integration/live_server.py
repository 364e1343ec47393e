"""Start the real server (``cmp-adapter serve``, gunicorn) on a free local port for HTTP tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(env: dict[str, str], *args: str, workers: int = 2, timeout: float = 60.0) -> Iterator[str]:
    """Run ``cmp-adapter serve`` until the block ends; yields the FHIR base URL.

    Authorization is off unless ``env`` sets ``CMP_ADAPTER_AUTH`` (auth tests pass ``"on"``).
    The process gets its own process group so that stopping it also stops every gunicorn worker.
    """
    port = free_port()
    command = [sys.executable, "-m", "adapter.cli", "serve", "--port", str(port), "--workers", str(workers), *args]
    log_path = Path(env.get("CMP_ADAPTER_DATA_DIR", ".")) / f"server-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env={**os.environ, "CMP_ADAPTER_AUTH": "off", **env}, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}/fhir"
        try:
            _wait_until_up(base, process, timeout, log_path)
            yield base
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _wait_until_up(base: str, process: subprocess.Popen, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if requests.get(f"{base}/metadata", timeout=10).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or busy loading (a slow CI)
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not answer within {timeout}s:\n{log_path.read_text()[-3000:]}")


STORY = Path(__file__).resolve().parents[2] / "examples" / "fhir" / "valid"


@contextmanager
def story_server(data_dir: Path, base_settings) -> Iterator[str]:
    """A real server holding the example story, or the server of ``CMP_ADAPTER_TEST_BASE_URL`` when set
    (a deployment or sandbox already loaded with it). Yields the FHIR base URL.

    The definitions cache is the test session's, so the server starts warm.
    """
    external = os.environ.get("CMP_ADAPTER_TEST_BASE_URL")
    if external:
        yield external.rstrip("/")
        return
    env = {"CMP_ADAPTER_DATA_DIR": str(data_dir), "CMP_ADAPTER_FHIR_PACKAGES": base_settings.fhir_packages,
           "CMP_ADAPTER_COMPILED_CACHE_DIR": base_settings.effective_compiled_cache_dir}
    with running_server(env, "--load", str(STORY)) as base:
        yield base
