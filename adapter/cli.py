"""The ``cmp-adapter`` command: serve, load data, manage FHIR packages and the database.

Every command builds the same :class:`~adapter.services.container.Services` from the same settings as the
server and calls the same service functions; none re-implements a step.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from adapter.auth.cli import clients, credential_options
from adapter.conformance.packages import PackageCache, PackageError
from adapter.rest.outcome import operation_outcome
from adapter.settings import Settings
from adapter.subscriptions.commands import subscriptions_worker


def _settings(database_url: str | None = None) -> Settings:
    overrides = {"database_url": database_url} if database_url else {}
    return Settings.load(overrides)


@click.group()
@click.version_option(package_name="cmp-fhir-adapter")
def main() -> None:
    """cmp-fhir-adapter: a FHIR R4 server and translator for Medicaid care-management programs."""
    from adapter.audit.request_log import configure_logging

    configure_logging(logging.INFO)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes (= cores)")
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn (one process).")
@click.option("--load", "load_paths", multiple=True, type=click.Path(exists=True),
              help="Load FHIR files or folders into the store before serving (repeatable).")
def serve(host: str, port: int, workers: int, dev: bool, load_paths: tuple[str, ...]) -> None:
    """Run the FHIR server at http://HOST:PORT/fhir."""
    from adapter.services.container import Services

    settings = _settings()
    try:
        services = Services.build(settings)  # migrates the database once, before any worker starts
    except PackageError as exc:
        raise click.ClickException(str(exc)) from exc
    if load_paths:
        _load(services, load_paths)
    services.close()
    click.echo(f"FHIR base: http://{host}:{port}/fhir  (database: {_redact(settings.effective_database_url)})")
    if dev:
        from adapter.app import create_app

        create_app(settings).run(host=host, port=port)
        return
    from adapter.server import run_gunicorn

    run_gunicorn(settings, host=host, port=port, workers=workers)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
def load(paths: tuple[str, ...]) -> None:
    """Load FHIR JSON/XML files, Bundles and NDJSON (folders recursively) into the store."""
    from adapter.services.container import Services

    try:
        services = Services.build(_settings())
    except PackageError as exc:
        raise click.ClickException(str(exc)) from exc
    failed = _load(services, paths)
    services.close()
    if failed:
        sys.exit(1)


def _load(services, paths: tuple[str, ...]) -> int:
    from adapter.services.loader import load_paths

    report = load_paths(services, [Path(p) for p in paths])
    for problem in report.problems:
        click.echo(f"  rejected {problem}", err=True)
    click.echo(f"loaded {report.stored} resources from {report.files} files; {len(report.problems)} rejected")
    return len(report.problems)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--profile", "profiles", multiple=True, help="Also validate against this profile URL (repeatable).")
@click.option("--package", "package_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Load another FHIR package folder (repeatable), e.g. US Core.")
@click.option("--json", "as_json", is_flag=True, help="Print one OperationOutcome per resource (NDJSON).")
def validate(paths: tuple[str, ...], profiles: tuple[str, ...], package_dirs: tuple[str, ...], as_json: bool) -> None:
    """Validate FHIR files, folders, Bundles and NDJSON offline; exit 1 if any has an error.

    Checks base R4, the profiles each resource declares, --profile, and the validate-on-write policy,
    exactly as the server does on write. No database and no network.
    """
    from adapter.services.offline import offline_validation

    settings = _settings()
    settings = settings.replace(extra_packages=settings.extra_packages + package_dirs)
    try:
        results = offline_validation(settings, [Path(p) for p in paths], profiles)
    except PackageError as exc:
        raise click.ClickException(str(exc)) from exc
    failed = 0
    for result in results:
        failed += result.has_errors
        if as_json:
            click.echo(json.dumps({"source": result.source, "outcome": operation_outcome(result.issues)}))
        else:
            _print_result(result)
    if not as_json:
        click.echo(f"{len(results)} resources checked: {len(results) - failed} valid, {failed} with errors")
    if failed:
        sys.exit(1)


def _print_result(result) -> None:
    errors = [i for i in result.issues if i.is_error]
    warnings = [i for i in result.issues if i.severity == "warning"]
    mark = "FAIL" if errors else "ok  "
    click.echo(f"{mark} {result.source}" + (f"  ({len(warnings)} warnings)" if warnings else ""))
    for issue in errors + warnings:
        rule = f" [{issue.rule_id}]" if issue.rule_id else ""
        click.echo(f"     {issue.severity}{rule} {issue.expression or ''}: {issue.diagnostics}")


@main.command()
@click.option("--kind", required=True, help="Record kind: member, team, enrollment, treatment_plan, quality_contact, "
                                            "team_meeting, claim, shared_care_plan.")
@click.option("--from", "source", required=True,
              type=click.Choice(["cmp-json", "cmp-csv", "x12", "fhir-json", "fhir-ndjson"]))
@click.option("--to", "target", required=True,
              type=click.Choice(["fhir-json", "fhir-ndjson", "fhir-xml", "cmp-json", "cmp-csv", "x12"]))
@click.option("--source-system", default="unknown", help="Named as the author in the Provenance.")
@click.option("--parties", "parties_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="X12: FHIR Bundle or NDJSON of the team and payer Organizations and Patients the claims name.")
@click.option("--envelope", "envelope_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="--to x12: JSON of the interchange envelope (docs/records/x12.md); default: this adapter to "
                   "the first claim's payer, now.")
@click.argument("in_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out_path", type=click.Path(dir_okay=False, path_type=Path))
def convert(kind: str, source: str, target: str, source_system: str, parties_path: Path | None,
            envelope_path: Path | None, in_path: Path, out_path: Path) -> None:
    """Convert records between CMP JSON/CSV, X12 837P and FHIR (JSON, NDJSON, XML), offline.

    Bad CSV rows are reported and written to OUT.rejects.csv, which can be corrected and converted again;
    the good rows are converted regardless. FHIR resources that make no record of KIND are listed. Exit 1
    if any record was rejected.
    """
    import mappings
    from adapter.services import x12_io
    from adapter.services.convert import convert as run_convert
    from mappings.codes import UnmappedCode
    from mappings.csv_format import CsvHeaderError

    if kind not in mappings.KIND_NAMES:
        raise click.BadParameter(f"one of {', '.join(mappings.KIND_NAMES)}", param_hint="--kind")
    types = _type_model() if target == "fhir-xml" else None
    try:
        envelope = x12_io.load_envelope(envelope_path) if envelope_path else None
        with click.progressbar(length=0, label=f"converting {in_path.name}", show_pos=True) as bar:
            report = run_convert(kind, source, target, in_path, out_path, types=types, source_system=source_system,
                                 on_record=lambda: bar.update(1), parties_path=parties_path, envelope=envelope)
    except (CsvHeaderError, UnmappedCode, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in report.problems[:50]:
        click.echo(f"  rejected {problem}", err=True)
    for note in [*report.unassigned[:50], *report.notes[:50]]:
        click.echo(f"  not converted: {note}", err=True)
    resources = f" ({report.resources} resources)" if report.resources else ""
    click.echo(f"{report.records} records{resources} in {out_path}; {report.rejected} rejected"
               + (f" (see {report.rejects_file})" if report.rejects_file else "")
               + (f"; {len(report.unassigned)} resources belong to no {kind} record" if report.unassigned else "")
               + (f"; {report.provenance} Provenance skipped" if report.provenance else ""))
    if report.rejected:
        sys.exit(1)


def _type_model():
    from adapter.conformance.definitions import Definitions

    settings = _settings()
    try:
        return Definitions.load(settings.fhir_packages, settings.core_packages, settings.package_folders,
                                settings.effective_compiled_cache_dir).types
    except PackageError as exc:
        raise click.ClickException(str(exc)) from exc


@main.group()
def packages() -> None:
    """Manage the FHIR package cache (CMP_ADAPTER_FHIR_PACKAGES, default ~/.fhir/packages)."""


@packages.command("install")
@click.argument("specs", nargs=-1, required=True)
def packages_install(specs: tuple[str, ...]) -> None:
    """Install packages: name@version from the npm registry (via npm pack) or a .tgz file."""
    cache = PackageCache(_settings().fhir_packages)
    for spec in specs:
        try:
            already = None if spec.endswith(".tgz") else cache.find(spec.replace("@", "#"))
            package = already or (cache.install_tgz(spec) if spec.endswith(".tgz") else
                                  cache.install_from_registry(spec))
        except PackageError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"{package.package_id}: {'already installed' if already else 'installed'} in {package.folder}")


@packages.command("list")
def packages_list() -> None:
    """List the packages in the cache."""
    for package_id in PackageCache(_settings().fhir_packages).installed():
        click.echo(package_id)


@main.group()
def db() -> None:
    """Database schema management (Alembic)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations to CMP_ADAPTER_DATABASE_URL."""
    from adapter.store.migrate import current_revision, upgrade_database
    from adapter.store.sql import ResourceStore

    settings = _settings()
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    engine = ResourceStore.create_engine(settings.effective_database_url)
    upgrade_database(engine)
    click.echo(f"database at revision {current_revision(engine)}")


# --- exchange with any FHIR R4 server (adapter.client; no Services, no database) ------------------------------

@main.command()
@click.option("--to", "base_url", required=True, help="FHIR base URL of the receiving server.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(min=1),
              help="Resources per transaction Bundle.")
@credential_options
def push(base_url: str, paths: tuple[str, ...], batch_size: int, auth=None) -> None:
    """Upload FHIR JSON resources, Bundles and NDJSON to BASE_URL as transactions, referenced resources first.

    Prints what was rejected with the server's OperationOutcome; exit 1 if anything was.
    """
    from adapter.client import FhirClient, FileFormatError, read_items
    from adapter.client import push as push_items

    try:
        items = read_items([Path(p) for p in paths])
    except FileFormatError as exc:
        raise click.ClickException(str(exc)) from exc
    with FhirClient(base_url, auth=auth) as client, click.progressbar(length=len(items), label="pushing",
                                                                      file=sys.stderr) as bar:
        report = _client_call(lambda: push_items(client, items, batch_size=batch_size, progress=bar.update))
    _print_push(report)
    if not report.ok:
        sys.exit(1)


def _print_push(report) -> None:
    for rejected in report.rejected:
        click.echo(f"  rejected {rejected.item.key} ({rejected.item.source}): {rejected.reason}")
    click.echo(f"{len(report.accepted)} accepted, {len(report.rejected)} rejected")


@main.command()
@click.option("--from", "base_url", required=True, help="FHIR base URL to pull from.")
@click.option("--query", "queries", multiple=True,
              help="A search relative to the base, e.g. 'CarePlan?status=active' (repeatable).")
@click.option("--export", "bulk", is_flag=True, help="Use Bulk Data $export instead of searches.")
@click.option("--type", "types", multiple=True, help="With --export: resource types (_type, repeatable).")
@click.option("--since", default=None, help="With --export: only resources changed since this instant (_since).")
@click.option("--group", "group_id", default=None, help="With --export: Group/[id]/$export (a team panel).")
@click.option("--patients", is_flag=True, help="With --export: Patient/$export (patient compartments).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for <Type>.ndjson.")
@credential_options
def pull(base_url: str, queries: tuple[str, ...], bulk: bool, types: tuple[str, ...], since: str | None,
         group_id: str | None, patients: bool, out_dir: str, auth=None) -> None:
    """Pull from BASE_URL into one NDJSON file per resource type: paged searches (--query) or $export."""
    from adapter.client import FhirClient, pull_export
    from adapter.client import pull as pull_queries

    if bool(queries) == bulk:
        raise click.UsageError("give either --query (one or more) or --export")
    with FhirClient(base_url, auth=auth) as client:
        if bulk:
            result = _client_call(lambda: pull_export(
                client, Path(out_dir), group_id=group_id, patients=patients, types=types, since=since,
                progress=lambda p: click.echo(f"export in progress{': ' + p if p else ''}", err=True)))
            counts = result.counts
            if result.errors:
                click.echo(f"the server reported {result.errors} errors: {Path(out_dir) / 'errors.ndjson'}")
        else:
            counts = _client_call(lambda: pull_queries(client, queries, Path(out_dir)))
    for resource_type, count in sorted(counts.items()):
        click.echo(f"{count:8d}  {Path(out_dir) / (resource_type + '.ndjson')}")
    click.echo(f"pulled {sum(counts.values())} resources")


@main.command("sandbox-check")
@click.option("--base", "base_url", required=True, help="FHIR base URL of the server under test.")
@click.option("--examples", type=click.Path(exists=True), default=None,
              help="Resources to round-trip (default: examples/fhir/valid of this checkout).")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(min=1))
@credential_options
def sandbox_check(base_url: str, examples: str | None, batch_size: int, auth=None) -> None:
    """Push our example story to BASE_URL, read each resource back, compare; a pass/fail table per type.

    Exit 1 if any resource is rejected or comes back different (server-assigned meta aside).
    """
    from adapter.client import FhirClient, FileFormatError, read_items
    from adapter.client import sandbox_check as check

    folder = Path(examples) if examples else Path(__file__).resolve().parent.parent / "examples" / "fhir" / "valid"
    if not folder.is_dir() and not examples:
        raise click.ClickException(f"no example story at {folder} (an installed package has none): use --examples")
    try:
        items = read_items([folder])
    except FileFormatError as exc:
        raise click.ClickException(str(exc)) from exc
    with FhirClient(base_url, auth=auth) as client, click.progressbar(length=len(items), label="pushing",
                                                                      file=sys.stderr) as bar:
        report = _client_call(lambda: check(client, items, batch_size=batch_size, progress=bar.update))
    click.echo(f"{'resource type':<24} {'checked':>7} {'passed':>7}  result")
    for name, result in sorted(report.types.items()):
        click.echo(f"{name:<24} {result.checked:>7} {result.passed:>7}  {'PASS' if result.ok else 'FAIL'}")
    for name, result in sorted(report.types.items()):
        for resource_id, problem in result.failures[:10]:
            click.echo(f"  {name}/{resource_id}: {problem}")
        if len(result.failures) > 10:
            click.echo(f"  {name}: {len(result.failures) - 10} more failures")
    click.echo("PASS" if report.ok else "FAIL")
    if not report.ok:
        sys.exit(1)


def _client_call(action):
    """Run a client call; a transport failure or refused request becomes a one-line CLI error."""
    from adapter.client import FhirClientError

    try:
        return action()
    except FhirClientError as exc:
        raise click.ClickException(str(exc)) from exc


from adapter.cli_import import import_command  # noqa: E402  (its own module; registered here)

main.add_command(import_command)


def _redact(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}" if ":" in credentials else url
    return url


main.add_command(subscriptions_worker)

main.add_command(clients)

if __name__ == "__main__":  # pragma: no cover
    main(prog_name=os.path.basename(sys.argv[0]))
