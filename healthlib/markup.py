"""The one markdown pipeline: Python-Markdown, then the nh3 sanitizer with an explicit allow-list.

Everything user-written that becomes HTML goes through :func:`render_markdown` or
:func:`render_document`: the admin and markdownx previews, publishing, and import.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass

import markdown
import nh3

EXTENSIONS = ["tables", "fenced_code", "footnotes", "sane_lists", "toc"]
EXTENSION_CONFIGS = {"toc": {"toc_depth": "2-3"}, "footnotes": {"BACKLINK_TITLE": "Back to text"}}

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "dfn", "div", "dl", "dt",
    "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
    "ol", "p", "pre", "s", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"id"},
    "a": {"href", "title", "aria-describedby"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
}
ALLOWED_CLASSES = {
    "a": {"footnote-ref", "footnote-backref", "glossary-term"},
    "div": {"footnote", "toc"},
    "span": {"glossary-definition"},
    "dfn": {"glossary-term"},
}
#: Attributes allowed only with these values (the glossary linker's inline definitions).
ALLOWED_ATTRIBUTE_VALUES = {"span": {"role": {"tooltip"}}}
URL_SCHEMES = {"http", "https", "mailto"}
_H1 = re.compile(r"<(/?)h1\b", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def sanitize(html: str) -> str:
    """Clean HTML with the allow-list: no scripts, styles, event handlers or unsafe URLs."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        tag_attribute_values=ALLOWED_ATTRIBUTE_VALUES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


@dataclass(frozen=True)
class RenderedDocument:
    html: str
    toc_html: str


def _markdown() -> markdown.Markdown:
    return markdown.Markdown(extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS, output_format="html")


def render_document(text: str) -> RenderedDocument:
    """Markdown to sanitized HTML plus a sanitized table of contents (h2 and h3)."""
    md = _markdown()
    # The page title is the only h1; a "# Heading" in the body becomes a section heading.
    html = _H1.sub(r"<\1h2", md.convert(text or ""))
    toc = md.toc if getattr(md, "toc_tokens", None) else ""
    return RenderedDocument(html=sanitize(html), toc_html=sanitize(toc))


def render_markdown(text: str) -> str:
    """Markdown to safe HTML. Also the ``MARKDOWNX_MARKDOWNIFY_FUNCTION`` for previews."""
    return render_document(text).html


def plain_text(html: str) -> str:
    """Visible text of sanitized HTML, for readability and search (tags become spaces)."""
    return _SPACE.sub(" ", html_lib.unescape(_TAG.sub(" ", html))).strip()
