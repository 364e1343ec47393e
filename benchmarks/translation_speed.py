"""Translation speed: CMP records <-> FHIR, a large CSV in constant memory, and X12 837P claims (issue 5).

Measures on one core (one process):

- records per second CMP -> FHIR (``MODEL.model_validate`` of the JSON record + ``to_fhir``; then also
  serialized, ``fhirjson.dumps``) and FHIR JSON -> CMP (``fhirjson.loads`` + ``from_fhir``, which maps
  back and checks the round trip), for ``member``,
  ``quality_contact`` and ``claim`` records of the example story, without and with profile validation of
  every resource (``adapter.validation.Validator``: base R4 + the declared profiles of our IG);
- peak memory (RSS, of a separate ``cmp-adapter convert`` process) converting an N-row
  ``quality_contact`` CSV to FHIR NDJSON, and its rows per second;
- 837P claims per second: writing (``claims_to_837p``), writing + validating what was written, and
  reading (``parse_837p``: pyx12 validation, then our reading of the segments), with how much of the
  reading is pyx12's validation alone (``validate_837p``).

Defaults are modest; the real run is
``--seconds 5 --csv-rows 1000000 --claims 2000``::

    python benchmarks/translation_speed.py [--seconds 2] [--csv-rows 100000] [--claims 500] [--profile-x12]

This is a measurement, not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import cycle, islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mappings  # noqa: E402
from adapter import fhirjson  # noqa: E402
from adapter.conformance.definitions import Definitions  # noqa: E402
from adapter.settings import Settings  # noqa: E402
from adapter.validation import Validator  # noqa: E402
from mappings import x12_837p  # noqa: E402
from mappings.claim import ClaimRecord  # noqa: E402

CMP = ROOT / "examples" / "cmp"
KINDS = ("member", "quality_contact", "claim")


def rate(action: Callable[[], int], seconds: float) -> float:
    """Records per second of ``action`` (which returns how many records it did) over about ``seconds``."""
    action()  # warm-up: compiled profiles, ConceptMaps, caches
    done, start = 0, time.perf_counter()
    while True:
        done += action()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


# --- records <-> FHIR ----------------------------------------------------------------------------------------

def record_rates(validator: Validator, seconds: float) -> None:
    print("\nRecords per second, one core (the story's records in turn; validation = base R4 + declared profiles):")
    print(f"  {'kind':16} {'CMP->FHIR':>10} {'->JSON':>8} {'+validation':>12} {'FHIR JSON->CMP':>15} "
          f"{'+validation':>12}  resources/record")
    for kind in KINDS:
        module = mappings.kind(kind)
        raw = json.loads((CMP / f"{kind}.json").read_text(encoding="utf-8"))
        mapped = [module.to_fhir(module.MODEL.model_validate(r)) for r in raw]
        problems = [i for resources in mapped for r in resources for i in validator.validate(r) if i.is_error]
        if problems:
            print(f"  {kind}: the examples do not validate: {problems[0]}")
        records = cycle(raw)
        fhir = cycle([[fhirjson.dumps(r) for r in resources] for resources in mapped])

        def to_fhir(step: str, module=module, records=records) -> int:
            for _ in range(10):
                resources = module.to_fhir(module.MODEL.model_validate(next(records)))
                for resource in resources:
                    if step == "json":
                        fhirjson.dumps(resource)
                    elif step == "validate":
                        validator.validate(resource)
            return 10

        def from_fhir(step: str, module=module, fhir=fhir) -> int:
            for _ in range(10):
                resources = [fhirjson.loads(data) for data in next(fhir)]
                if step == "validate":
                    for resource in resources:
                        validator.validate(resource)
                module.from_fhir(resources)
            return 10

        figures = [rate(lambda f=f, step=step: f(step), seconds)
                   for f, step in ((to_fhir, ""), (to_fhir, "json"), (to_fhir, "validate"), (from_fhir, ""),
                                   (from_fhir, "validate"))]
        per_record = sum(len(m) for m in mapped) / len(mapped)
        print(f"  {kind:16} {figures[0]:10,.0f} {figures[1]:8,.0f} {figures[2]:12,.0f} {figures[3]:15,.0f} "
              f"{figures[4]:12,.0f}  {per_record:.1f}")


# --- a large CSV through `cmp-adapter convert` -----------------------------------------------------------------

def write_contacts_csv(path: Path, rows: int) -> None:
    """``rows`` quality contacts: the story's rows in turn, each with a contact id of its own."""
    with (CMP / "quality_contact.csv").open(encoding="utf-8", newline="") as source:
        reader = csv.reader(source)
        header = next(reader)
        story = list(reader)
    key = header.index("contact_id")
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for number, row in enumerate(islice(cycle(story), rows)):
            row = list(row)
            row[key] = f"{row[key]}-{number}"
            writer.writerow(row)


def csv_memory(rows: int, workdir: Path) -> None:
    source, target = workdir / "quality_contact.csv", workdir / "contacts.ndjson"
    started = time.perf_counter()
    write_contacts_csv(source, rows)
    print(f"\n`cmp-adapter convert --kind quality_contact --from cmp-csv --to fhir-ndjson` of {rows:,} rows "
          f"({source.stat().st_size / 2**20:.0f} MB, written in {time.perf_counter() - started:.1f} s):")
    command = [sys.executable, "-m", "adapter.cli", "convert", "--kind", "quality_contact", "--from", "cmp-csv",
               "--to", "fhir-ndjson", str(source), str(target)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    errors = (workdir / "convert.err").open("wb")
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
    peak_kb = 0
    while process.poll() is None:  # the child's own high-water mark (ru_maxrss would count this parent's)
        peak_kb = max(peak_kb, high_water_kb(process.pid))
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    errors.close()
    if process.returncode != 0:
        print(f"  convert failed ({process.returncode}): {(workdir / 'convert.err').read_text()[-500:]}")
        return
    lines = sum(1 for _ in target.open("rb"))
    print(f"  {elapsed:.1f} s, {rows / elapsed:,.0f} rows/s; {lines:,} resources written "
          f"({target.stat().st_size / 2**20:.0f} MB); peak RSS {peak_kb / 1024:.0f} MB")


def high_water_kb(pid: int) -> int:
    """``VmHWM`` (peak resident set) of a running process, from ``/proc``; 0 once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)


# --- X12 837P ---------------------------------------------------------------------------------------------------

def story_claims_and_parties() -> tuple[list[ClaimRecord], x12_837p.Parties, x12_837p.Envelope]:
    sys.path.insert(0, str(ROOT / "scripts"))
    import make_cmp_x12

    return make_cmp_x12.claims(), make_cmp_x12.parties(), make_cmp_x12.ENVELOPE


def x12_rates(claims_count: int, profile: bool) -> None:
    story, parties, envelope = story_claims_and_parties()
    claims = [c.model_copy(update={"claim_id": f"{c.claim_id}-{n}"})
              for n, c in enumerate(islice(cycle(story), claims_count))]
    print(f"\nX12 005010X222A1 837P, one interchange of {claims_count:,} claims "
          f"(the story's {len(story)} per-diem claims in turn, {sum(len(c.days) for c in story) / len(story):.1f} "
          "days each):")
    started = time.perf_counter()
    x12_837p.validate_837p(x12_837p.claims_to_837p(story[:1], envelope, parties))
    print(f"  first validation in the process (pyx12 parses its 837P map, once): {time.perf_counter() - started:.2f} s")

    def timed(action: Callable[[], object]) -> float:
        best = float("inf")
        for _ in range(2):  # the better of two: the machine is shared
            started = time.perf_counter()
            action()
            best = min(best, time.perf_counter() - started)
        return best

    text = x12_837p.claims_to_837p(claims, envelope, parties)
    write = timed(lambda: x12_837p.claims_to_837p(claims, envelope, parties))
    validate = timed(lambda: x12_837p.validate_837p(text))
    read = timed(lambda: list(x12_837p.parse_837p(text, parties)))
    parsed = list(x12_837p.parse_837p(text, parties))
    assert [(c.claim_id, c.days, c.rate) for c in parsed] == [(c.claim_id, c.days, c.rate) for c in claims]
    print(f"  write (claims_to_837p)                 {claims_count / write:8,.0f} claims/s")
    print(f"  write + pyx12 validation of the output {claims_count / (write + validate):8,.0f} claims/s")
    print(f"  read (parse_837p: pyx12 + ours)        {claims_count / read:8,.0f} claims/s")
    print(f"    of which pyx12 validation alone      {claims_count / validate:8,.0f} claims/s "
          f"({validate / read:.0%} of the reading time; {validate / claims_count * 1000:.2f} ms per claim)")
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        list(x12_837p.parse_837p(text, parties))
        profiler.disable()
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream).sort_stats("tottime")
        stats.print_stats(15)
        ours = sum(row[2] for key, row in stats.stats.items() if "/mappings/" in key[0])
        print(f"  cProfile: time inside mappings/ (our code) {ours:.2f} s of {stats.total_tt:.2f} s")
        print("\n".join("    " + line for line in stream.getvalue().splitlines()[6:30]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per records/s figure")
    parser.add_argument("--csv-rows", type=int, default=100_000, help="rows of the CSV converted (real: 1000000)")
    parser.add_argument("--claims", type=int, default=500, help="claims in the 837P interchange (real: 2000)")
    parser.add_argument("--profile-x12", action="store_true", help="cProfile the 837P reading")
    parser.add_argument("--skip", action="append", default=[], choices=["records", "csv", "x12"])
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores (one used), "
          f"load average {os.getloadavg()[0]:.1f}")
    if "records" not in args.skip:
        settings = Settings.load({})
        with tempfile.TemporaryDirectory() as compiled:
            definitions = Definitions.load(settings.fhir_packages, settings.core_packages, settings.package_folders,
                                           compiled)
            record_rates(Validator(definitions), args.seconds)
    if "csv" not in args.skip:
        with tempfile.TemporaryDirectory() as workdir:
            csv_memory(args.csv_rows, Path(workdir))
    if "x12" not in args.skip:
        x12_rates(args.claims, args.profile_x12)


if __name__ == "__main__":
    main()
