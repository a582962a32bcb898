"""Inspect HTML the way a browser parses it and list anything that could run script.

Parsing uses selectolax's Lexbor engine, a C implementation of the WHATWG HTML parsing algorithm
(the one browsers implement: foreign content, raw-text elements, misnested tags), fast enough to
parse thousands of admin pages in a test run.

Used by tests/test_xss.py. :func:`problems` returns human-readable findings; an empty list
means the page is clean:

- no ``<script>`` except JSON-LD (content parses as JSON, no raw ``</script`` or ``<!--``), JSON data
  blocks (``type="application/json"``, content parses as JSON) and external scripts served from
  ``STATIC_URL`` (and the admin's JavaScript catalog);
- no event-handler attributes (``on*``), no ``srcdoc``;
- no ``javascript:``, ``vbscript:``, ``data:`` or ``livescript:`` URL in any URL-bearing attribute
  (after the decoding and whitespace-stripping a browser does);
- no ``<iframe>``, ``<frame>``, ``<frameset>``, ``<object>``, ``<embed>``, ``<applet>``, ``<portal>``,
  ``<base>``, ``<meta http-equiv>``; no SVG animation of ``href``;
- no CSS ``expression()``, ``javascript:`` or ``-moz-binding`` in ``style`` attributes or ``<style>``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from selectolax.lexbor import LexborHTMLParser

URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "ping", "srcset",
    "codebase", "cite", "longdesc", "lowsrc", "dynsrc", "code", "archive", "manifest", "icon", "values", "to",
    "from", "by",
}  # fmt: skip
FORBIDDEN_ELEMENTS = {"iframe", "frame", "frameset", "object", "embed", "applet", "portal", "base", "isindex"}
UNSAFE_SCHEMES = ("javascript:", "vbscript:", "data:", "livescript:")
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))
_UNSAFE_CSS = re.compile(r"expression\s*\(|javascript:|vbscript:|-moz-binding|behavior\s*:", re.IGNORECASE)


def _unsafe_url(value: str) -> bool:
    """True when a browser would treat ``value`` (already entity-decoded by the parser) as a script URL."""
    # The URL parser strips leading and trailing C0 controls and spaces, and removes tabs and
    # newlines anywhere (WHATWG URL standard); srcset and SVG animation values hold several URLs.
    return any(
        _TAB_OR_NEWLINE.sub("", part).strip(_C0_OR_SPACE).lower().startswith(UNSAFE_SCHEMES)
        for part in [value, *re.split(r"[,;]", value)]
    )


#: The page's own scripts: static files and the admin's JavaScript catalog.
OWN_SCRIPTS = ("/static/", "/admin/jsi18n/")


def problems(html: str, *, own_scripts: tuple[str, ...] = OWN_SCRIPTS) -> list[str]:
    """Everything in ``html`` that could run script or navigate the page, parsed as a browser would."""
    found: list[str] = []
    for element in LexborHTMLParser(html).root.traverse():
        name = element.tag.lower()
        if name.startswith("-"):  # text, comment and doctype nodes
            continue
        attrs = {key.lower(): value or "" for key, value in element.attributes.items()}
        if name == "script":
            found += _script_problems(element, attrs, own_scripts)
        elif name in FORBIDDEN_ELEMENTS:
            found.append(f"<{name}> element")
        elif name == "meta" and "http-equiv" in attrs:
            found.append(f"<meta http-equiv={attrs['http-equiv']!r}>")
        elif name == "style" and _UNSAFE_CSS.search(element.text()):
            found.append(f"unsafe CSS in <style>: {element.text()[:80]!r}")
        elif (
            name in {"animate", "set", "animatemotion", "animatetransform"}
            and "href" in attrs.get("attributename", "").lower()
        ):
            found.append(f"<{name}> animates href")
        for key, value in attrs.items():
            if key.startswith("on"):
                found.append(f"event handler {key}= on <{name}>")
            elif key == "srcdoc":
                found.append(f"srcdoc on <{name}>")
            elif key == "style" and _UNSAFE_CSS.search(value):
                found.append(f"unsafe CSS in style= on <{name}>: {value[:80]!r}")
            elif (key in URL_ATTRIBUTES or key.endswith(":href")) and _unsafe_url(value):
                found.append(f"unsafe URL in {key}= on <{name}>: {value[:80]!r}")
    return found


def _script_problems(element, attrs: dict[str, str], own_scripts: tuple[str, ...]) -> list[str]:
    kind = attrs.get("type", "").strip().lower()
    text = element.text()
    if "src" in attrs:
        if attrs["src"].startswith(own_scripts) and not text.strip():
            return []
        return [f"external <script src={attrs['src'][:80]!r}>"]
    if kind in {"application/ld+json", "application/json"}:
        lowered = text.lower()
        if "</script" in lowered or "<!--" in lowered:
            return [f"{kind} block holds a raw </script or <!--"]
        try:
            json.loads(text)
        except ValueError:
            return [f"{kind} block is not JSON: {text[:80]!r}"]
        return []
    return [f"inline <script type={kind!r}>: {text[:80]!r}"]


def json_ld_blocks(html: str) -> list:
    """The parsed JSON-LD blocks of a page."""
    scripts = LexborHTMLParser(html).css('script[type="application/ld+json"]')
    return [json.loads(script.text()) for script in scripts]


def feed_problems(xml: str) -> list[str]:
    """A feed must be well-formed XML; every field a feed reader renders as HTML must be clean HTML.

    RSS ``<title>`` and ``<description>`` are rendered as HTML by feed readers; in Atom, elements with
    ``type="html"`` are HTML and the others are text. URLs (links, ids, sitemap locations) must be safe.
    """
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as error:
        return [f"feed is not well-formed XML: {error}"]
    is_rss = root.tag == "rss"
    found: list[str] = []
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        text = element.text or ""
        if (is_rss and tag in {"title", "description"}) or element.get("type") in {"html", "xhtml"}:
            found += [f"<{tag}>: {p}" for p in problems(text)]
        if tag in {"link", "id", "guid", "loc"} or element.get("href"):
            for url in filter(None, [text, element.get("href", "")]):
                if _unsafe_url(url):
                    found.append(f"<{tag}> unsafe URL {url[:80]!r}")
    return found
