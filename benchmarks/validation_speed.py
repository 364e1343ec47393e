"""Profile validation speed: resources per second, Bundles of 1k and 10k entries, start-up time and memory.

Loads the R4 core and US Core 6.1.0 (from ``../shared/fhir-packages``, or ``--us-core DIR`` holding an
unpacked package) and, when present, our IG (``profiles/``), then measures on one core:

- profile validations per second of a US Core Encounter, Patient and Observation (their own examples,
  declaring their profiles), and of base-only validation of the same resources for comparison; with our
  IG, also a ``cmp-quality-contact`` Encounter from ``examples/fhir/valid``;
- a transaction Bundle of 1,000 and 10,000 entries (Patients, Encounters and Observations that refer to
  their Patient by ``fullUrl``), to show the time grows linearly;
- start-up in a fresh process: loading the definitions (cold: no compiled cache; warm: with it), building
  the validator, and the first validation of each profile (when its snapshot is compiled), with the
  resident memory after that.

    python benchmarks/validation_speed.py [--seconds 3] [--us-core DIR]

This is a measurement, not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import simplejson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapter.conformance.definitions import Definitions  # noqa: E402
from adapter.settings import Settings  # noqa: E402
from adapter.validation import Validator  # noqa: E402

US_CORE_TGZ = ROOT.parent / "shared" / "fhir-packages" / "hl7.fhir.us.core-6.1.0.tgz"
OUR_IG = ROOT / "profiles"
QUALITY_CONTACT = "https://cmp-adapter.org/fhir/StructureDefinition/cmp-quality-contact"
SAMPLES = {"US Core Encounter": "Encounter-example-1.json", "US Core Patient": "Patient-example.json",
           "US Core Observation (blood pressure)": "Observation-blood-pressure.json"}


def unpack_us_core(explicit: str | None, workdir: Path) -> Path | None:
    """The unpacked US Core package folder, or None when it is not available."""
    if explicit:
        return Path(explicit)
    if not US_CORE_TGZ.is_file():
        return None
    with tarfile.open(US_CORE_TGZ, "r:gz") as archive:
        archive.extractall(workdir / "us-core", filter="data")
    return workdir / "us-core" / "package"


def load(path: Path) -> dict:
    return simplejson.loads(path.read_bytes(), use_decimal=True)


def rate(action: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``action`` over about ``seconds`` (after one warm-up call)."""
    action()
    calls, start = 0, time.perf_counter()
    while True:
        action()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls / elapsed


def without_profiles(resource: dict) -> dict:
    copied = copy.deepcopy(resource)
    copied.get("meta", {}).pop("profile", None)
    return copied


def quality_contact_example() -> dict | None:
    for path in sorted((ROOT / "examples" / "fhir" / "valid").glob("Encounter-*.json")):
        resource = load(path)
        if QUALITY_CONTACT in (resource.get("meta") or {}).get("profile", []):
            return resource
    return None


def bundle(samples: dict[str, dict], entries: int) -> dict:
    """A transaction of ``entries`` resources: per Patient, an Encounter and an Observation referring to it."""
    encounter, patient, observation = (samples[name] for name in SAMPLES)
    items = []
    for index in range(entries // 3 + 1):
        patient_url = f"urn:uuid:00000000-0000-4000-8000-{index:012d}"
        subject = {"reference": patient_url}
        items.append((patient_url, dict(patient, id=f"p{index}")))
        items.append((f"urn:uuid:10000000-0000-4000-8000-{index:012d}", dict(encounter, subject=subject)))
        items.append((f"urn:uuid:20000000-0000-4000-8000-{index:012d}", dict(observation, subject=subject)))
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"fullUrl": url, "resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
                      for url, r in items[:entries]]}


def definitions(extra: list[str], compiled: str | None) -> Definitions:
    settings = Settings.load({})
    return Definitions.load(settings.fhir_packages, settings.core_packages, tuple(extra), compiled)


# --- start-up, in a fresh process ----------------------------------------------------------------------------


def startup_child(extra: list[str], compiled: str, samples: list[str]) -> None:
    """Measure start-up in this (fresh) process; print JSON."""
    started = time.perf_counter()
    loaded = definitions(extra, compiled)
    after_load = time.perf_counter()
    validator = Validator(loaded)
    after_validator = time.perf_counter()
    for path in samples:
        validator.validate(load(Path(path)))
    after_first = time.perf_counter()
    print(json.dumps({"load": after_load - started, "validator": after_validator - after_load,
                      "first_validations": after_first - after_validator,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def startup(extra: list[str], samples: list[str], workdir: Path) -> None:
    """Twice in fresh processes: first with an empty compiled-definitions folder, then with what it wrote."""
    compiled = workdir / "startup-compiled"
    command = [sys.executable, __file__, "--startup-child", json.dumps([extra, str(compiled), samples])]
    for label in ("cold (no compiled cache)", "warm (compiled cache)"):
        started = time.perf_counter()
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        total = time.perf_counter() - started
        figures = json.loads(output.strip().splitlines()[-1])
        print(f"  {label:26} process {total:5.2f} s: definitions {figures['load']:.2f} s, validator "
              f"{figures['validator'] * 1000:.0f} ms, first validation of each sample (profiles compiled) "
              f"{figures['first_validations']:.2f} s; peak RSS {figures['rss_mb']:.0f} MB")


# --- main --------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per figure")
    parser.add_argument("--us-core", help="an unpacked hl7.fhir.us.core#6.1.0 package folder")
    parser.add_argument("--startup-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.startup_child:
        startup_child(*json.loads(args.startup_child))
        return

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        us_core = unpack_us_core(args.us_core, workdir)
        if us_core is None:
            print(f"US Core is not available ({US_CORE_TGZ}); pass --us-core DIR")
            return
        extra = [str(us_core)] + ([str(OUR_IG)] if (OUR_IG / "package.json").is_file() else [])
        names = ["R4 core", "US Core 6.1.0"] + (["our IG (profiles/)"] if len(extra) > 1 else [])
        print(f"Python {platform.python_version()} on {platform.machine()}, one core; packages: {', '.join(names)}")
        validator = Validator(definitions(extra, str(workdir / "compiled")))
        samples = {name: load(us_core / "example" / file) for name, file in SAMPLES.items()}
        contact = quality_contact_example()
        if contact is not None:
            samples["cmp-quality-contact Encounter (our IG)"] = contact

        print("\nResources per second (profile validation = base R4 + every declared profile):")
        for name, sample in samples.items():
            profiled = rate(lambda s=sample: validator.validate(s), args.seconds)
            plain = without_profiles(sample)
            base = rate(lambda s=plain: validator.validate(s), args.seconds)
            print(f"  {name:40} profile {profiled:8.0f}/s   base only {base:8.0f}/s")

        print("\nTransaction Bundles (US Core Patient, Encounter, Observation; references by fullUrl):")
        timings = {}
        for size in (1_000, 10_000):
            made = bundle(samples, size)
            runs = []
            for _ in range(2):  # the better of two runs: the machine may be busy with something else
                started = time.perf_counter()
                issues = validator.validate(made)
                runs.append(time.perf_counter() - started)
            timings[size] = min(runs)
            errors = sum(1 for issue in issues if issue.is_error)
            print(f"  {size:6,} entries: {timings[size]:6.2f} s ({timings[size] / size * 1000:.2f} ms per entry, "
                  f"{errors} errors; best of 2)")
        print(f"  10k/1k time ratio: {timings[10_000] / timings[1_000]:.1f} (linear: 10)")

        print("\nStart-up in a fresh process (R4 core + the packages above):")
        startup(extra, [str(us_core / "example" / file) for file in SAMPLES.values()], workdir)


if __name__ == "__main__":
    main()
