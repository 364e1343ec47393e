"""Code tables of the mappings: FHIR ConceptMaps in ``mappings/conceptmaps/``, translated both ways.

A program system speaks its own codes (contact mode ``F``/``T``, purpose letters ``a``-``f``, service
component letters ``a``-``j``, local staff roles and service codes); FHIR needs the standard or IG codes. The
tables are data (like FHIR-Converter's ``CodeSystem.json``), published as ConceptMaps so the server can serve
them with ``ConceptMap/$translate``. Only ``equivalent`` one-to-one mappings are used, so every translation
can be reversed without loss.

The maps are package data read once per process (they never change at run time); nothing else is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CONCEPTMAP_BASE = "https://cmp-adapter.org/fhir/ConceptMap"
FOLDER = Path(__file__).resolve().parent / "conceptmaps"


class UnmappedCode(ValueError):
    """A code that a ConceptMap does not map; the message names the code and the ConceptMap URL."""

    def __init__(self, code: str, map_url: str, direction: str = "source") -> None:
        super().__init__(f"no mapping for {direction} code {code!r} in ConceptMap {map_url}")
        self.code = code
        self.map_url = map_url


@dataclass(frozen=True)
class Coding:
    """A target coding of a ConceptMap: ``system``, ``code`` and the display to write."""

    system: str
    code: str
    display: str | None = None

    def as_fhir(self) -> dict:
        return {"system": self.system, "code": self.code, **({"display": self.display} if self.display else {})}


@dataclass(frozen=True)
class CodeTable:
    """One ConceptMap read both ways."""

    url: str
    source_system: str
    target_system: str
    forward: dict[str, Coding]
    backward: dict[str, str]

    def to_fhir(self, local_code: str) -> Coding:
        """The FHIR coding of a local code.

        Raises:
            UnmappedCode: the local code is not in the map.
        """
        try:
            return self.forward[local_code]
        except KeyError:
            raise UnmappedCode(local_code, self.url) from None

    def from_fhir(self, coding: dict) -> str:
        """The local code of a FHIR coding (a dict with ``system`` and ``code``).

        Raises:
            UnmappedCode: the coding's system is not the map's target, or its code is not mapped.
        """
        code = coding.get("code", "")
        if coding.get("system") != self.target_system or code not in self.backward:
            raise UnmappedCode(f"{coding.get('system')}|{code}", self.url, "target")
        return self.backward[code]

    def from_code(self, code: str) -> str:
        """The local code of a bare code of the target system (a FHIR ``code`` element).

        Raises:
            UnmappedCode: the code is not mapped.
        """
        return self.from_fhir({"system": self.target_system, "code": code})

    def concept(self, local_code: str) -> dict:
        """A CodeableConcept with the one coding of ``local_code``."""
        return {"coding": [self.to_fhir(local_code).as_fhir()]}

    def from_concept(self, concept: dict) -> str:
        """The local code of the first coding of a CodeableConcept in the map's target system."""
        for coding in concept.get("coding", []):
            if coding.get("system") == self.target_system:
                return self.from_fhir(coding)
        raise UnmappedCode(repr(concept), self.url, "target")

    @property
    def local_codes(self) -> tuple[str, ...]:
        return tuple(self.forward)


def concept_map_ids() -> list[str]:
    """The ids of every ConceptMap shipped with the mappings."""
    return sorted(p.stem for p in FOLDER.glob("*.json"))


def concept_map(map_id: str) -> dict:
    """The ConceptMap resource ``map_id`` as shipped (a fresh copy each call)."""
    return json.loads(_text(map_id))


@cache
def _text(map_id: str) -> str:
    return (FOLDER / f"{map_id}.json").read_text(encoding="utf-8")


@cache
def table(map_id: str) -> CodeTable:
    """The code table of ConceptMap ``map_id`` (``contact-mode``, ``staff-role``, ...)."""
    resource = concept_map(map_id)
    (group,) = resource["group"]
    forward: dict[str, Coding] = {}
    backward: dict[str, str] = {}
    for element in group["element"]:
        (target,) = element["target"]
        if target.get("equivalence") != "equivalent":
            raise ValueError(f"ConceptMap {resource['url']}: {element['code']} is not an equivalent mapping")
        forward[element["code"]] = Coding(group["target"], target["code"], target.get("display"))
        backward[target["code"]] = element["code"]
    return CodeTable(resource["url"], group["source"], group["target"], forward, backward)


def table_by_url(url: str) -> CodeTable:
    """The code table of the ConceptMap with canonical ``url``.

    Raises:
        KeyError: no ConceptMap of the mappings has that URL.
    """
    prefix = f"{CONCEPTMAP_BASE}/"
    map_id = url.removeprefix(prefix)
    if not url.startswith(prefix) or map_id not in concept_map_ids():
        raise KeyError(f"no ConceptMap {url}")
    return table(map_id)


def translate(url: str, code: str, system: str | None = None, reverse: bool = False) -> dict:
    """The result of ``ConceptMap/$translate`` (R4) for one code, as a Parameters resource.

    Forward, ``code`` is a local code (``system``, when given, must be the map's source); with ``reverse``
    it is a code of the map's target system and the answer is the local code. An unmapped code is a
    normal answer (``result`` false with a message), as the operation defines it.

    Raises:
        KeyError: no ConceptMap with that URL.
    """
    codes_table = table_by_url(url)
    source, target = ((codes_table.target_system, codes_table.source_system) if reverse
                      else (codes_table.source_system, codes_table.target_system))
    if system is not None and system != source:
        return _parameters(False, f"{system} is not the {'target' if reverse else 'source'} system of {url}")
    try:
        if reverse:
            found = Coding(target, codes_table.from_fhir({"system": source, "code": code}))
        else:
            found = codes_table.to_fhir(code)
    except UnmappedCode as error:
        return _parameters(False, str(error))
    return _parameters(True, None, {"name": "match", "part": [
        {"name": "equivalence", "valueCode": "equivalent"},
        {"name": "concept", "valueCoding": found.as_fhir()},
        {"name": "source", "valueUri": url},
    ]})


def _parameters(result: bool, message: str | None, match: dict | None = None) -> dict:
    parameters: list[dict] = [{"name": "result", "valueBoolean": result}]
    if message:
        parameters.append({"name": "message", "valueString": message})
    if match:
        parameters.append(match)
    return {"resourceType": "Parameters", "parameter": parameters}
