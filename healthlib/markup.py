"""The one markdown pipeline: Python-Markdown, then the nh3 sanitizer with an explicit allow-list.

Everything user-written that becomes HTML goes through :func:`render_markdown` or
:func:`render_document`: the admin and markdownx previews, publishing, and import.

The work is bounded (see :func:`check_markdown`): any text up to ``MAX_BODY_CHARS`` renders within
a fixed budget, or is refused with :class:`~healthlib.exceptions.MarkdownTooComplex` (a form error,
a 400, an import error), never a stall or a RecursionError.
``bench/markdown_adversarial.py`` measures it; ``docs/benchmarks.md`` has the figures.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from xml.etree.ElementTree import Element

import markdown
import nh3
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

from healthlib.exceptions import MarkdownTooComplex
from healthlib.html import plain_text  # noqa: F401  (glossary_linker reads it from here)

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

#: ``[`` times the length of the text they are in, summed over the texts that inline parsing works
#: on (a paragraph, a list item, a table cell, a heading). For every ``[`` the link, image and
#: reference processors read the rest of that text (Markdown < 3.11: to the matching ``]`` or the
#: end; 3.11: every position again, once per link found): quadratic in a text full of brackets
#: (minutes for 50,000 ``[``, 19 s for 800 reference links in one paragraph).
MAX_BRACKET_WORK = 2_000_000
#: Inline markers times the length of their text, summed the same way. Python-Markdown rebuilds a
#: text for every inline match (code span, emphasis, entity, link...) and matches emphasis
#: delimiters pairwise, so its inline work grows with markers x length.
MAX_INLINE_WORK = 200_000_000
#: Texts inline parsing works on (paragraphs, list items, table cells, headings and the text between
#: them). Each costs a search by every inline pattern, however short: 50,000 one-word list items
#: take several times as long as a plain article of the same size, which has about 4,200.
MAX_INLINE_TEXTS = 15_000
#: Deepest element nesting (emphasis, links, lists, quotes inside each other) the pipeline renders.
#: Python-Markdown's table of contents and serializer recurse once per level (a thousand nested
#: emphasis markers raised RecursionError), and its block parser re-reads the rest of a quote or
#: list once per level.
MAX_NESTING = 60
#: Headings in one text. The table of contents makes a heading's id unique by trying ``_1``, ``_2``...
#: in turn, which is quadratic in the number of headings that share a title.
MAX_HEADINGS = 1_000
#: Footnote definitions in one text. The footnotes extension looks each reference up in a list of
#: the footnotes seen so far: quadratic in their number.
MAX_FOOTNOTES = 1_000
# What can start an inline match: code, escapes, links and images, HTML, autolinks, entities,
# emphasis, hard line breaks.
_INLINE_MARKER = re.compile(r"[`\\\[<&*_]|  \n")
# Quote and list markers and indentation at the start of a line: each marker, and each four columns
# of indentation (Python-Markdown's tab length), can open one more level of nesting.
_LINE_CONTAINERS = re.compile(r"^(?:[ \t]*(?:>|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t])))*[ \t]*", re.MULTILINE)
_CONTAINER = re.compile(r">|[-*+]|\d+[.)]")
# ATX headings and setext underlines (a "---" rule is counted too, which only overestimates).
_HEADING = re.compile(r"^ {0,3}(?:#{1,6}(?:[ \t]|$)|=+[ \t]*$|-+[ \t]*$)", re.MULTILINE)
# A footnote definition at the start of a line, in a quote or list too (anchored, so one pass is
# linear; a list marker or number counted as a quote only overestimates).
_FOOTNOTE_DEFINITION = re.compile(r"^[ \t>*+\-\d.)]*\[\^[^\]\n]*\]:", re.MULTILINE)
# Raw HTML tags, passed through Python-Markdown to the sanitizer, whose HTML5 parser slows down
# quadratically with the depth of unclosed elements (28,000 unclosed <div>: 30 s; <b>: over a minute).
# A name runs to a space, / or > as in HTML (so <x:y> is one); autolinks (<https://...>, <a@b.org>)
# are not tags. A pattern, not healthlib.html's parser: this reads markdown source, not HTML, and must
# stay linear on exactly the input that makes HTML parsers slow (Lexbor too: 28,000 unclosed <div>: 9 s).
_HTML_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)(?=[\s/>])")
_VOID_ELEMENTS = frozenset("area base br col embed hr img input link meta param source track wbr".split())


class _Bounds:
    """The linear-time checks on the source, run before rendering; each raises MarkdownTooComplex."""

    def __init__(self, text: str):
        self.text = text

    def line(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def check(self) -> None:
        self.check_line_nesting()
        self.check_headings()
        self.check_footnotes()
        self.check_html_nesting()

    def check_line_nesting(self) -> None:
        for match in _LINE_CONTAINERS.finditer(self.text):
            prefix = match.group()
            if len(prefix) <= MAX_NESTING:
                continue  # too short to hold that many levels
            columns = prefix.count(" ") + 4 * prefix.count("\t")
            if len(_CONTAINER.findall(prefix)) + columns // 4 > MAX_NESTING:
                raise MarkdownTooComplex(
                    _("Line %(line)d is nested more than %(n)d levels deep (quotes, lists or indentation).")
                    % {"line": self.line(match.start()), "n": MAX_NESTING}
                )

    def check_headings(self) -> None:
        headings = _HEADING.findall(self.text)
        if len(headings) > MAX_HEADINGS:
            raise MarkdownTooComplex(
                _("Too many headings: %(count)d, the limit is %(limit)d.")
                % {"count": len(headings), "limit": MAX_HEADINGS}
            )

    def check_footnotes(self) -> None:
        count = len(_FOOTNOTE_DEFINITION.findall(self.text))
        if count > MAX_FOOTNOTES:
            raise MarkdownTooComplex(
                _("Too many footnotes: %(count)d, the limit is %(limit)d.") % {"count": count, "limit": MAX_FOOTNOTES}
            )

    def check_html_nesting(self) -> None:
        """Count the HTML elements left open, per tag name; a closing tag only closes one of its own name.

        This overestimates (a parser closes some elements implicitly, and a tag written inside a code
        span counts too), which can only refuse more, never let a deeper tree through.
        """
        open_by_name: dict[str, int] = {}
        depth = 0
        for match in _HTML_TAG.finditer(self.text):
            name = match[2].lower()
            if name in _VOID_ELEMENTS or name.endswith(":") or "@" in name:
                continue
            if not match[1]:
                open_by_name[name] = open_by_name.get(name, 0) + 1
                depth += 1
                if depth > MAX_NESTING:
                    raise MarkdownTooComplex(
                        _(
                            "Line %(line)d opens HTML elements more than %(n)d levels deep. Close each <%(tag)s> "
                            "with </%(tag)s>, or write &lt; for a < that is not a tag."
                        )
                        % {"line": self.line(match.start()), "n": MAX_NESTING, "tag": name}
                    )
            elif open_by_name.get(name):
                open_by_name[name] -= 1
                depth -= 1


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


_NESTED_TOO_DEEP = _lazy(
    "The formatting is nested more than %(n)d levels deep (emphasis, links, lists or quotes inside each "
    "other). Remove the extra * or _ markers or flatten the nesting."
)


class _NestingLimit(Treeprocessor):
    """Refuses a parsed tree nested deeper than MAX_NESTING, before any step that recurses over it."""

    def run(self, root: Element) -> None:
        stack = [(root, 0)]
        while stack:
            element, depth = stack.pop()
            if depth > MAX_NESTING:
                raise MarkdownTooComplex(_NESTED_TOO_DEEP % {"n": MAX_NESTING})
            stack.extend((child, depth + 1) for child in element)


class _InlineWorkLimit(Treeprocessor):
    """Refuses texts whose inline parsing would be quadratic, once the blocks are known, before it starts.

    Measured on the very texts the inline processor will work on (paragraphs, list items, table
    cells, headings, footnotes), so a long list or table of links costs what each item costs.
    """

    def run(self, root: Element) -> None:
        bracket_work = inline_work = texts = 0
        worst = (0, "")
        for element in root.iter():
            for text in (element.text, element.tail):
                if not text or isinstance(text, AtomicString):  # code: not parsed for inline markup
                    continue
                texts += 1
                work = len(_INLINE_MARKER.findall(text)) * len(text)
                bracket_work += text.count("[") * len(text)
                inline_work += work
                worst = max(worst, (work, text))
        if texts > MAX_INLINE_TEXTS:
            raise MarkdownTooComplex(
                _(
                    "Too many paragraphs, list items and table cells: about %(count)d, the limit is %(limit)d. "
                    "Split the text into several articles."
                )
                % {"count": texts, "limit": MAX_INLINE_TEXTS}
            )
        if bracket_work > MAX_BRACKET_WORK or inline_work > MAX_INLINE_WORK:
            start = " ".join(worst[1].split())[:40]
            raise MarkdownTooComplex(
                _(
                    "A paragraph, list item or table cell is too long for the links and formatting it holds "
                    "(the one starting “%(start)s”: too many [, *, _, `, < or &). Split it with blank lines, "
                    "or write \\[ for a bracket that is not a link."
                )
                % {"start": start}
            )


class _SectionHeadings(Treeprocessor):
    """The page title is the only h1: a "# Heading" in the body becomes a section heading (h2).

    Runs after the table of contents (which lists h2 and h3 only, so it never lists these), on
    Python-Markdown's own tree: HTML is never parsed in front of the sanitizer. A raw ``<h1>`` in
    the text is left to the sanitizer, which drops the tag and keeps its text.
    """

    def run(self, root: Element) -> None:
        for element in root.iter("h1"):
            element.tag = "h2"


class _PipelineExtension(markdown.Extension):
    """healthlib's steps inside Python-Markdown: the work bounds and the section headings."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # After the blocks and the footnotes are in the tree (footnote: 50), before inline parsing (20).
        md.treeprocessors.register(_InlineWorkLimit(md), "healthlib_inline_work_limit", 20.5)
        # Right after the inline processor (20), which builds the nesting, and before the footnotes'
        # processors (19, 15), prettify (10) and the table of contents (5), which recurse over it.
        md.treeprocessors.register(_NestingLimit(md), "healthlib_nesting_limit", 19.5)
        # After the table of contents (5), before unescaping (0).
        md.treeprocessors.register(_SectionHeadings(md), "healthlib_section_headings", 0.5)


_instances = threading.local()


def _markdown() -> markdown.Markdown:
    """This thread's Markdown instance, reset for a new text (Python-Markdown's documented reuse).

    Building one (extensions, pattern registries) cost 0.5 ms, as much as converting a short article,
    on every render: re-linking every live article after a glossary change renders them all.
    """
    md = getattr(_instances, "md", None)
    if md is None:
        md = _instances.md = markdown.Markdown(
            extensions=[*EXTENSIONS, _PipelineExtension()], extension_configs=EXTENSION_CONFIGS, output_format="html"
        )
    return md.reset()


def check_markdown(text: str) -> None:
    """Raise :class:`MarkdownTooComplex` if ``text`` is beyond the pipeline's work bounds.

    Nesting of lines and raw HTML, headings and footnotes are checked in linear passes before any
    rendering; the bracket and inline work once the blocks are parsed, before inline parsing; the
    nesting of the parsed tree right after inline parsing, before the steps that recurse over it.
    It renders the text to do so: the form, the import and the schema call it before saving.
    """
    render_document(text)


def _convert(md: markdown.Markdown, text: str) -> str:
    try:
        return md.convert(text)
    except RecursionError:
        # Not reached by any text we know of (the bounds refuse them first); if a new kind of nesting
        # slips past them, the editor still gets a clear error instead of a server error.
        raise MarkdownTooComplex(_NESTED_TOO_DEEP % {"n": MAX_NESTING}) from None


def render_document(text: str) -> RenderedDocument:
    """Markdown to sanitized HTML plus a sanitized table of contents (h2 and h3).

    Raises :class:`MarkdownTooComplex` for text beyond the work bounds (see :func:`check_markdown`).
    """
    return _render_document(text or "")


#: Texts whose rendering is kept (the result depends on the text alone). One revision's body is
#: rendered when it is saved (readability), checked at submit and at approval (the checklist's
#: glossary links) and rendered again at publish: measured on the workflow's create -> publish cycle,
#: 6 renders of 2 texts, the 4 repeats about a fifth of its CPU time.
RENDERED_TEXTS_KEPT = 128


@functools.lru_cache(maxsize=RENDERED_TEXTS_KEPT)
def _render_document(text: str) -> RenderedDocument:
    _Bounds(text).check()
    md = _markdown()
    html = _convert(md, text)
    toc = md.toc if getattr(md, "toc_tokens", None) else ""
    return RenderedDocument(html=sanitize(html), toc_html=sanitize(toc))


def render_markdown(text: str) -> str:
    """Markdown to safe HTML. Also the ``MARKDOWNX_MARKDOWNIFY_FUNCTION`` for previews."""
    return render_document(text).html
