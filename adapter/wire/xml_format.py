"""FHIR R4 XML, read into and written from the FHIR JSON object model (http://hl7.org/fhir/R4/xml.html).

The JSON side is what :mod:`adapter.fhirjson` produces: ``decimal`` values are :class:`~decimal.Decimal`
with their own digits (or ``int`` when written without a fraction or exponent, as the JSON codec has
them), integers ``int``, booleans ``bool``, every other primitive ``str``. Everything about
the shape of the data comes from the R4 StructureDefinitions through the
:class:`~adapter.conformance.structure.TypeModel`: element order (snapshot order), arrays, which elements
are XML attributes (``ElementDefinition.representation = xmlAttr``: ``Element.id``, ``Extension.url``, a
primitive's ``value``), which are XHTML (``Narrative.div``), which hold a whole resource (``contained``,
``Bundle.entry.resource``). No element list is written by hand here.

Two details need more than a tree walk:

* ``Narrative.div`` is a string of XHTML markup in JSON. Parsing markup loses its spelling (``&quot;`` vs
  ``"``, ``<br/>`` vs ``<br />``, CR LF line ends), so the writer splices the JSON string into the document
  as is (after checking it is one well-formed XHTML ``div``), and the reader takes the div's exact source
  text from the request bytes. That is what makes XML -> JSON -> XML keep the narrative byte for byte.
* Reading is defensive (XXE, billion laughs, DTD fetching): documents with a DOCTYPE are refused before
  libxml2 sees them, because its options (no entity resolution, no DTD loading, no network) still let it
  read an external parameter entity; the options stay on as a second line. Depth is limited.
"""

from __future__ import annotations

import copy
import math
import re
import secrets
import threading
import weakref
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lxml import etree

from adapter import fhirjson
from adapter.conformance.structure import JSON_BOOLEAN_TYPES, JSON_NUMBER_TYPES, ElementDef, TypeModel
from adapter.errors import BadRequest, Unprocessable

__all__ = ["FHIR_NS", "XHTML_NS", "resource_to_xml", "xml_to_resource"]

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
_XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_FHIR = "{" + FHIR_NS + "}"
_XHTML = "{" + XHTML_NS + "}"
_XSI = "{" + _XSI_NS + "}"

# How a JSON property is written in XML.
_ATTRIBUTE = "attribute"   # an XML attribute holding a JSON string (Element.id, Extension.url)
_PRIMITIVE = "primitive"   # <name value=".." id=".."><extension/></name>, JSON name + _name
_XHTML_DIV = "xhtml"       # the XHTML element itself, JSON holds its markup as a string
_RESOURCE = "resource"     # <name><Patient>..</Patient></name>, JSON object with resourceType
_COMPLEX = "complex"       # <name id=".."><child/>..</name>, JSON object

# JSON number grammar (RFC 8259 §6): a value that cannot be written as a JSON number cannot be in FHIR JSON.
_JSON_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_JSON_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")

# Markup that matters when locating <div> elements in the source bytes. Text never holds a literal "<",
# attribute values neither, so every "<" starts a tag, a comment, a CDATA section or a PI; those last three
# are matched only to be skipped (they may contain "<div" that is not markup).
_DIV_MARKUP = re.compile(
    rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>"
    rb"|</(?:[^\s<>/:!?]+:)?div\s*>"
    rb"|<(?:[^\s<>/:!?]+:)?div(?=[\s/>])(?:[^>\"']|\"[^\"]*\"|'[^']*')*>",
    re.S,
)
_XML_NAME_START = re.compile(r"<[^\s<>/!?]")
_DECLARATION = re.compile(rb"<!\s*(?i:DOCTYPE|ENTITY)")


# --- the layout: per-scope tables compiled from the type model ------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Slot:
    """One JSON property name of a scope (``valueQuantity``) and how it is written in XML."""

    name: str
    """The JSON property name, which is also the XML element or attribute name."""
    element: ElementDef
    type_code: str
    kind: str
    scope: str
    """Where the value's own children are defined (its type, or a backbone/contentReference path)."""
    position: int
    is_array: bool


class _Layout:
    """The slots of each scope, built on first use; one per :class:`TypeModel`."""

    def __init__(self, types: TypeModel) -> None:
        self._model = weakref.ref(types)  # the module-level cache must not keep a model alive
        self._scopes: dict[str, dict[str, _Slot]] = {}
        self._xhtml_types = frozenset(
            name for name, t in types.types.items()
            if t.kind == "primitive-type"
            and any("xhtml" in e.representation for e in types.children.get(name, ()) if e.name == "value")
        )

    def slots(self, scope: str) -> dict[str, _Slot]:
        slots = self._scopes.get(scope)
        if slots is None:
            slots = self._scopes[scope] = self._build(scope)
        return slots

    def _build(self, scope: str) -> dict[str, _Slot]:
        types = self._model()
        if types is None:  # only reachable through a layout outliving the call that got it
            raise RuntimeError("the type model of this layout is gone")
        positions = {e.name: i for i, e in enumerate(types.children.get(scope, ()))}
        return {
            name: _Slot(name, element, type_code, self._kind(types, element, type_code),
                        types.scope_of(element, type_code), positions[element.name], element.is_array)
            for name, (element, type_code) in types.properties.get(scope, {}).items()
        }

    def _kind(self, types: TypeModel, element: ElementDef, type_code: str) -> str:
        if "xmlAttr" in element.representation:
            return _ATTRIBUTE
        if type_code in self._xhtml_types:
            return _XHTML_DIV
        if types.is_primitive(type_code):
            return _PRIMITIVE
        type_def = types.types.get(type_code)
        if type_def is not None and type_def.kind == "resource":
            return _RESOURCE
        return _COMPLEX


# The placeholder of a div in the tree is a processing instruction with a target no one can guess: the
# resource's own content never produces one (values are attributes, and a div is either spliced in as
# bytes or, when it is re-serialized, could only carry a PI with a target it would have to know).
_MARKER = f"fhir-xhtml-{secrets.token_hex(8)}"
_PLACEHOLDER = re.compile(rb"<\?" + _MARKER.encode() + rb" ([0-9]+)\?>")

_LAYOUTS: dict[int, tuple[weakref.ref[TypeModel], _Layout]] = {}
_LAYOUTS_LOCK = threading.Lock()


def _layout(types: TypeModel) -> _Layout:
    """The layout of a type model, kept as long as the model lives (models are unhashable dataclasses)."""
    cached = _LAYOUTS.get(id(types))
    if cached is not None and cached[0]() is types:
        return cached[1]
    layout = _Layout(types)
    key = id(types)
    with _LAYOUTS_LOCK:
        _LAYOUTS[key] = (weakref.ref(types, lambda _ref: _LAYOUTS.pop(key, None)), layout)
    return layout


# --- writing ---------------------------------------------------------------------------------------------------


def resource_to_xml(resource: dict, types: TypeModel, *, pretty: bool = False) -> bytes:
    """Write a resource (FHIR JSON object model) as FHIR XML, UTF-8, without an XML declaration.

    Elements come out in snapshot order whatever the order of the JSON properties.

    :raise Unprocessable: the resource is not FHIR the XML format can express (an unknown property, a
        value of the wrong JSON type, a ``null`` outside a primitive array, a div that is not XHTML...).
    """
    writer = _Writer(types)
    root = writer.resource(resource, None, "")
    data = etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=pretty)
    return writer.splice(data)


def _resource_type(resource: Any, path: str, types: TypeModel) -> str:
    if not isinstance(resource, dict):
        raise Unprocessable("a resource must be a JSON object", expression=path or None)
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not types.is_resource_type(resource_type):
        raise Unprocessable(f"{resource_type!r} is not a FHIR R4 resource type",
                            expression=f"{path}.resourceType" if path else "resourceType")
    return resource_type


class _Writer:
    """Builds the lxml tree of one resource; XHTML divs go in as placeholders spliced in afterwards."""

    def __init__(self, types: TypeModel) -> None:
        self.types = types
        self.layout = _layout(types)
        self.fragments: list[bytes] = []

    def resource(self, resource: dict, parent: etree._Element | None, path: str) -> etree._Element:
        resource_type = _resource_type(resource, path, self.types)
        tag = _FHIR + resource_type
        if parent is None:
            element = etree.Element(tag, nsmap={None: FHIR_NS})
            path = resource_type
        else:
            element = etree.SubElement(parent, tag)
        self.fill(element, resource, resource_type, path, skip="resourceType")
        return element

    def fill(self, element: etree._Element, obj: dict, scope: str, path: str, skip: str = "") -> None:
        """Write the properties of a JSON object as the attributes and children of ``element``."""
        if not isinstance(obj, dict):
            raise Unprocessable(f"{path} must be a JSON object", expression=path)
        for slot in self._ordered_slots(obj, scope, path, skip):
            self.write(element, slot, obj.get(slot.name), obj.get("_" + slot.name), f"{path}.{slot.name}")

    def _ordered_slots(self, obj: dict, scope: str, path: str, skip: str) -> list[_Slot]:
        slots = self.layout.slots(scope)
        chosen: dict[str, _Slot] = {}
        for key in obj:
            if key == skip:
                continue
            underscore = key.startswith("_")
            slot = slots.get(key[1:] if underscore else key)
            if slot is None or (underscore and slot.kind != _PRIMITIVE):
                raise Unprocessable(f"unknown element {key!r} in {path}", expression=f"{path}.{key}")
            other = chosen.setdefault(slot.element.name, slot)
            if other.name != slot.name:
                raise Unprocessable(f"{path} has both {other.name!r} and {slot.name!r}; "
                                    f"{slot.element.path}[x] takes one type", expression=f"{path}.{key}")
        return sorted(chosen.values(), key=lambda s: s.position)

    def write(self, parent: etree._Element, slot: _Slot, value: Any, extra: Any, path: str) -> None:
        """Write one property (``path`` is its own path, ``Patient.name``) under ``parent``."""
        if slot.kind == _PRIMITIVE:
            self._primitives(parent, slot, value, extra, path)
        elif slot.kind == _ATTRIBUTE:
            _set(parent, slot.name, _attribute_text(value, path), path)
        elif slot.kind == _XHTML_DIV:
            self._xhtml(parent, value, path)
        else:
            for item, item_path in _items(value, slot, path):
                child = etree.SubElement(parent, _FHIR + slot.name)
                if slot.kind == _RESOURCE:
                    self.resource(item, child, item_path)
                else:
                    self.fill(child, item, slot.scope, item_path)

    def _primitives(self, parent: etree._Element, slot: _Slot, value: Any, extra: Any, path: str) -> None:
        if not slot.is_array:
            self._primitive(parent, slot, value, extra, path)
            return
        values = _optional_list(value, path)
        extras = _optional_list(extra, f"{path} (_{slot.name})")
        if values and extras and len(values) != len(extras):
            raise Unprocessable(f"{path} and _{slot.name} must have the same length", expression=path)
        for i in range(len(values or extras)):
            self._primitive(parent, slot, values[i] if values else None, extras[i] if extras else None,
                            f"{path}[{i}]")

    def _primitive(self, parent: etree._Element, slot: _Slot, value: Any, extra: Any, path: str) -> None:
        if value is None and not extra:
            raise Unprocessable(f"{path} has neither a value nor an id or extension (null is only allowed "
                                "in arrays of primitives, paired with an object in the _ array)", expression=path)
        element = etree.SubElement(parent, _FHIR + slot.name)
        if extra is not None:
            if not isinstance(extra, dict) or "value" in extra:
                raise Unprocessable(f"the _{slot.name} of {path} must be an object with id and extension",
                                    expression=path)
            self.fill(element, extra, slot.scope, path)
        if value is not None:
            _set(element, "value", _lexical(value, slot.type_code, path), path)

    def _xhtml(self, parent: etree._Element, value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise Unprocessable(f"{path} must be a string of XHTML", expression=path)
        fragment = _xhtml_fragment(value, path)
        if isinstance(fragment, bytes):
            parent.append(etree.ProcessingInstruction(_MARKER, str(len(self.fragments))))
            self.fragments.append(fragment)
        else:
            parent.append(fragment)

    def splice(self, data: bytes) -> bytes:
        """Replace the placeholders by the divs' own markup."""
        if not self.fragments:
            return data
        return _PLACEHOLDER.sub(lambda m: self.fragments[int(m.group(1))], data)


def _items(value: Any, slot: _Slot, path: str) -> list[tuple[Any, str]]:
    """The values of a complex or resource property with their paths, checking array-ness against the SD."""
    if slot.is_array:
        if not isinstance(value, list) or not value:
            raise Unprocessable(f"{path} must be a non-empty array", expression=path)
        items = [(item, f"{path}[{i}]") for i, item in enumerate(value)]
    else:
        if isinstance(value, list):
            raise Unprocessable(f"{path} is not an array in FHIR (max 1)", expression=path)
        items = [(value, path)]
    for item, item_path in items:
        if not isinstance(item, dict):
            raise Unprocessable(f"{item_path} must be a JSON object", expression=item_path)
    return items


def _optional_list(value: Any, path: str) -> list | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise Unprocessable(f"{path} must be a non-empty array", expression=path)
    return value


def _set(element: etree._Element, name: str, text: str, path: str) -> None:
    try:
        element.set(name, text)
    except ValueError as exc:  # lxml refuses what XML 1.0 cannot carry (NUL, most control characters)
        raise Unprocessable(f"{path}: {text!r} has characters XML cannot represent", expression=path) from exc


def _attribute_text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise Unprocessable(f"{path} must be a non-empty string", expression=path)
    return value


def _lexical(value: Any, type_code: str, path: str) -> str:
    """The XML ``value`` attribute of a JSON primitive, checking the JSON type the FHIR type asks for."""
    if type_code in JSON_BOOLEAN_TYPES:
        if isinstance(value, bool):
            return "true" if value else "false"
    elif type_code in JSON_NUMBER_TYPES and not isinstance(value, bool):
        if isinstance(value, int):
            return str(value)
        finite = (isinstance(value, Decimal) and value.is_finite()) or (
            isinstance(value, float) and math.isfinite(value))
        if type_code == "decimal" and finite:
            return str(value)  # Decimal: its own digits (105.00 stays 105.00)
    elif isinstance(value, str) and value:
        return value
    raise Unprocessable(f"{path}: {value!r} is not a valid JSON value for a FHIR {type_code}", expression=path)


def _xhtml_fragment(markup: str, path: str) -> bytes | etree._Element:
    """The div to put in the document: its own bytes when they can stand there as they are, else a tree.

    The bytes can stand in the document when they are exactly one element, the XHTML ``div``, with its
    namespaces declared inside it (so they parse the same wherever they are put).

    :raise Unprocessable: the markup is not well-formed XML, or not a ``div``.
    """
    try:
        tree = _fromstring(markup.encode("utf-8"), _xhtml_parser())
    except (etree.LxmlError, ValueError) as exc:
        raise Unprocessable(f"{path} is not well-formed XHTML: {exc}", expression=path) from exc
    if etree.QName(tree).localname != "div":
        raise Unprocessable(f"{path} must be an XHTML <div> element", expression=path)
    if tree.tag != _XHTML + "div":
        if etree.QName(tree).namespace is not None:
            raise Unprocessable(f"{path} must be a <div> in the XHTML namespace {XHTML_NS}", expression=path)
        return _into_xhtml_namespace(markup, path)
    standalone = (_XML_NAME_START.match(markup) is not None and markup.endswith(">")
                  and tree.getprevious() is None and tree.getnext() is None)
    return markup.encode("utf-8") if standalone else tree


def _into_xhtml_namespace(markup: str, path: str) -> bytes:
    """A ``<div>`` without a namespace (a common JSON mistake), read inside an XHTML default namespace so
    that it and its unprefixed descendants become XHTML and the document stays valid."""
    wrapped = f'<wrapper xmlns="{XHTML_NS}">{markup}</wrapper>'.encode()
    try:
        wrapper = _fromstring(wrapped, _xhtml_parser())
    except (etree.LxmlError, ValueError) as exc:
        raise Unprocessable(f"{path} is not well-formed XHTML: {exc}", expression=path) from exc
    return etree.tostring(next(wrapper.iterchildren(_XHTML + "div")), encoding="UTF-8", with_tail=False)


# --- reading ---------------------------------------------------------------------------------------------------


def xml_to_resource(data: bytes, types: TypeModel, *, max_depth: int = 64) -> dict:
    """Read one FHIR XML resource into the FHIR JSON object model.

    :param max_depth: the deepest element nesting accepted (the root is depth 1, XHTML included).
    :raise BadRequest: the document is not well-formed, has a DOCTYPE, is not UTF-8, is nested too deeply,
        or is not FHIR XML (wrong namespace, unknown element or attribute, a primitive without value,
        text where FHIR has none, a repeated single element). The issue names the line and the element.
    """
    root = _parse(data)
    return _Reader(types, _SourceDivs(data, root), max_depth).resource(root, "", 1)


class _Parsers(threading.local):
    """lxml parsers keep per-parse state: one per thread."""

    def __init__(self) -> None:
        options = {"resolve_entities": False, "no_network": True, "load_dtd": False, "dtd_validation": False,
                   "huge_tree": False, "collect_ids": False, "encoding": "utf-8"}
        self.document = etree.XMLParser(remove_comments=True, remove_pis=True, **options)
        self.xhtml = etree.XMLParser(**options)


_PARSERS = _Parsers()


def _xhtml_parser() -> etree.XMLParser:
    return _PARSERS.xhtml


def _parse(data: bytes) -> etree._Element:
    """Parse a request body securely.

    :raise BadRequest: a DOCTYPE (see :func:`_fromstring`), not UTF-8, or not well-formed.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BadRequest("the XML body must be bytes")
    data = bytes(data)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadRequest("the XML document is UTF-16; FHIR requires UTF-8")
    try:
        return _fromstring(data, _PARSERS.document)
    except _Refused as exc:
        raise BadRequest(str(exc)) from exc
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise BadRequest(f"the body is not well-formed XML: {exc.msg} (line {line}, column {column})") from exc
    except etree.LxmlError as exc:
        raise BadRequest(f"the body is not well-formed XML: {exc}") from exc


class _Refused(ValueError):
    """A document we do not hand to libxml2 at all."""


def _fromstring(data: bytes, parser: etree.XMLParser) -> etree._Element:
    """Parse with a DOCTYPE refused before libxml2 sees it.

    FHIR XML has no DOCTYPE, and every entity attack needs one: even with ``load_dtd=False`` and
    ``resolve_entities=False``, libxml2 reads an external *parameter* entity of the internal subset
    (``<!ENTITY % x SYSTEM "file:///etc/passwd"> %x;``). The parsers decode every document as UTF-8
    whatever it declares, so the check on the raw bytes cannot be dodged with UTF-7, UTF-16 or EBCDIC.

    :raise _Refused: the document has a DOCTYPE or entity declaration.
    :raise etree.LxmlError: the document is not well-formed.
    """
    if _DECLARATION.search(data):
        raise _Refused("the XML document has a DOCTYPE or entity declaration; FHIR XML does not allow them")
    root = etree.fromstring(data, parser)
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _Refused("the XML document has a DOCTYPE; FHIR XML does not allow one")
    return root


@dataclass(slots=True)
class _Field:
    """The values read so far for one JSON property of an object (one per occurrence)."""

    slot: _Slot
    values: list[Any] = field(default_factory=list)
    extras: list[dict | None] = field(default_factory=list)


class _Reader:
    """Turns the lxml tree into JSON objects, scope by scope."""

    def __init__(self, types: TypeModel, divs: _SourceDivs, max_depth: int) -> None:
        self.types = types
        self.layout = _layout(types)
        self.divs = divs
        self.max_depth = max_depth

    def resource(self, element: etree._Element, path: str, depth: int) -> dict:
        """Read a resource element (the root, or the child of ``contained``); ``path`` is empty for the root."""
        name = etree.QName(element)
        if name.namespace != FHIR_NS:
            raise _error(element, f"<{name.localname}> is in namespace {name.namespace!r}, not the FHIR "
                         f"namespace {FHIR_NS}", path or name.localname)
        resource_type = name.localname
        if not self.types.is_resource_type(resource_type):
            raise _error(element, f"<{resource_type}> is not a FHIR R4 resource type", path or resource_type)
        path = path or resource_type
        out: dict[str, Any] = {"resourceType": resource_type}
        out.update(self.content(element, resource_type, path, depth))
        return out

    def content(self, element: etree._Element, scope: str, path: str, depth: int) -> dict:
        """Read the attributes and children of one element as a JSON object of ``scope``."""
        if depth > self.max_depth:
            raise _error(element, f"the document is nested more than {self.max_depth} levels deep", path)
        _no_text(element.text, element, path)
        slots = self.layout.slots(scope)
        out: dict[str, Any] = self._attributes(element, slots, path) if len(element.attrib) else {}
        if not len(element):
            return out  # most elements are primitives without extensions: nothing more to read
        fields: dict[str, _Field] = {}
        for child in element:
            tail = child.tail
            if tail and not tail.isspace():
                _no_text(tail, element, path)
            tag = child.tag
            if not isinstance(tag, str):
                continue  # comments and PIs are removed by the parser; nothing else is not an element
            slot = self._slot(child, tag, slots, path)
            entry = fields.get(slot.name)
            if entry is None:
                if slot.element.choice:
                    _one_choice(child, slot, fields, path)
                entry = fields[slot.name] = _Field(slot)
            elif not slot.is_array:
                raise _error(child, f"<{slot.name}> cannot repeat in {path}", f"{path}.{slot.name}")
            child_path = f"{path}.{slot.name}[{len(entry.values)}]" if slot.is_array else f"{path}.{slot.name}"
            self._read(child, entry, child_path, depth + 1)
        for name, entry in fields.items():
            _emit(out, name, entry)
        return out

    def _attributes(self, element: etree._Element, slots: dict[str, _Slot], path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in element.items():
            slot = slots.get(name)
            if slot is None or slot.kind != _ATTRIBUTE:
                if name.startswith(_XSI):
                    continue  # xsi:schemaLocation and friends say nothing about the content
                raise _error(element, f"unknown attribute {name!r} on <{etree.QName(element).localname}>", path)
            if not value:
                raise _error(element, f"the {name} attribute is empty (FHIR attributes are never empty)",
                             f"{path}.{name}")
            out[name] = value
        return out

    def _slot(self, child: etree._Element, tag: str, slots: dict[str, _Slot], path: str) -> _Slot:
        local = tag[tag.find("}") + 1:]
        slot = slots.get(local)
        if tag.startswith(_FHIR):
            if slot is None or slot.kind in (_ATTRIBUTE, _XHTML_DIV):
                raise _error(child, _unknown_element(local, slot, path), f"{path}.{local}")
            return slot
        if tag.startswith(_XHTML) and slot is not None and slot.kind == _XHTML_DIV:
            return slot
        namespace = etree.QName(child).namespace
        raise _error(child, f"element <{local}> in {path} is in namespace {namespace!r}, not {FHIR_NS}",
                     f"{path}.{local}")

    def _read(self, child: etree._Element, entry: _Field, path: str, depth: int) -> None:
        slot = entry.slot
        extra = None
        if slot.kind == _PRIMITIVE:
            value, extra = self._primitive(child, slot, path, depth)
        elif slot.kind == _XHTML_DIV:
            value = self._xhtml(child, path, depth)
        elif slot.kind == _RESOURCE:
            value = self._contained(child, path, depth)
        else:
            value = self.content(child, slot.scope, path, depth)
        entry.values.append(value)
        entry.extras.append(extra)

    def _primitive(self, element: etree._Element, slot: _Slot, path: str, depth: int) -> tuple[Any, dict | None]:
        extra = self.content(element, slot.scope, path, depth)
        text = extra.pop("value", None)
        if text is None and not extra:
            raise _error(element, f"<{slot.name}> has no value attribute and no extension", path)
        return (None if text is None else _typed(text, slot.type_code, element, path)), (extra or None)

    def _contained(self, wrapper: etree._Element, path: str, depth: int) -> dict:
        if wrapper.attrib:
            raise _error(wrapper, f"<{etree.QName(wrapper).localname}> holds a resource and takes no attributes",
                         path)
        _no_text(wrapper.text, wrapper, path)
        children = [c for c in wrapper if isinstance(c.tag, str)]
        for child in wrapper:
            _no_text(child.tail, wrapper, path)
        if len(children) != 1:
            raise _error(wrapper, f"{path} must hold exactly one resource, found {len(children)} elements", path)
        return self.resource(children[0], path, depth + 1)

    def _xhtml(self, element: etree._Element, path: str, depth: int) -> str:
        if depth + _subtree_depth(element) - 1 > self.max_depth:
            raise _error(element, f"the document is nested more than {self.max_depth} levels deep", path)
        markup = self.divs.source_of(element)
        return _serialized_div(element) if markup is None else markup


def _serialized_div(element: etree._Element) -> str:
    """The div re-serialized, as JSON has it: XHTML as the default namespace declared on the div itself."""
    div = etree.Element(element.tag, attrib=dict(element.attrib), nsmap={None: XHTML_NS})
    div.text = element.text
    div.extend(copy.deepcopy(child) for child in element)
    etree.cleanup_namespaces(div, top_nsmap={None: XHTML_NS})
    return etree.tostring(div, encoding="unicode", with_tail=False)


def _one_choice(child: etree._Element, slot: _Slot, fields: dict[str, _Field], path: str) -> None:
    """A choice element appears with one type only (``valueString`` or ``valueQuantity``, not both)."""
    for other in fields.values():
        if other.slot.element is slot.element:
            raise _error(child, f"{path} has both {other.slot.name!r} and {slot.name!r}; "
                         f"{slot.element.path}[x] takes one type", f"{path}.{slot.name}")


def _emit(out: dict[str, Any], name: str, entry: _Field) -> None:
    """Put one property into the JSON object: ``name`` (and ``_name`` for primitives' ids/extensions)."""
    slot = entry.slot
    if slot.kind != _PRIMITIVE:
        out[name] = entry.values if slot.is_array else entry.values[0]
        return
    values: Any = entry.values if slot.is_array else entry.values[0]
    extras: Any = entry.extras if slot.is_array else entry.extras[0]
    if values is not None and (not slot.is_array or any(v is not None for v in values)):
        out[name] = values
    if extras is not None and (not slot.is_array or any(e is not None for e in extras)):
        out["_" + name] = extras


def _typed(text: str, type_code: str, element: etree._Element, path: str) -> Any:
    """The JSON value of a primitive's ``value`` attribute: bool, int, exact Decimal or str.

    Numbers get the Python type the JSON codec gives the same text (``simplejson`` with
    ``use_decimal=True``): ``185`` is an ``int`` even for a decimal, ``185.0`` a ``Decimal``. So a resource
    read from XML is the very object the same resource read from JSON is.
    """
    if type_code in JSON_BOOLEAN_TYPES:
        if text in ("true", "false"):
            return text == "true"
    elif type_code in JSON_NUMBER_TYPES:
        try:  # the JSON codec's own conversions, range limits included
            if _JSON_INTEGER.match(text):
                return fhirjson.json_integer(text)
            if type_code == "decimal" and _JSON_DECIMAL.match(text):
                return fhirjson.json_decimal(text)
        except ValueError as exc:
            raise _error(element, str(exc), path) from exc
    else:
        return text
    raise _error(element, f"value {text!r} is not a valid {type_code}", path)


def _no_text(text: str | None, element: etree._Element, path: str) -> None:
    if text and not text.isspace():
        snippet = text.strip()[:40]
        raise _error(element, f"text {snippet!r} is not allowed in <{etree.QName(element).localname}> "
                     "(FHIR XML puts values in value attributes)", path)


def _unknown_element(local: str, slot: _Slot | None, path: str) -> str:
    if slot is None:
        return f"unknown element <{local}> in {path}"
    if slot.kind == _ATTRIBUTE:
        return f"<{local}> must be an attribute, not an element, in {path}"
    return f"<{local}> in {path} must be an XHTML element (namespace {XHTML_NS})"


def _error(element: etree._Element, message: str, path: str) -> BadRequest:
    return BadRequest(f"line {element.sourceline}: {message}", expression=path)


def _subtree_depth(element: etree._Element) -> int:
    """How many levels of elements ``element`` spans (1 for an empty element), without recursion."""
    depth = deepest = 0
    for event, _node in etree.iterwalk(element, events=("start", "end")):
        depth += 1 if event == "start" else -1
        deepest = max(deepest, depth)
    return deepest


class _SourceDivs:
    """The exact source text of the ``div`` elements of a document, found on first use.

    lxml gives line numbers but not offsets, so the source is scanned for ``div`` start and end tags; the
    n-th ``div`` start tag in the source is the n-th element named ``div`` in document order.
    """

    def __init__(self, data: bytes, root: etree._Element) -> None:
        self.data = data
        self.root = root
        self.index: dict[etree._Element, int] | None = None
        self.spans: list[tuple[int, int]] = []

    def source_of(self, element: etree._Element) -> str | None:
        """The div's markup as written, or None when it does not stand on its own (namespaces declared on
        an ancestor) or cannot be located; the caller then serializes the tree."""
        if self.index is None:
            self.index = {node: i for i, node in enumerate(self.root.iter("{*}div"))}
            self.spans = _div_spans(self.data)
        i = self.index.get(element)
        if i is None or len(self.spans) != len(self.index):
            return None
        start, end = self.spans[i]
        try:
            markup = self.data[start:end].decode("utf-8")  # the parsers read every document as UTF-8
        except UnicodeDecodeError:
            return None
        if element.nsmap != {None: XHTML_NS} and not _stands_alone(markup):
            return None
        return markup


def _div_spans(data: bytes) -> list[tuple[int, int]]:
    """Byte spans of every ``div`` element (any namespace), in document order."""
    spans: list[tuple[int, int]] = []
    open_divs: list[int] = []
    for match in _DIV_MARKUP.finditer(data):
        token = match.group()
        if token.startswith((b"<!", b"<?")):
            continue
        if token.startswith(b"</"):
            if not open_divs:
                return []
            i = open_divs.pop()
            spans[i] = (spans[i][0], match.end())
        elif token.endswith(b"/>"):
            spans.append((match.start(), match.end()))
        else:
            open_divs.append(len(spans))
            spans.append((match.start(), -1))
    return spans if not open_divs else []


def _stands_alone(markup: str) -> bool:
    """Whether the markup parses on its own as an XHTML div (its prefixes are all declared inside it)."""
    try:
        tree = _fromstring(markup.encode("utf-8"), _xhtml_parser())
    except (etree.LxmlError, ValueError):
        return False
    return tree.tag == _XHTML + "div"
