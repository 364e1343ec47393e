"""FHIR NPM packages in a package cache folder.

The cache layout is the one HAPI, SUSHI, Firely and the HL7 validator share (``~/.fhir/packages``)::

    <cache>/<name>#<version>/package/package.json
    <cache>/<name>#<version>/package/<ResourceType>-<id>.json
    <cache>/<name>#<version>/package/.index.json     (optional; written here when missing)

A package is installed from the npm registry with the ordinary ``npm pack`` client, or from a ``.tgz``
file, so the service itself never talks to a registry. See the FHIR package spec,
https://confluence.hl7.org/display/FHIR/NPM+Package+Specification.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

#: Resource types a definitions loader cares about; examples and other instances are skipped.
CONFORMANCE_TYPES = frozenset({
    "StructureDefinition", "SearchParameter", "ValueSet", "CodeSystem", "ConceptMap", "OperationDefinition",
    "CompartmentDefinition", "NamingSystem", "ImplementationGuide", "CapabilityStatement",
})


class PackageError(Exception):
    """A package is missing, malformed or could not be installed."""


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One conformance resource of a package, as listed in ``.index.json``."""

    filename: str
    resource_type: str
    id: str | None
    url: str | None
    version: str | None
    kind: str | None
    type: str | None


@dataclass(frozen=True)
class Package:
    """An unpacked package folder (the one holding ``package.json``)."""

    folder: Path
    name: str
    version: str
    manifest: dict

    @property
    def package_id(self) -> str:
        return f"{self.name}#{self.version}"

    @classmethod
    def open(cls, folder: str | Path) -> Package:
        """Open a package from its ``<name>#<version>`` folder, its ``package`` folder, or a source folder.

        Raises:
            PackageError: there is no readable ``package.json``.
        """
        folder = Path(folder)
        if (folder / "package" / "package.json").is_file():
            folder = folder / "package"
        manifest_path = folder / "package.json"
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PackageError(f"no readable package.json in {folder}: {exc}") from exc
        return cls(folder, manifest.get("name", folder.name), manifest.get("version", ""), manifest)

    def index(self) -> list[IndexEntry]:
        """The package's conformance resources, from ``.index.json`` or by reading every file once.

        A generated index is written back (as other FHIR tools do) when the folder is writable.
        """
        index_path = self.folder / ".index.json"
        if index_path.is_file():
            with contextlib.suppress(OSError, ValueError):
                return _entries(orjson.loads(index_path.read_bytes()))
        files = []
        for path in sorted(self.folder.glob("*.json")):
            if path.name == "package.json" or path.name.startswith("."):
                continue
            try:
                resource = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue
            if not isinstance(resource, dict) or "resourceType" not in resource:
                continue
            files.append({
                "filename": path.name, "resourceType": resource["resourceType"], "id": resource.get("id"),
                "url": resource.get("url"), "version": resource.get("version"),
                "kind": resource.get("kind"), "type": resource.get("type"),
            })
        with contextlib.suppress(OSError):
            index_path.write_bytes(orjson.dumps({"index-version": 1, "files": files}))
        return _entries({"files": files})

    def read(self, filename: str) -> dict:
        return orjson.loads((self.folder / filename).read_bytes())

    def resources(self, types: frozenset[str] = CONFORMANCE_TYPES) -> Iterator[dict]:
        """Every resource of the given types that the package holds."""
        for entry in self.index():
            if entry.resource_type in types:
                yield self.read(entry.filename)


def _entries(index: dict) -> list[IndexEntry]:
    return [
        IndexEntry(f["filename"], f.get("resourceType", ""), f.get("id"), f.get("url"), f.get("version"),
                   f.get("kind"), f.get("type"))
        for f in index.get("files", [])
    ]


class PackageCache:
    """The package cache folder: find installed packages, install new ones."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).expanduser()

    def find(self, package_id: str) -> Package | None:
        """The installed package ``name#version``, or None."""
        folder = self.folder / package_id
        if (folder / "package" / "package.json").is_file():
            return Package.open(folder)
        return None

    def installed(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir() if (p / "package" / "package.json").is_file())

    def install_tgz(self, tgz: str | Path) -> Package:
        """Unpack a package tarball (as ``npm pack`` makes it) into the cache.

        Raises:
            PackageError: the file is not a FHIR package tarball.
        """
        try:
            with tarfile.open(tgz, "r:gz") as archive:
                manifest_member = archive.extractfile("package/package.json")
                if manifest_member is None:
                    raise PackageError(f"{tgz} has no package/package.json")
                manifest = json.load(io.TextIOWrapper(manifest_member, encoding="utf-8"))
                target = self.folder / f"{manifest['name']}#{manifest['version']}"
                staging = Path(tempfile.mkdtemp(prefix=".install-", dir=self._ensure_folder()))
                try:
                    archive.extractall(staging, filter="data")
                    if target.exists():
                        shutil.rmtree(target)
                    staging.rename(target)
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
        except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
            raise PackageError(f"cannot install {tgz}: {exc}") from exc
        return Package.open(target)

    def install_from_registry(self, spec: str) -> Package:
        """Install ``name@version`` (or ``name#version``) from the npm registry with ``npm pack``.

        Raises:
            PackageError: npm is missing or the registry refused the package.
        """
        spec = spec.replace("#", "@")
        npm = shutil.which("npm")
        if npm is None:
            raise PackageError("npm is not installed; install Node.js or pass a .tgz file instead")
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run([npm, "pack", spec, "--silent", "--pack-destination", tmp],
                                  capture_output=True, text=True, check=False)
            tarballs = list(Path(tmp).glob("*.tgz"))
            if done.returncode != 0 or not tarballs:
                raise PackageError(f"npm pack {spec} failed: {done.stderr.strip() or done.stdout.strip()}")
            return self.install_tgz(tarballs[0])

    def _ensure_folder(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder
