"""Open311 GeoReport v2 rendering: the same data as JSON or as XML (the spec's mandatory format).

XML follows the spec's element names: a list becomes a root element holding one element per item
(`<services><service>…`, `<service_requests><request>…`, `<errors><error>…`), a nested list a container
with singular children (`<attributes><attribute>…`, `<values><value>…`, `<formats><format>…`).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi.responses import Response

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
FORMATS = ("json", "xml")

# Children of the nested lists the spec names.
ITEM_TAGS = {
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
    "services": "service",
    "service_requests": "request",
    "errors": "error",
}

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            _fill(ET.SubElement(element, str(key)), child)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        item_tag = ITEM_TAGS.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, item_tag), child)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    """`value` under a root element, with the XML declaration the spec asks for (UTF-8)."""
    element = ET.Element(root)
    _fill(element, value)
    body: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def render(
    fmt: str, root: str, value: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A response in `fmt` ("json" or "xml"); `root` is the XML root element's name."""
    if fmt == "xml":
        return Response(to_xml(root, value), status, dict(headers or {}), media_type=XML_TYPE)
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode(), status, dict(headers or {}), media_type=JSON_TYPE)


def error_response(fmt: str, status: int, description: str) -> Response:
    """The spec's error shape: `[{"code", "description"}]`, or `<errors><error>…` in XML."""
    return render(
        fmt if fmt in FORMATS else "json", "errors", [{"code": status, "description": description}], status
    )
