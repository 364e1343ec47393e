"""The conformance resources the service runs on, loaded from FHIR packages once per process.

A :class:`Definitions` answers "what is the StructureDefinition / ValueSet / CodeSystem with this URL",
"what search parameters does this type have" and "what shape does this type have" (the
:class:`~adapter.conformance.structure.TypeModel`). It reads, in order: the R4 core package from the
package cache, then any extra packages (our IG in ``profiles/``, US Core, ...). The first definition of a
URL wins, as in HAPI's ``ValidationSupportChain``.

The derived tables are pickled into a compiled cache keyed by the packages' identities and modification
times, so a warm start reads one file instead of thousands.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import threading
from dataclasses import dataclass, field
from pathlib import Path

from adapter.conformance.packages import Package, PackageCache, PackageError
from adapter.conformance.structure import TypeModel

log = logging.getLogger(__name__)

#: Bump when the pickled layout changes, so old compiled caches are ignored.
COMPILED_CACHE_VERSION = 5


@dataclass(frozen=True, slots=True)
class SearchParamDef:
    """A search parameter of one resource type, from an R4 SearchParameter resource."""

    code: str
    type: str
    """``number date string token reference composite quantity uri special``."""
    expression: str | None
    url: str
    targets: tuple[str, ...] = ()
    modifiers: tuple[str, ...] = ()
    components: tuple[tuple[str, str], ...] = ()
    """For composites: (definition url, expression) of each part."""
    multiple_or: bool = True
    description: str = ""


@dataclass
class _Compiled:
    types: TypeModel
    canonical: dict[str, tuple[int, str]] = field(default_factory=dict)
    """url (and url|version) -> (package number, filename)."""
    by_type: dict[str, list[str]] = field(default_factory=dict)
    """resourceType -> urls, in load order."""
    search_params: dict[str, dict[str, SearchParamDef]] = field(default_factory=dict)
    """resource type -> code -> definition (Resource/DomainResource parameters copied into each type)."""


class Definitions:
    """Conformance resources from a list of packages; cheap to query, loaded once.

    Raises (from :meth:`load`):
        PackageError: the core package is not in the cache (the message says how to install it).
    """

    def __init__(self, packages: list[Package], compiled: _Compiled) -> None:
        self.packages = packages
        self._compiled = compiled
        self._resource_cache: dict[str, dict] = {}
        self._lock = threading.Lock()

    # --- loading -------------------------------------------------------------------------------------------

    @classmethod
    def load(cls, cache_folder: str | Path, core_packages: tuple[str, ...], extra_folders: tuple[str, ...] = (),
             compiled_folder: str | Path | None = None) -> Definitions:
        cache = PackageCache(cache_folder)
        core = next((p for p in (cache.find(pid) for pid in core_packages) if p is not None), None)
        if core is None:
            raise PackageError(
                f"none of {', '.join(core_packages)} is in the FHIR package cache {cache.folder}; "
                "install one with `cmp-adapter packages install hl7.fhir.r4.examples@4.0.1`"
            )
        packages = [core] + [Package.open(folder) for folder in extra_folders]
        key = _cache_key(packages)
        compiled_path = Path(compiled_folder) / f"definitions-{key}.pickle" if compiled_folder else None
        compiled = _read_compiled(compiled_path)
        if compiled is None:
            compiled = _compile(packages)
            _write_compiled(compiled_path, compiled)
        return cls(packages, compiled)

    # --- queries -------------------------------------------------------------------------------------------

    @property
    def types(self) -> TypeModel:
        return self._compiled.types

    def resource(self, url: str) -> dict | None:
        """The conformance resource with this canonical URL (``url`` or ``url|version``), or None."""
        cached = self._resource_cache.get(url)
        if cached is not None:
            return cached
        located = self._compiled.canonical.get(url)
        if located is None and "|" in url:
            located = self._compiled.canonical.get(url.split("|", 1)[0])
        if located is None:
            return None
        package_number, filename = located
        resource = self.packages[package_number].read(filename)
        with self._lock:
            self._resource_cache[url] = resource
        return resource

    def urls(self, resource_type: str) -> list[str]:
        return list(self._compiled.by_type.get(resource_type, []))

    def search_params(self, resource_type: str) -> dict[str, SearchParamDef]:
        """Search parameters of a type, by code, including the common ``_id``/``_lastUpdated``/... ones."""
        return self._compiled.search_params.get(resource_type, {})


def _cache_key(packages: list[Package]) -> str:
    """Identify a set of packages by name, folder and the modification time of every file in them."""
    digest = hashlib.sha256(str(COMPILED_CACHE_VERSION).encode())
    for package in packages:
        digest.update(f"{package.package_id}@{package.folder.resolve()}".encode())
        with contextlib.suppress(OSError):
            for entry in sorted(os.scandir(package.folder), key=lambda e: e.name):
                if entry.name.endswith(".json") and entry.name != ".index.json":
                    digest.update(f"{entry.name}:{entry.stat().st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


def _read_compiled(path: Path | None) -> _Compiled | None:
    if path is None or not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            compiled = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        log.warning("ignoring unreadable compiled definitions %s: %s", path, exc)
        return None
    return compiled if isinstance(compiled, _Compiled) else None


def _write_compiled(path: Path | None, compiled: _Compiled) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            pickle.dump(compiled, handle, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except OSError as exc:
        log.warning("cannot write compiled definitions to %s: %s", path, exc)


def _compile(packages: list[Package]) -> _Compiled:
    canonical: dict[str, tuple[int, str]] = {}
    by_type: dict[str, list[str]] = {}
    base_structures: list[dict] = []
    search_resources: list[dict] = []
    for number, package in enumerate(packages):
        for entry in package.index():
            if not entry.url or entry.url in canonical:
                continue
            canonical[entry.url] = (number, entry.filename)
            if entry.version:
                canonical.setdefault(f"{entry.url}|{entry.version}", (number, entry.filename))
            by_type.setdefault(entry.resource_type, []).append(entry.url)
            if entry.resource_type == "StructureDefinition" and number == 0:
                base_structures.append(package.read(entry.filename))
            elif entry.resource_type == "SearchParameter":
                search_resources.append(package.read(entry.filename))
    types = TypeModel.build(base_structures)
    return _Compiled(types, canonical, by_type, _search_table(types, search_resources))


def _search_table(types: TypeModel, resources: list[dict]) -> dict[str, dict[str, SearchParamDef]]:
    """Index SearchParameters by the concrete resource types they apply to.

    A parameter based on ``Resource`` or ``DomainResource`` (``_id``, ``_lastUpdated``, ``_tag``,
    ``_profile``, ``_security``, ``_text``...) is copied into every type that inherits from it.
    """
    table: dict[str, dict[str, SearchParamDef]] = {name: {} for name in types.resource_types()}
    for sp in resources:
        if sp.get("status") == "retired":
            continue
        definition = SearchParamDef(
            code=sp["code"], type=sp["type"], expression=sp.get("expression"), url=sp["url"],
            targets=tuple(sp.get("target", [])), modifiers=tuple(sp.get("modifier", [])),
            components=tuple((c.get("definition", ""), c.get("expression", "")) for c in sp.get("component", [])),
            multiple_or=sp.get("multipleOr", True), description=sp.get("description", ""),
        )
        for base in sp.get("base", []):
            for resource_type in _concrete_types(types, base):
                table.setdefault(resource_type, {}).setdefault(definition.code, definition)
    return table


def _concrete_types(types: TypeModel, base: str) -> list[str]:
    if types.is_resource_type(base):
        return [base]
    return [name for name in types.resource_types() if types.inherits(name, base)]
