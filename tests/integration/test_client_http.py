"""The client against a tiny scripted HTTP server on 127.0.0.1: retries, Retry-After, auth, unsafe links.

A real FHIR server cannot be told to answer 503 twice, so these use :mod:`http.server` with canned
answers; everything else crosses real HTTP as in production.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from adapter.cli import main
from adapter.client import (
    BulkExportError,
    ConnectError,
    ExportStatus,
    FhirClient,
    PreconditionFailed,
    RequestTimeout,
    Retries,
    ServerError,
    TooManyRequests,
    Unauthorized,
    UnsafeURLError,
)

OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "transient",
                                                           "diagnostics": "busy"}]}


class Script:
    """Answers to give, in order (the last repeats), and the requests seen."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], dict | bytes | None]] = []
        self.seen: list[tuple[str, str, dict[str, str]]] = []


@pytest.fixture
def scripted() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            script.seen.append((self.command, self.path, dict(self.headers)))
            status, headers, body = script.answers[min(len(script.seen), len(script.answers)) - 1]
            if "X-Delay" in headers:
                time.sleep(float(headers["X-Delay"]))
            data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
            try:
                self.send_response(status)
                for name, value in {"Content-Type": "application/fhir+json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/fhir", script
    finally:
        server.shutdown()
        server.server_close()


PATIENT = {"resourceType": "Patient", "id": "1"}


def test_503_twice_then_200_is_retried_honouring_retry_after(scripted):
    base, script = scripted
    script.answers = [(503, {"Retry-After": "2"}, OUTCOME), (503, {"Retry-After": "1"}, None), (200, {}, PATIENT)]
    waits: list[float] = []
    with FhirClient(base, sleep=waits.append) as client:
        assert client.read("Patient", "1") == PATIENT
    assert waits == [2.0, 1.0]
    assert [(m, p) for m, p, _ in script.seen] == [("GET", "/fhir/Patient/1")] * 3


def test_retry_after_as_an_http_date_and_exponential_backoff_without_it(scripted):
    base, script = scripted
    script.answers = [(429, {"Retry-After": formatdate(usegmt=True)}, None), (502, {}, None), (504, {}, None),
                      (200, {}, PATIENT)]
    waits: list[float] = []
    with FhirClient(base, sleep=waits.append, retries=Retries(total=3, backoff=0.25)) as client:
        assert client.read("Patient", "1") == PATIENT
    assert waits[0] <= 1.0 and waits[1:] == [0.5, 1.0]


def test_retries_are_spent_then_the_error_carries_the_outcome(scripted):
    base, script = scripted
    script.answers = [(503, {"Retry-After": "0"}, OUTCOME)]
    with FhirClient(base, sleep=lambda _: None, retries=2) as client, pytest.raises(ServerError) as raised:
        client.read("Patient", "1")
    assert len(script.seen) == 3
    assert raised.value.status_code == 503 and raised.value.outcome == OUTCOME
    assert "busy" in str(raised.value)


def test_a_post_is_not_retried_on_a_gateway_error_but_is_on_429(scripted):
    base, script = scripted
    script.answers = [(504, {}, None)]
    with FhirClient(base, sleep=lambda _: None) as client, pytest.raises(ServerError):
        client.create({"resourceType": "Patient"})
    assert len(script.seen) == 1
    script.answers, script.seen[:] = [(429, {}, None), (201, {"Location": f"{base}/Patient/7/_history/1"}, None)], []
    with FhirClient(base, sleep=lambda _: None) as client:
        created = client.create({"resourceType": "Patient"})
    assert created["id"] == "7" and created["meta"]["versionId"] == "1"
    with FhirClient(base, sleep=lambda _: None, retries=0) as client, pytest.raises(TooManyRequests):
        script.answers, script.seen[:] = [(429, {}, None)], []
        client.create({"resourceType": "Patient"})


def test_status_mapping_keeps_the_outcome(scripted):
    base, script = scripted
    script.answers = [(412, {}, OUTCOME)]
    with FhirClient(base) as client, pytest.raises(PreconditionFailed) as raised:
        client.update(PATIENT, if_match="3")
    assert script.seen[0][2]["If-Match"] == 'W/"3"'
    assert raised.value.outcome == OUTCOME and raised.value.request.method == "PUT"


def test_bearer_token_from_a_refreshing_source(scripted):
    base, script = scripted

    class Tokens:
        """A stand-in for SMART backend-services credentials: a new token after invalidate()."""

        def __init__(self) -> None:
            self.issued = 0

        def __call__(self) -> str:
            return f"token-{self.issued}"

        def invalidate(self) -> None:
            self.issued += 1

    script.answers = [(401, {}, OUTCOME), (200, {}, PATIENT)]
    with FhirClient(base, auth=Tokens()) as client:
        assert client.read("Patient", "1") == PATIENT
    assert [headers["Authorization"] for _, _, headers in script.seen] == ["Bearer token-0", "Bearer token-1"]
    script.answers, script.seen[:] = [(401, {}, OUTCOME)], []
    with FhirClient(base, auth="static") as client, pytest.raises(Unauthorized):
        client.read("Patient", "1")
    assert len(script.seen) == 1 and script.seen[0][2]["Authorization"] == "Bearer static"


def test_a_slow_answer_times_out_and_a_refused_connection_is_retried_then_raised(scripted):
    base, script = scripted
    script.answers = [(200, {"X-Delay": "1"}, PATIENT)]
    with FhirClient(base, timeout=(1, 0.2)) as client, pytest.raises(RequestTimeout) as slow:
        client.read("Patient", "1")
    assert slow.value.request.method == "GET" and len(script.seen) == 1

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    waits: list[float] = []
    with FhirClient(f"http://127.0.0.1:{port}/fhir", sleep=waits.append) as client, pytest.raises(ConnectError):
        client.read("Patient", "1")
    assert waits == [0.5, 1.0, 2.0]
    with FhirClient(f"http://127.0.0.1:{port}/fhir", sleep=waits.append) as client, pytest.raises(ConnectError):
        client.create({"resourceType": "Patient"})  # a POST is not retried: it may have been received
    assert len(waits) == 3


def test_a_next_link_to_another_host_is_refused(scripted):
    base, script = scripted
    page = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": PATIENT}],
            "link": [{"relation": "next", "url": "http://attacker.example/fhir/Patient?page=2"}]}
    script.answers = [(200, {}, page)]
    with FhirClient(base, auth="secret") as client:
        pages = client.resources("Patient").pages()
        assert next(pages) == page
        with pytest.raises(UnsafeURLError):
            next(pages)
    assert len(script.seen) == 1


# --- Bulk Data export, client side (the server is scripted: kick-off, two polls, files) -----------------------

def _export_script(base: str, file_base: str, *, requires_token: bool) -> list:
    manifest = {"transactionTime": "2026-01-01T00:00:00Z", "request": f"{base}/$export",
                "requiresAccessToken": requires_token,
                "output": [{"type": "Patient", "url": f"{file_base}/files/1.ndjson", "count": 2},
                           {"type": "Patient", "url": f"{file_base}/files/2.ndjson", "count": 1},
                           {"type": "CarePlan", "url": f"{file_base}/files/3.ndjson", "count": 1}],
                "error": [{"type": "OperationOutcome", "url": f"{file_base}/files/e.ndjson"}]}
    ndjson = {"Content-Type": "application/fhir+ndjson"}
    return [(202, {"Content-Location": f"{base}/bulkstatus/9"}, None),
            (202, {"X-Progress": "50%", "Retry-After": "3"}, None),
            (200, {"Content-Type": "application/json"}, manifest),
            (200, ndjson, b'{"resourceType":"Patient","id":"a"}\n{"resourceType":"Patient","id":"b"}\n'),
            (200, ndjson, b'{"resourceType":"Patient","id":"c"}'),
            (200, ndjson, b'{"resourceType":"CarePlan","id":"p"}\n'),
            (200, ndjson, json.dumps(OUTCOME).encode() + b"\n")]


def test_export_kick_off_poll_and_download(scripted, tmp_path):
    base, script = scripted
    script.answers = _export_script(base, base.removesuffix("/fhir"), requires_token=True)
    waits: list[float] = []
    with FhirClient(base, auth="t0ken", sleep=waits.append) as client:
        job = client.export(group_id="team-1", types=["Patient", "CarePlan"], since="2025-01-01T00:00:00Z")
        manifest = job.wait(poll_interval=0.1)
        download = job.download(manifest, tmp_path)
    kick_off_method, kick_off_path, kick_off_headers = script.seen[0]
    assert kick_off_method == "GET"
    assert kick_off_path.startswith("/fhir/Group/team-1/$export?_outputFormat=application%2Ffhir%2Bndjson")
    assert "_type=Patient%2CCarePlan" in kick_off_path and "_since=2025-01-01" in kick_off_path
    assert kick_off_headers["Prefer"] == "respond-async"
    assert waits == [3.0] and job.status_url == f"{base}/bulkstatus/9"
    assert download.counts == {"Patient": 3, "CarePlan": 1} and download.errors == 1
    patients = (tmp_path / "Patient.ndjson").read_text().splitlines()
    assert [json.loads(line)["id"] for line in patients] == ["a", "b", "c"]
    assert all(headers.get("Authorization") == "Bearer t0ken" for _, _, headers in script.seen)


def test_export_files_that_need_no_token_get_none_and_foreign_ones_needing_it_are_refused(scripted, tmp_path):
    base, script = scripted
    origin = base.removesuffix("/fhir")
    storage = origin.replace("127.0.0.1", "localhost")  # another origin, same scripted server
    script.answers = _export_script(base, storage, requires_token=False)
    with FhirClient(base, auth="t0ken", sleep=lambda _: None) as client:
        job = client.export()
        job.download(job.wait(), tmp_path)
    assert script.seen[0][1].startswith("/fhir/$export?")
    assert [("Authorization" in headers) for _, _, headers in script.seen] == [True] * 3 + [False] * 4

    script.answers, script.seen[:] = _export_script(base, storage, requires_token=True), []
    with FhirClient(base, auth="t0ken", sleep=lambda _: None) as client:
        job = client.export(patients=True)
        with pytest.raises(UnsafeURLError):
            job.download(job.wait(), tmp_path)
    assert len(script.seen) == 3  # the token never left for the other origin


def test_export_cancel_timeout_and_failure(scripted):
    base, script = scripted
    script.answers = [(202, {"Content-Location": "/fhir/bulkstatus/5"}, None), (202, {"X-Progress": "1%"}, None)]
    with FhirClient(base, sleep=lambda _: None, retries=0) as client:
        job = client.export()
        assert job.status() == ExportStatus(False, "1%", None)
        with pytest.raises(BulkExportError, match="1%"):
            job.wait(timeout=0)
        job.cancel()
        assert script.seen[-1][:2] == ("DELETE", "/fhir/bulkstatus/5")
        script.answers, script.seen[:] = [(500, {}, OUTCOME)], []
        with pytest.raises(ServerError) as failed:
            job.status()
        assert failed.value.outcome == OUTCOME
        script.answers = [(200, {}, PATIENT)]
        with pytest.raises(BulkExportError):
            client.export()


def test_pull_with_export_writes_ndjson_per_type(scripted, tmp_path):
    base, script = scripted
    script.answers = _export_script(base, base.removesuffix("/fhir"), requires_token=False)
    script.answers[1] = (202, {"X-Progress": "50%", "Retry-After": "0"}, None)
    result = CliRunner().invoke(main, ["pull", "--from", base, "--export", "--group", "team-1", "--type", "Patient",
                                       "--type", "CarePlan", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "export in progress: 50%" in result.output
    assert "pulled 4 resources" in result.output and "1 errors" in result.output
    kick_off = script.seen[0][1]
    assert kick_off.startswith("/fhir/Group/team-1/$export?") and "_type=Patient%2CCarePlan" in kick_off
    assert len((tmp_path / "Patient.ndjson").read_text().splitlines()) == 3
    refused = CliRunner().invoke(main, ["pull", "--from", base, "--out", str(tmp_path)])
    assert refused.exit_code == 2 and "--query" in refused.output
