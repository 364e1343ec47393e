"""``cmp-adapter import``: CMP record files (JSON, CSV, X12 837P) into the local store or a remote server.

A thin wrapper over :mod:`adapter.services.record_import`; wired into :mod:`adapter.cli` by one line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

import mappings
from adapter.services.record_import import DEFAULT_BATCH_SIZE, SOURCES, FileReport


@click.command("import")
@click.option("--kind", required=True, help=f"Record kind: {', '.join(mappings.KIND_NAMES)}.")
@click.option("--format", "source", type=click.Choice(SOURCES), default=None,
              help="The files' format; default from the extension (.json, .csv, .x12).")
@click.option("--to", "base_url", default=None,
              help="FHIR base URL of a remote server; without it, the local store (CMP_ADAPTER_DATABASE_URL).")
@click.option("--batch-size", default=DEFAULT_BATCH_SIZE, show_default=True, type=click.IntRange(min=0),
              help="Records per transaction; 0: the whole file in one transaction (all or nothing).")
@click.option("--parties", "parties_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="X12: a JSON file of billing providers, members and payers (the rest is looked up by NPI "
                   "and Medicaid id in the store or on the server).")
@click.option("--source-system", default="unknown", help="Named as the author in the Provenance.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(kind: str, source: str | None, base_url: str | None, batch_size: int, parties_path: Path | None,
                   source_system: str, files: tuple[Path, ...]) -> None:
    """Map CMP records to our profiled FHIR resources and store them, in transactions.

    Importing a file again updates the same resources. Bad records are reported (CSV rows also go to
    FILE.rejects.csv, to correct and import again) and do not stop the good ones; exit 1 if any was rejected.
    """
    from adapter.services import record_import

    if kind not in mappings.KIND_NAMES:
        raise click.BadParameter(f"one of {', '.join(mappings.KIND_NAMES)}", param_hint="--kind")
    sources = {path: _source(path, source) for path in files}
    with _destination(base_url, source_system) as (sink, finder):
        parties = _parties(parties_path, finder) if "x12" in sources.values() else None
        reports = []
        for path, file_source in sources.items():
            with click.progressbar(length=0, label=f"importing {path.name}", show_pos=True, file=sys.stderr) as bar:
                try:
                    reports.append(record_import.import_file(kind, file_source, path, sink, batch_size=batch_size,
                                                             parties=parties, on_record=lambda: bar.update(1)))
                except (ValueError, KeyError) as exc:  # CsvHeaderError is a ValueError
                    raise click.ClickException(f"{path}: {exc}") from exc
    for report in reports:
        _print(report)
    if any(report.rejected for report in reports):
        sys.exit(1)


def _source(path: Path, source: str | None) -> str:
    from adapter.services.record_import import source_of

    try:
        return source_of(path, source)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--format") from exc


class _destination:
    """The sink (and the party finder for X12) of the local store or of a remote server, closed after."""

    def __init__(self, base_url: str | None, source_system: str) -> None:
        self.base_url, self.source_system = base_url, source_system
        self._close = lambda: None

    def __enter__(self):
        from adapter.services import record_import, x12_party_lookup

        if self.base_url:
            from adapter.client import FhirClient

            client = FhirClient(self.base_url)
            self._close = client.close
            return (record_import.remote_sink(_reporting(client), source_system=self.source_system),
                    x12_party_lookup.client_finder(client))
        from adapter.conformance.packages import PackageError
        from adapter.services.container import Services
        from adapter.settings import Settings

        try:
            services = Services.build(Settings.load())
        except PackageError as exc:
            raise click.ClickException(str(exc)) from exc
        self._close = services.close
        return (record_import.local_sink(services, source_system=self.source_system),
                x12_party_lookup.store_finder(services))

    def __exit__(self, *exc_info: object) -> None:
        self._close()


class _reporting:
    """A client whose transport failures (no answer at all) end the command with one line, not a traceback."""

    def __init__(self, client) -> None:
        self._client = client

    def transaction(self, bundle: dict) -> dict:
        from adapter.client import TransportError

        try:
            return self._client.transaction(bundle)
        except TransportError as exc:
            raise click.ClickException(str(exc)) from exc


def _parties(path: Path | None, finder):
    from adapter.services.x12_party_lookup import parties_from_json

    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path else {}
        return parties_from_json(data, finder)
    except ValueError as exc:
        raise click.ClickException(f"{path}: {exc}") from exc


def _print(report: FileReport) -> None:
    for rejected in report.rejected[:100]:
        click.echo(f"  rejected {report.path.name} {rejected.where}: {rejected.reason}", err=True)
    if len(report.rejected) > 100:
        click.echo(f"  ... and {len(report.rejected) - 100} more rejected", err=True)
    click.echo(f"{report.path}: {report.records} records, {report.accepted} accepted ({report.resources} resources "
               f"in {report.transactions} transactions), {len(report.rejected)} rejected"
               + (f" (see {report.rejects_file})" if report.rejects_file else ""))
