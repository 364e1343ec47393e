#!/usr/bin/env python3
"""Build the CMP implementation guide (FHIR package ``cmp.fhir.ig``) from its FSH sources.

The sources are ``profiles/fsh/`` (a SUSHI project, ``FSHOnly``). This script

1. installs the pinned SUSHI (``fsh-sushi`` from the npm registry) into ``.cache/sushi/`` when it is missing;
2. runs it with a private, temporary ``HOME`` whose package cache holds ``hl7.fhir.r4.core#4.0.1``: the real
   core package when the user's cache has it, otherwise a copy of the conformance resources of
   ``hl7.fhir.r4.examples#4.0.1`` (the same R4 definitions, which the npm registry serves) renamed to the
   core package. The user's own cache is only read, never written;
3. writes the FHIR package into ``profiles/``: every compiled resource as ``<Type>-<id>.json``, the
   ImplementationGuide's resource list, ``package.json`` and ``.index.json``, all formatted the same way and
   without timestamps, so that a rebuild of unchanged sources changes no byte;
4. renders ``docs/profiles.md`` from the compiled StructureDefinitions.

``--check`` builds into memory and exits with status 1, listing the files, when the committed package or
documentation differs from a fresh build (CI runs it). The product itself never needs Node: the package is
committed.

Usage::

    python scripts/build_ig.py [--check] [--package-cache ~/.fhir/packages]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import simplejson

REPO = Path(__file__).resolve().parent.parent
FSH_PROJECT = REPO / "profiles" / "fsh"
PACKAGE_DIR = REPO / "profiles"
DOCS_FILE = REPO / "docs" / "profiles.md"
SUSHI_CACHE = REPO / ".cache" / "sushi"

#: The SUSHI release the package is built with; a change of version is a change of output, so it is pinned.
SUSHI_VERSION = "3.21.0"
CORE_PACKAGE = "hl7.fhir.r4.core#4.0.1"
#: Carries exactly the R4 core definitions; used when the core package itself is not in the cache.
CORE_STAND_IN = "hl7.fhir.r4.examples#4.0.1"
#: File name prefixes of the conformance resources SUSHI needs from the core package.
CORE_RESOURCE_PREFIXES = ("StructureDefinition-", "ValueSet-", "CodeSystem-", "SearchParameter-",
                          "NamingSystem-", "OperationDefinition-", "CompartmentDefinition-", "ConceptMap-")
#: Resource types that have ``url`` and ``version``; SUSHI sets ``version`` on profiles and terminology only.
VERSIONED_TYPES = frozenset({"StructureDefinition", "ValueSet", "CodeSystem", "SearchParameter", "Measure",
                             "Questionnaire", "CapabilityStatement", "ImplementationGuide"})
IG_FILE = "ImplementationGuide-cmp.fhir.ig.json"

#: Rule ids of BRIEF §2 as they appear in descriptions ("CMP-ELIG-1..4" names four of them).
RULE_ID = re.compile(r"\b(CMP-(?:ELIG|TEAM|ITP|QC|TM|BILL)|SCP|PCCM|PCMH)-(\d)(?:\.\.(\d))?\b")
US_CORE_IDENTITY = "us-core"


class BuildError(Exception):
    """SUSHI is missing, failed, or produced something the package cannot hold."""


# --- running SUSHI ------------------------------------------------------------------------------------------

def ensure_sushi(cache: Path = SUSHI_CACHE) -> Path:
    """The ``sushi`` executable of the pinned release, installed into ``cache`` with npm when missing.

    Raises:
        BuildError: npm is missing or the install failed.
    """
    sushi = cache / "node_modules" / ".bin" / "sushi"
    manifest = cache / "node_modules" / "fsh-sushi" / "package.json"
    if sushi.exists() and manifest.is_file() and json.loads(manifest.read_text())["version"] == SUSHI_VERSION:
        return sushi
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm is not installed; SUSHI (fsh-sushi) needs Node.js and npm")
    cache.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund", "--save-exact",
                           f"fsh-sushi@{SUSHI_VERSION}"], capture_output=True, text=True, check=False)
    if done.returncode != 0 or not sushi.exists():
        raise BuildError(f"npm install fsh-sushi@{SUSHI_VERSION} failed:\n{done.stderr or done.stdout}")
    return sushi


def private_home(folder: Path, package_cache: Path) -> Path:
    """A throw-away ``HOME`` whose ``.fhir/packages`` holds the R4 core package for SUSHI.

    Files are copied (not linked), so nothing SUSHI does can reach the user's cache.

    Raises:
        BuildError: neither the core package nor its stand-in is in ``package_cache``.
    """
    target = folder / ".fhir" / "packages" / CORE_PACKAGE / "package"
    target.mkdir(parents=True)
    for source_id in (CORE_PACKAGE, CORE_STAND_IN):
        source = package_cache / source_id / "package"
        if (source / "package.json").is_file():
            break
    else:
        raise BuildError(f"neither {CORE_PACKAGE} nor {CORE_STAND_IN} is in {package_cache}; install one with "
                         "`cmp-adapter packages install hl7.fhir.r4.examples@4.0.1`")
    for path in source.iterdir():
        if path.name.startswith(CORE_RESOURCE_PREFIXES) and path.suffix == ".json":
            shutil.copyfile(path, target / path.name)
    manifest = json.loads((source / "package.json").read_text(encoding="utf-8"))
    manifest.update(name="hl7.fhir.r4.core", type="fhir.core")
    (target / "package.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


def run_sushi(sushi: Path, home: Path, out: Path) -> Path:
    """Compile the FSH project; returns the folder of the compiled resources.

    Raises:
        BuildError: SUSHI reported errors.
    """
    env = {**os.environ, "HOME": str(home), "npm_config_update_notifier": "false"}
    done = subprocess.run([str(sushi), "build", str(FSH_PROJECT), "--snapshot", "--out", str(out)],
                          capture_output=True, text=True, env=env, check=False)
    log = done.stdout + done.stderr
    errors = [line for line in log.splitlines() if line.startswith("error")]
    if done.returncode != 0 or errors:
        raise BuildError("SUSHI failed:\n" + "\n".join(errors or log.splitlines()[-40:]))
    return out / "fsh-generated" / "resources"


# --- assembling the package ---------------------------------------------------------------------------------

def dumps(value: object) -> str:
    """The one JSON format of the package: two-space indent, UTF-8, exact decimals, final newline."""
    return simplejson.dumps(value, indent=2, ensure_ascii=False, use_decimal=True) + "\n"


def loads(text: str | bytes) -> dict:
    return simplejson.loads(text, use_decimal=True)


def config_value(key: str) -> str:
    """A top-level scalar of ``sushi-config.yaml`` (the file is ours and flat, so no YAML parser is needed).

    Raises:
        BuildError: the key is missing.
    """
    text = (FSH_PROJECT / "sushi-config.yaml").read_text(encoding="utf-8")
    found = re.search(rf"^{re.escape(key)}:\s*(\S.*?)\s*$", text, re.MULTILINE)
    if found is None:
        raise BuildError(f"sushi-config.yaml has no {key}")
    return found.group(1).strip("'\"")


def with_version(resource: dict, version: str) -> dict:
    """The resource with ``version`` right after ``url`` (SUSHI leaves instances without one)."""
    if resource.get("resourceType") not in VERSIONED_TYPES or "version" in resource:
        return resource
    stamped = {}
    for key, value in resource.items():
        stamped[key] = value
        if key == "url":
            stamped["version"] = version
    return stamped


#: How the ImplementationGuide groups its resources: (grouping id, name, test on a resource).
GROUPS = (
    ("profiles", "Profiles", lambda r: r["resourceType"] == "StructureDefinition" and r.get("type") != "Extension"),
    ("extensions", "Extensions", lambda r: r["resourceType"] == "StructureDefinition"),
    ("terminology", "Terminology", lambda r: r["resourceType"] in ("CodeSystem", "ValueSet", "NamingSystem")),
    ("measures", "Measures", lambda r: r["resourceType"] == "Measure"),
    ("forms", "Forms", lambda r: r["resourceType"] == "Questionnaire"),
    ("search", "Search parameters", lambda r: r["resourceType"] == "SearchParameter"),
    ("operations", "Operations", lambda r: r["resourceType"] == "OperationDefinition"),
    ("capabilities", "Capability statements", lambda r: r["resourceType"] == "CapabilityStatement"),
)


def _group_of(resource: dict) -> str:
    return next(group_id for group_id, _, test in GROUPS if test(resource))


def with_resource_list(guide: dict, resources: dict[str, dict]) -> dict:
    """The ImplementationGuide with ``definition`` listing every other resource of the package, grouped."""
    entries = []
    for filename in sorted(resources):
        resource = resources[filename]
        if filename == IG_FILE:
            continue
        entry = {"reference": {"reference": f"{resource['resourceType']}/{resource['id']}"},
                 "name": resource.get("title") or resource.get("name") or resource["id"]}
        description = resource.get("description")
        if description:
            entry["description"] = description
        entry["exampleBoolean"] = False
        entry["groupingId"] = _group_of(resource)
        entries.append(entry)
    used = {entry["groupingId"] for entry in entries}
    groupings = [{"id": group_id, "name": name} for group_id, name, _ in GROUPS if group_id in used]
    return {**guide, "definition": {"grouping": groupings, "resource": entries}}


def package_manifest(guide: dict) -> dict:
    """``package.json`` of the package, from the ImplementationGuide (FHIR NPM package specification)."""
    canonical = guide["url"].rsplit("/ImplementationGuide/", 1)[0]
    return {
        "name": guide["packageId"],
        "version": guide["version"],
        "description": guide["description"],
        "author": guide["publisher"],
        "fhirVersions": list(guide["fhirVersion"]),
        "dependencies": {"hl7.fhir.r4.core": "4.0.1"},
        "canonical": canonical,
        "url": canonical,
        "title": guide["title"],
        "type": "IG",
        "license": guide["license"],
        "jurisdiction": "urn:iso:std:iso:3166#US",
    }


INDEX_FIELDS = ("id", "url", "version", "kind", "type")


def package_index(resources: dict[str, dict]) -> dict:
    """``.index.json``: one entry per resource file, sorted by file name."""
    files = []
    for filename in sorted(resources):
        resource = resources[filename]
        entry = {"filename": filename, "resourceType": resource["resourceType"]}
        for field in INDEX_FIELDS:
            if isinstance(resource.get(field), str):
                entry[field] = resource[field]
        files.append(entry)
    return {"index-version": 1, "files": files}


def assemble(compiled: Path) -> dict[str, str]:
    """Every file of the package folder (name -> text), from SUSHI's output folder.

    Raises:
        BuildError: a compiled file is not named ``<Type>-<id>.json`` or the ImplementationGuide is missing.
    """
    version = config_value("version")
    resources: dict[str, dict] = {}
    for path in sorted(compiled.glob("*.json")):
        resource = with_version(loads(path.read_text(encoding="utf-8")), version)
        expected = f"{resource['resourceType']}-{resource['id']}.json"
        if path.name != expected:
            raise BuildError(f"SUSHI wrote {path.name}; the package names it {expected}")
        resources[path.name] = resource
    if IG_FILE not in resources:
        raise BuildError(f"the FSH sources define no {IG_FILE[:-5]}")
    resources[IG_FILE] = with_resource_list(resources[IG_FILE], resources)
    files = {name: dumps(resource) for name, resource in resources.items()}
    files["package.json"] = dumps(package_manifest(resources[IG_FILE]))
    files[".index.json"] = dumps(package_index(resources))
    return files


def read_package(folder: Path = PACKAGE_DIR) -> dict[str, dict]:
    """The resources of a package folder (file name -> resource), without package.json and .index.json."""
    return {path.name: loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))
            if path.name != "package.json" and not path.name.startswith(".")}


# --- documentation ------------------------------------------------------------------------------------------

def rule_ids(texts: Iterable[str]) -> list[str]:
    """The BRIEF §2 rule ids named in the texts, ranges expanded, in rule order."""
    found: set[tuple[str, int]] = set()
    for text in texts:
        for family, first, last in RULE_ID.findall(text or ""):
            for number in range(int(first), int(last or first) + 1):
                found.add((family, number))
    order = ["CMP-ELIG", "CMP-TEAM", "CMP-ITP", "CMP-QC", "CMP-TM", "CMP-BILL", "SCP", "PCCM", "PCMH"]
    return [f"{family}-{number}" for family, number in sorted(found, key=lambda f: (order.index(f[0]), f[1]))]


def profile_rule_ids(sd: dict) -> list[str]:
    """Rule ids a StructureDefinition carries: named by its constraints and the descriptions of its elements.

    The profile's own description also names rules it only serves (a member is the subject of every rule);
    those are context, not constraints, so they are not counted.
    """
    texts = []
    for element in sd.get("differential", {}).get("element", []):
        texts += [element.get("short", ""), element.get("definition", "")]
        texts += [c.get("human", "") for c in element.get("constraint", [])]
    return rule_ids(texts)


def us_core_alignment(sd: dict) -> dict | None:
    """The US Core profile a StructureDefinition declares it aligns with (``mapping`` identity us-core)."""
    return next((m for m in sd.get("mapping", []) if m.get("identity") == US_CORE_IDENTITY), None)


def _cell(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(", ", ": "), default=str)
    return text.replace("|", "\\|").replace("\n", " ")


def _tail(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def _types(element: dict) -> str:
    rendered = []
    for t in element.get("type", []):
        targets = " \\| ".join(_tail(u) for u in t.get("targetProfile") or t.get("profile") or [])
        rendered.append(f"{t['code']}({targets})" if targets else t["code"])
    return ", ".join(rendered)


def _fixed(element: dict) -> str:
    for key, value in element.items():
        if key.startswith(("fixed", "pattern")):
            return f"{key}: `{_cell(value)}`"
    return ""


def _cardinality(element: dict, snapshot: dict[str, dict]) -> str:
    base = snapshot.get(element["id"], {})
    low, high = element.get("min", base.get("min", "")), element.get("max", base.get("max", ""))
    return f"{low}..{high}"


def render_profile(sd: dict) -> list[str]:
    snapshot = {e["id"]: e for e in sd.get("snapshot", {}).get("element", [])}
    alignment = us_core_alignment(sd)
    ids = profile_rule_ids(sd)
    lines = [f"## {sd['id']}: {sd['title']}", "",
             f"`{sd['url']}` (version {sd['version']}, {sd['status']}), constrains "
             f"[{_tail(sd['baseDefinition'])}]({sd['baseDefinition']}).", ""]
    if sd.get("purpose"):
        lines += [f"**Purpose.** {sd['purpose']}", ""]
    lines += [sd["description"], "",
              f"**Rule ids carried:** {', '.join(ids) if ids else 'none of its own'}.", "",
              "**US Core 6.1.0:** " + (f"[{_tail(alignment['uri'])}]({alignment['uri']})" if alignment
                                      else "no US Core profile for this resource type") + ".", ""]
    constraints = [(e["id"], c) for e in sd["differential"]["element"] for c in e.get("constraint", [])]
    if constraints:
        lines += ["| constraint | on | rule | expression |", "|---|---|---|---|"]
        lines += [f"| `{c['key']}` ({c['severity']}) | {element_id} | {_cell(c['human'])} | "
                  f"`{_cell(c['expression'])}` |" for element_id, c in constraints]
        lines.append("")
    lines += ["| element | card. | type | binding | fixed / pattern | note |", "|---|---|---|---|---|---|"]
    for element in sd["differential"]["element"]:
        binding = element.get("binding", {})
        binding_text = f"{binding['strength']}: {_tail(binding['valueSet'])}" if binding.get("valueSet") else ""
        lines.append(f"| {element['id']} | {_cardinality(element, snapshot)} | {_types(element)} | "
                     f"{binding_text} | {_fixed(element)} | {_cell(element.get('short', ''))} |")
    return [*lines, ""]


def render_rule_index(profiles: list[dict], measures: list[dict]) -> list[str]:
    """Rule id -> the constraints that carry it (invariant keys, element ids) and the measures of it."""
    carried: dict[str, list[str]] = {}
    for sd in profiles:
        for element in sd["differential"]["element"]:
            for constraint in element.get("constraint", []):
                for rule in rule_ids([constraint.get("human", "")]):
                    carried.setdefault(rule, []).append(f"{sd['id']}: `{constraint['key']}`")
            for rule in rule_ids([element.get("short", ""), element.get("definition", "")]):
                carried.setdefault(rule, []).append(f"{sd['id']}: {element['id']}")
    for measure in measures:
        for rule in rule_ids([measure.get("description", "")]):
            carried.setdefault(rule, []).append(f"Measure {measure['id']}")
    lines = ["## Program rules and the constraints that carry them", "",
             "Invariants are in `code`; the other entries are element constraints whose description cites the "
             "rule. Measures report rules that span resources or time.", "",
             "| rule | carried by |", "|---|---|"]
    for rule in rule_ids(carried):
        lines.append(f"| {rule} | {'; '.join(dict.fromkeys(carried[rule]))} |")
    return [*lines, ""]


def render_docs(resources: dict[str, dict]) -> str:
    """``docs/profiles.md``: every profile with purpose, rule ids, US Core alignment and element table."""
    by_type: dict[str, list[dict]] = {}
    for filename in sorted(resources):
        resource = resources[filename]
        by_type.setdefault(resource["resourceType"], []).append(resource)
    structures = by_type.get("StructureDefinition", [])
    profiles = [sd for sd in structures if sd["type"] != "Extension"]
    extensions = [sd for sd in structures if sd["type"] == "Extension"]
    guide = resources[IG_FILE]
    lines = [
        f"# Profiles of {guide['title']} ({guide['packageId']} {guide['version']})", "",
        "<!-- Generated by scripts/build_ig.py from the StructureDefinitions in profiles/; do not edit. -->", "",
        "The FHIR package `profiles/` carries every program rule of BRIEF §2 that can be checked on one "
        "resource as a constraint of a profile: an invariant named after the rule (`cmp-bill-2`), or an element "
        "constraint (cardinality, binding, pattern, target profile) whose description names the rule. Rules "
        "across resources and time are the adapter's rules layer and the measures below. The sources are FSH "
        "(`profiles/fsh/input/fsh/`), compiled with SUSHI by `scripts/build_ig.py`.", "",
        "| profile | resource | title | rule ids carried | US Core 6.1.0 |", "|---|---|---|---|---|",
    ]
    for sd in profiles:
        alignment = us_core_alignment(sd)
        lines.append(f"| [{sd['id']}](#{sd['id']}-{_anchor(sd['title'])}) | {sd['type']} | {sd['title']} | "
                     f"{', '.join(profile_rule_ids(sd))} | {_tail(alignment['uri']) if alignment else '-'} |")
    lines.append("")
    lines += render_rule_index(profiles, by_type.get("Measure", []))
    for sd in profiles:
        lines += render_profile(sd)
    lines += ["# Extensions", "", "| extension | context | value | description |", "|---|---|---|---|"]
    for sd in extensions:
        value = next((e for e in sd["snapshot"]["element"] if e["path"] == "Extension.value[x]"), {})
        context = ", ".join(c["expression"] for c in sd.get("context", []))
        lines.append(f"| `{sd['url']}` | {context} | {_types(value)} | {_cell(sd['description'])} |")
    lines += ["", "# Terminology", ""]
    for cs in by_type.get("CodeSystem", []):
        lines += [f"## CodeSystem {cs['id']}: {cs['title']}", "", f"`{cs['url']}`. {cs['description']}", "",
                  "| code | display | definition |", "|---|---|---|"]
        lines += [f"| `{c['code']}` | {_cell(c.get('display', ''))} | {_cell(c.get('definition', ''))} |"
                  for c in cs.get("concept", [])]
        lines.append("")
    lines += ["## Value sets", "", "| value set | content | description |", "|---|---|---|"]
    for vs in by_type.get("ValueSet", []):
        content = []
        for include in vs.get("compose", {}).get("include", []):
            codes = [c["code"] for c in include.get("concept", [])]
            content.append(f"{include['system']}: {', '.join(codes)}" if codes else f"all of {include['system']}")
        lines.append(f"| `{vs['url']}` | {_cell('; '.join(content))} | {_cell(vs['description'])} |")
    lines += ["", "# Measures", "", "| measure | rule | populations |", "|---|---|---|"]
    for measure in by_type.get("Measure", []):
        populations = "; ".join(f"{p['code']['coding'][0]['code']}: {p['description']}"
                                for g in measure.get("group", []) for p in g.get("population", []))
        lines.append(f"| `{measure['url']}` | {_cell(measure['description'])} | {_cell(populations)} |")
    lines += ["", "# Search parameters", "", "| parameter | base | type | expression | description |",
              "|---|---|---|---|---|"]
    for sp in by_type.get("SearchParameter", []):
        lines.append(f"| `{sp['code']}` (`{sp['url']}`) | {', '.join(sp['base'])} | {sp['type']} | "
                     f"`{_cell(sp['expression'])}` | {_cell(sp['description'])} |")
    lines += ["", "# Capability statement", ""]
    for cs in by_type.get("CapabilityStatement", []):
        lines += [f"`{cs['url']}` ({cs['kind']}): {cs['description']}", "",
                  "| resource | profiles | search parameters |", "|---|---|---|"]
        for resource in cs["rest"][0]["resource"]:
            lines.append(f"| {resource['type']} | {', '.join(_tail(p) for p in resource.get('supportedProfile', []))}"
                         f" | {', '.join(p['name'] for p in resource.get('searchParam', []))} |")
    return "\n".join(lines).rstrip("\n") + "\n"


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


# --- writing and checking -----------------------------------------------------------------------------------

def build(package_cache: Path) -> dict[Path, str]:
    """Every output file (path -> text) of a fresh build."""
    sushi = ensure_sushi()
    with tempfile.TemporaryDirectory(prefix="cmp-ig-") as tmp:
        home = private_home(Path(tmp) / "home", package_cache)
        compiled = run_sushi(sushi, home, Path(tmp) / "out")
        files = assemble(compiled)
    resources = {name: loads(text) for name, text in files.items() if name not in ("package.json", ".index.json")}
    outputs = {PACKAGE_DIR / name: text for name, text in files.items()}
    outputs[DOCS_FILE] = render_docs(resources)
    return outputs


def committed_package_files() -> set[Path]:
    """The package files now in ``profiles/`` (the sources in ``profiles/fsh/`` are not package files)."""
    return {path for path in PACKAGE_DIR.iterdir() if path.is_file() and path.suffix == ".json"}


def differences(outputs: dict[Path, str]) -> list[str]:
    problems = [f"{path.relative_to(REPO)} is stale" for path, text in sorted(outputs.items())
                if not path.is_file() or path.read_text(encoding="utf-8") != text]
    problems += [f"{path.relative_to(REPO)} is not part of the build"
                 for path in sorted(committed_package_files() - set(outputs))]
    return problems


def write(outputs: dict[Path, str]) -> None:
    for path in committed_package_files() - set(outputs):
        path.unlink()
    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when profiles/ or docs/profiles.md differ from a fresh build")
    parser.add_argument("--package-cache", type=Path, default=Path.home() / ".fhir" / "packages",
                        help="the FHIR package cache to read the R4 core definitions from (default %(default)s)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        outputs = build(args.package_cache.expanduser())
    except BuildError as error:
        print(f"build_ig: {error}", file=sys.stderr)
        return 2
    took = time.monotonic() - started
    if args.check:
        problems = differences(outputs)
        for problem in problems:
            print(f"build_ig: {problem}", file=sys.stderr)
        if problems:
            print("build_ig: run `python scripts/build_ig.py` and commit profiles/ and docs/profiles.md",
                  file=sys.stderr)
            return 1
        print(f"build_ig: profiles/ and docs/profiles.md are up to date ({took:.1f} s)")
        return 0
    write(outputs)
    count = sum(1 for path in outputs if path.parent == PACKAGE_DIR)
    print(f"build_ig: wrote {count} package files and {DOCS_FILE.relative_to(REPO)} ({took:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

