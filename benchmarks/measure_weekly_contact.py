"""``$evaluate-measure`` for ``cmp-weekly-contact`` over a program year on PostgreSQL (issue 6 target: < 5 s).

Builds N CMP members in T teams over W program weeks (America/Denver, weeks from Sunday 2026-01-04): one
enrollment each (10% start mid-year on a random weekday, 5% transfer to another team mid-year), and per
member-week 0, 1 or 2 quality contacts (10% / 65% / 25%: about 1.15 a week, so 10,000 x 52 gives about
600,000), 2% of them cancelled. The resources are indexed by the adapter's own :class:`Indexer` and loaded
with PostgreSQL ``COPY`` straight into ``resources``, ``resource_versions`` and the index tables (the
store's layout, in one transaction), then ``ANALYZE``d. Loading and evaluation are timed separately; the
evaluation is the service call the REST handler makes (SQL plus the MeasureReport), for all members, one
team and a subject-list of one team, and its counts are checked against the generator's.

    python benchmarks/measure_weekly_contact.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python benchmarks/measure_weekly_contact.py --members 1000 --weeks 8 --explain   # small, with the plan

Runs in its own schema (``--schema``, dropped first and kept afterwards for EXPLAIN). A measurement, not a
test: it prints the figures for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapter import fhirjson
from adapter.rules.config import ProgramRules
from adapter.rules.weeks import week_start
from adapter.search.index import COLUMNS
from adapter.services import measure_operations
from adapter.services.container import Services
from adapter.settings import Settings
from adapter.store.schema import INDEX_TABLES
from tests.measures import builders

START = date(2026, 1, 4)
RULES_FILE = Path(__file__).resolve().parent.parent / "profiles" / "other" / "program-rules.json"


@dataclass
class Generated:
    resources: list[dict] = field(default_factory=list)
    enrolled_weeks: int = 0
    weeks_with_contact: int = 0
    team_counts: dict[str, list[int]] = field(default_factory=dict)
    contacts: int = 0


def generate(members: int, teams: int, weeks: int, seed: int) -> Generated:
    """The scenario and its known answer (member-weeks enrolled and with a contact, overall and per team)."""
    rng = random.Random(seed)
    program = ProgramRules.load(RULES_FILE).program("cmp")
    first = week_start(program, START)
    out = Generated()
    out.resources += [builders.organization(f"team-{t:03d}") for t in range(teams)]
    for n in range(members):
        member = f"m{n:06d}"
        team = f"team-{n % teams:03d}"
        out.resources.append(builders.member(member))
        start_week = rng.randrange(weeks) if rng.random() < 0.10 else 0
        start_day = first + timedelta(days=7 * start_week + (rng.randrange(1, 7) if start_week else 0))
        transfer = rng.randrange(start_week + 1, weeks) if rng.random() < 0.05 and start_week + 1 < weeks else None
        if transfer is None:
            out.resources.append(builders.enrollment(f"e{n:06d}", member, team, "2025-06-01" if start_week == 0
                                                     else start_day.isoformat()))
            teams_by_week = {w: {team} for w in range(start_week, weeks)}
        else:
            moved = first + timedelta(days=7 * transfer + 3)  # Wednesday: the week is both teams'
            other = f"team-{(n + 1) % teams:03d}"
            begin = "2025-06-01" if start_week == 0 else start_day.isoformat()
            out.resources.append(builders.enrollment(f"e{n:06d}", member, team, begin,
                                                     (moved - timedelta(days=1)).isoformat(), status="finished"))
            out.resources.append(builders.enrollment(f"e{n:06d}b", member, other, moved.isoformat()))
            teams_by_week = {w: ({team} if w < transfer else {other} if w > transfer else {team, other})
                             for w in range(start_week, weeks)}
        for week in range(weeks):
            roll = rng.random()
            count = 0 if roll < 0.10 else 1 if roll < 0.75 else 2
            valid = 0
            for k in range(count):
                day = first + timedelta(days=7 * week + rng.randrange(7))
                at = datetime.combine(day, clock(8 + rng.randrange(14), rng.choice((0, 30))), tzinfo=program.time_zone)
                cancelled = rng.random() < 0.02
                out.resources.append(builders.encounter(
                    f"c{n:06d}-{week:02d}-{k}", member, at.isoformat(timespec="seconds"),
                    mode=rng.choice(("AMB", "AMB", "VR")), status="cancelled" if cancelled else "finished",
                    team=team))
                out.contacts += 1
                valid += not cancelled
            if week in teams_by_week:
                out.enrolled_weeks += 1
                out.weeks_with_contact += bool(valid)
                for owner in teams_by_week[week]:
                    counts = out.team_counts.setdefault(owner, [0, 0])
                    counts[0] += 1
                    counts[1] += bool(valid)
    return out


def copy_load(services: Services, resources: list[dict]) -> tuple[float, float, int]:
    """Index every resource with the adapter's indexer, then COPY resources, versions and index rows in one
    transaction. Returns (indexing seconds, COPY seconds, index rows)."""
    moment = datetime.now(UTC).replace(tzinfo=None)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    started = time.perf_counter()
    current, versions, index_rows = [], [], {kind: [] for kind in INDEX_TABLES}
    for pk, resource in enumerate(resources, start=1):
        resource["meta"] = {**resource.get("meta", {}), "versionId": "1", "lastUpdated": stamp}
        content = fhirjson.dumps(resource)
        res_type, res_id = resource["resourceType"], resource["id"]
        current.append((pk, res_type, res_id, 1, moment, False, content))
        versions.append((pk, pk, res_type, res_id, 1, moment, "POST", content))
        for kind, rows in services.store.indexer.rows(resource).items():
            index_rows[kind].extend((pk, res_type, *row.values()) for row in rows)
    indexed = time.perf_counter() - started
    started = time.perf_counter()
    raw = services.store.engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            _copy(cursor, "resources", ("pk", "res_type", "res_id", "version", "last_updated", "deleted", "content"),
                  current)
            _copy(cursor, "resource_versions", ("pk", "resource_pk", "res_type", "res_id", "version", "last_updated",
                                                "method", "content"), versions)
            for kind, rows in index_rows.items():
                if rows:
                    columns = ("resource_pk", "res_type", *COLUMNS[kind], "param")  # Indexer.rows' key order
                    _copy(cursor, INDEX_TABLES[kind].name, columns, rows)
            for table in ("resources", "resource_versions"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'pk'), (SELECT max(pk) FROM {table}))")
        raw.commit()
        with raw.cursor() as cursor:
            for table in ("resources", "resource_versions", *(table.name for table in INDEX_TABLES.values())):
                cursor.execute(f"ANALYZE {table}")
        raw.commit()
    finally:
        raw.close()
    return indexed, time.perf_counter() - started, sum(len(rows) for rows in index_rows.values())


def _copy(cursor, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def timed(label: str, runs: int, call) -> tuple[float, object]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
    print(f"  {label}: median {statistics.median(seconds):.3f} s, min {min(seconds):.3f} s over {runs} runs")
    return statistics.median(seconds), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default="bench_measures")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the all-members query")
    parser.add_argument("--reuse", action="store_true",
                        help="evaluate on the data a previous run left in --schema (no generation, no load)")
    args = parser.parse_args()

    separator = "&" if "?" in args.database_url else "?"
    url = f"{args.database_url}{separator}options=-csearch_path%3D{args.schema}"
    if args.reuse:
        services = Services.build(Settings.load({"database_url": url, "data_dir": "/tmp/cmp-bench-measures"}))
        with services.store.connect() as conn:
            answer = json.loads(conn.exec_driver_sql("SELECT value FROM benchmark_answer").scalar_one())
        data = Generated(enrolled_weeks=answer["enrolled_weeks"], weeks_with_contact=answer["weeks_with_contact"],
                         team_counts=answer["team_counts"])
    else:
        admin = create_engine(args.database_url)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{args.schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{args.schema}"'))
        admin.dispose()
        services = Services.build(Settings.load({"database_url": url, "data_dir": "/tmp/cmp-bench-measures"}))
        started = time.perf_counter()
        data = generate(args.members, args.teams, args.weeks, args.seed)
        generated = time.perf_counter() - started
        print(f"{args.members} members x {args.weeks} weeks, {args.teams} teams: {len(data.resources)} resources, "
              f"{data.contacts} contacts, {data.enrolled_weeks} enrolled member-weeks (generated in "
              f"{generated:.1f} s)")
        indexed, copied, rows = copy_load(services, data.resources)
        print(f"load: indexing {indexed:.1f} s ({len(data.resources) / indexed:.0f} resources/s), COPY + ANALYZE "
              f"{copied:.1f} s ({len(data.resources) * 2 + rows} rows)")
        answer = {"enrolled_weeks": data.enrolled_weeks, "weeks_with_contact": data.weeks_with_contact,
                  "team_counts": data.team_counts}
        with services.store.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE benchmark_answer (value text)")
            conn.exec_driver_sql("INSERT INTO benchmark_answer VALUES (%s)", (json.dumps(answer),))

    end = START + timedelta(days=7 * args.weeks - 1)
    inputs = {"periodStart": START.isoformat(), "periodEnd": end.isoformat()}
    print("evaluate cmp-weekly-contact (service call: SQL + MeasureReport):")

    def evaluate(**extra: str) -> dict:
        return measure_operations.evaluate_measure(services, "cmp-weekly-contact", {**inputs, **extra}).report

    def counts(report: dict) -> list[int]:
        return [p["count"] for p in report["group"][0]["population"][1:]]

    total, report = timed("all members, summary", args.runs, evaluate)
    assert counts(report) == [data.enrolled_weeks, data.weeks_with_contact], (counts(report), data.enrolled_weeks)
    print(f"    denominator {counts(report)[0]}, numerator {counts(report)[1]}, "
          f"score {report['group'][0]['measureScore']['value']}")
    _, report = timed("one team, summary", args.runs, lambda: evaluate(subject="Organization/team-000"))
    if "team-000" in data.team_counts:
        assert counts(report) == data.team_counts["team-000"], (counts(report), data.team_counts["team-000"])
    _, report = timed("all members, subject-list", args.runs, lambda: evaluate(reportType="subject-list"))
    assert counts(report) == [data.enrolled_weeks, data.weeks_with_contact]
    if args.explain:
        from sqlalchemy import and_, func, select

        from adapter.measures import cmp_weeks
        from adapter.measures.core import Period, Scope, weeks_table

        program = services.program_rules.program("cmp")
        weeks = weeks_table(Period(START, end).weeks_starting(program))
        enrolled = cmp_weeks.enrollment_weeks(weeks, Scope()).subquery("enrolled")
        found = cmp_weeks.contact_weeks(weeks, Scope()).subquery("hits")
        query = select(func.count(), func.count(found.c.member)).select_from(enrolled.outerjoin(
            found, and_(found.c.member == enrolled.c.member, found.c.week_no == enrolled.c.week_no)))
        compiled = query.compile(services.store.engine, compile_kwargs={"render_postcompile": True})
        with services.store.connect() as conn:
            for row in conn.exec_driver_sql("EXPLAIN ANALYZE " + str(compiled), compiled.params):
                print(row[0])
    print(f"target < 5 s on PostgreSQL: {'met' if total < 5 else 'NOT met'} ({total:.2f} s)")
    services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
