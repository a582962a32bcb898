"""Reading sanitized HTML: the one HTML parser healthlib uses (selectolax's Lexbor, an HTML5 parser).

Everything here reads the sanitizer's output (:func:`healthlib.markup.sanitize`): the visible text
for readability, search and diffs, the links for the checklist, the top-level elements for ad
slots. Nothing here parses HTML *before* the sanitizer: a second parser in front of it, whose
serialization the sanitizer then parses again, is how mutation XSS works (``markup`` renames
headings in Python-Markdown's own tree instead).

Lexbor, not lxml: it follows the HTML5 parsing algorithm, as the sanitizer (html5ever) and
browsers do, so it builds the tree a reader's browser builds and serializes sanitizer output back
to the same bytes; libxml2's HTML parser (lxml) is an HTML 4 parser with its own repairs. It is
also the faster of the two on the demo articles (``docs/benchmarks.md``, "Reading HTML").
"""

from __future__ import annotations

from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

#: Elements whose end, like ``<br>``, ends a block of text (a sentence without a full stop ends there).
BLOCK_ELEMENTS = frozenset(
    {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "dt", "dd", "blockquote", "pre", "figcaption",
     "caption", "summary"}
)  # fmt: skip
_BLOCK_BREAKS = ", ".join(sorted(BLOCK_ELEMENTS | {"br"}))


@dataclass(frozen=True)
class Node:
    """A top-level node of a fragment: its tag (``"-text"`` for text, ``"-comment"``) and its HTML."""

    tag: str
    html: str


def parse(html: str) -> LexborHTMLParser:
    """The tree of an HTML fragment, parsed as a browser parses the inside of a ``<div>``."""
    return LexborHTMLParser(html, is_fragment=True)


def top_level_nodes(html: str) -> list[Node]:
    """The fragment's top-level nodes (elements, text and comments) in order, each serialized.

    For sanitizer output, joining their HTML gives back ``html`` byte for byte.
    """
    root = parse(html).root
    if root is None:
        return []
    return [Node(node.tag or "", node.html or "") for node in root.iter(include_text=True)]


def plain_text(html: str) -> str:
    """The visible text, entities decoded, whitespace collapsed; every tag separates words."""
    return " ".join(parse(html).text(separator=" ").split())


def text_blocks(html: str) -> list[str]:
    """The visible text, one string per block (paragraph, list item, heading, cell...) or line (``<br>``).

    Every tag separates words ("H<sub>2</sub>O" is three); whitespace inside a block is collapsed.
    """
    tree = parse(html)
    for node in tree.css(_BLOCK_BREAKS) if tree.root is not None else ():
        node.insert_after("\n")
    lines = (" ".join(line.split()) for line in tree.text(separator=" ").split("\n"))
    return [line for line in lines if line]


def link_targets(html: str) -> list[str]:
    """The non-empty ``href`` of every link, in document order, entities decoded."""
    tree = parse(html)
    if tree.root is None:
        return []
    return [href for node in tree.css("a[href]") if (href := node.attributes.get("href"))]
