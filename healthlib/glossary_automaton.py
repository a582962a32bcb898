"""The glossary automaton: links the first use of each glossary term in sanitized HTML. Pure: no database.

Input: sanitized HTML (the output of :func:`healthlib.markup.render_document`) and the terms
(:class:`Term`); output: the linked HTML and the slugs of the term pages it links to
(:class:`Linked`). Reading the published terms, caching the automaton and the lock that keeps
publishing consistent are :mod:`healthlib.glossary_linker`'s concern.

- one Aho-Corasick automaton (``pyahocorasick``) holds every name of every term, with the plural
  forms and hyphen/space variants a reader would expect, so linking an article costs O(length of
  the text) whatever the size of the glossary;
- longest match wins, whole words only; all-caps abbreviations ("PD-1", "BCG") match
  case-sensitively, everything else case-insensitively;
- never inside headings, links, code, ``dfn`` or an existing inline definition; each term is
  linked once per document (all its names count together) and never on its own page;
- linking already-linked HTML changes nothing, and the result goes through
  :func:`healthlib.markup.sanitize` again.

The markup of a linked term, readable without JavaScript (the site's CSS shows the definition on
``:hover`` and ``:focus``; screen readers get it as the link's accessible description)::

    <a class="glossary-term" href="/health/glossary/t-cell/" aria-describedby="glossary-definition-t-cell">T cells</a>
    <span class="glossary-definition" role="tooltip" id="glossary-definition-t-cell">A white blood cell ...</span>

The HTML is walked with selectolax (lexbor), a spec-compliant HTML parser, rather than the
regular-expression tokenizer this module had: re-linking every live article after a glossary change is
the hot path, and on a 5,000-word article the parser walks and re-serializes the document in about half
the time the tokenizer took to split and join it (``bench/glossary_linker.py --tokenizers``: 0.96 vs
2.03 ms CPU; lxml 3.24 ms), and whole linking is 0.5 to 1.7 ms faster at 10 to 10,000 terms with
byte-identical output (``docs/benchmarks.md``). Linked words become a NUL-delimited marker in their
text node (a parser drops NUL from the text it reads, so content cannot forge one), replaced by the
link markup in the serialized document.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import unquote, urlsplit

import ahocorasick
from django.urls import reverse
from selectolax.lexbor import LexborHTMLParser, LexborNode

from healthlib.markup import plain_text, sanitize

TERM_CLASS = "glossary-term"
DEFINITION_CLASS = "glossary-definition"
DEFINITION_ID_PREFIX = "glossary-definition-"
#: Elements whose text is never linked.
EXCLUDED_TAGS = frozenset(
    {"h1", "h2", "h3", "h4", "h5", "h6", "a", "code", "pre", "kbd", "samp", "dfn", "abbr", "script", "style",
     "button", "label", "textarea", "select", "option", "title"}
)  # fmt: skip

# Where a linked term goes in a text node until the document is serialized: "\0<n>\0". Content
# cannot forge it: the HTML parser drops NUL characters from the text it reads.
_MARK_OPEN = _MARK_CLOSE = "\x00"
_MARKER = re.compile("\x00([0-9]+)\x00")
# The path converter Django uses for ``<slug:slug>`` in the term page's URL.
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")


# ---------------------------------------------------------------- names and variants


def is_abbreviation(name: str) -> bool:
    """All-caps names ("PD-1", "BCG", "HPV") are matched case-sensitively."""
    return any(c.isupper() for c in name) and not any(c.islower() for c in name)


def _plurals(name: str) -> set[str]:
    """The plural forms a reader expects, inflecting the last word ("T cell" -> "T cells")."""
    if not name or not name[-1].isalpha():
        return set()
    if is_abbreviation(name):
        return {name + "s"}  # "NSAIDs"
    lower = name.lower()
    if lower.endswith("y") and len(name) > 1 and name[-2].lower() not in "aeiou":
        return {name[:-1] + "ies"}  # therapy -> therapies, antibody -> antibodies
    if lower.endswith("is"):
        return {name[:-2] + "es", name + "es"}  # metastasis -> metastases
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return {name + "es"}
    return {name + "s"}  # cell -> cells, cytokine -> cytokines


def name_variants(name: str) -> set[str]:
    """A name, its hyphen/space spellings ("T-cell", "T cell") and their plurals."""
    name = " ".join(name.split())
    if not name:
        return set()
    spellings = {name, name.replace("-", " "), name.replace(" ", "-")} if " " in name or "-" in name else {name}
    variants = set(spellings)
    for spelling in spellings:
        variants |= _plurals(spelling)
    return variants


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


# Anchoring: every non-word character becomes WORD_START, in the text and in the keys alike, and
# every key starts with WORD_START. The automaton then only reports matches that begin at the start
# of a word ("bat" costs nothing inside "rebate"), so the Python work per article follows the words
# that really start a name, not every substring hit. Separators inside a hit are checked afterwards.
WORD_START = "\x00"


class _SearchMap(dict):
    """str.translate table: word characters stay, everything else becomes WORD_START (filled lazily)."""

    def __missing__(self, code: int) -> int:
        value = code if _is_word(chr(code)) else 0
        self[code] = value
        return value


_SEARCH_MAP = _SearchMap()
# Spellings a reader treats as the same separator inside a name.
_SEPARATORS = {ord(c): " " for c in "-\u2010\u2011\u2012\u2013\u00a0\t\n\r\f\v\u202f\u2009"}
_SEPARATORS[ord("\u2019")] = "'"


def _lower(text: str) -> str:
    """Lower-case without changing the length, so match offsets stay valid."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _search_text(text: str) -> str:
    return WORD_START + _lower(text).translate(_SEARCH_MAP) + WORD_START


def _key(variant: str) -> str:
    # A trailing WORD_START makes the key end at the end of a word, like the leading one at a start.
    key = WORD_START + _lower(variant).translate(_SEARCH_MAP)
    return key + WORD_START if _is_word(variant[-1]) else key


def _canonical(text: str) -> str:
    return text.translate(_SEPARATORS)


# ---------------------------------------------------------------- the glossary


@dataclass(frozen=True)
class Term:
    slug: str
    term: str
    aliases: tuple[str, ...]
    short_definition: str

    @property
    def names(self) -> list[str]:
        return [name for name in (self.term, *self.aliases) if name and name.strip()]


@dataclass(frozen=True)
class Linked:
    """The result of :meth:`Glossary.link`: the linked HTML and the slugs of the term pages it links to."""

    html: str
    prefix: str

    @cached_property
    def slugs(self) -> tuple[str, ...]:
        """Every glossary term page the HTML links to (linked now or before), in order of first appearance.

        Found on first use (one more parse), so linking costs nothing extra for callers that only store the HTML.
        """
        return tuple(linked_term_slugs(self.html, prefix=self.prefix))


@dataclass
class Glossary:
    """The terms and one automaton over all their names; build once, link many."""

    terms: list[Term]
    version: object = None
    #: The term URLs before the slug (``/health/glossary/``); a URL is ``prefix + slug + "/"``.
    prefix: str = ""
    urls: list[str] = field(default_factory=list)
    url_index: dict[str, int] = field(default_factory=dict)
    slug_index: dict[str, int] = field(default_factory=dict)
    automaton: ahocorasick.Automaton | None = None
    # Per term: the escaped markup before and after the linked words, built on first use.
    wrappers: dict[int, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def build(cls, terms: Iterable[Term], *, version: object = None, url_pattern: str | None = None) -> Glossary:
        """Build the automaton. ``url_pattern`` ends with ``{slug}/``; default: the term_detail URL."""
        terms = sorted(terms, key=lambda t: t.slug)
        if url_pattern is not None and not url_pattern.endswith("{slug}/"):
            raise ValueError("url_pattern must end with {slug}/")
        prefix = term_path_prefix() if url_pattern is None else url_pattern.removesuffix("{slug}/")
        glossary = cls(terms=terms, version=version, prefix=prefix, urls=[f"{prefix}{t.slug}/" for t in terms])
        glossary.url_index = {url: i for i, url in enumerate(glossary.urls)}
        glossary.slug_index = {term.slug: i for i, term in enumerate(terms)}
        # key -> (term index, canonical spelling or None when only letters and digits, exact case?,
        #         length, does the key end with the WORD_START after the name?)
        table: dict[str, list[tuple[int, str | None, bool, int, bool]]] = {}
        for index, term in enumerate(terms):
            for name in term.names:
                exact = is_abbreviation(name)
                for variant in name_variants(name):
                    if not _is_word(variant[0]):
                        continue  # a name must start with a letter or digit to be linked
                    plain = variant.isalnum() and not exact
                    canonical = None if plain else _canonical(variant if exact else _lower(variant))
                    entry = (index, canonical, exact, len(variant), _is_word(variant[-1]))
                    entries = table.setdefault(_key(variant), [])
                    if entry not in entries:
                        entries.append(entry)
        if table:
            automaton = ahocorasick.Automaton()
            for key, entries in table.items():
                # Exact (abbreviation) entries first, then by slug: deterministic when names collide.
                entries.sort(key=lambda e: (not e[2], e[0]))
                automaton.add_word(key, tuple(entries))
            automaton.make_automaton()
            glossary.automaton = automaton
        return glossary

    def _matches(self, text: str) -> list[tuple[int, int, int]]:
        """Leftmost-longest whole-word matches in one text node: (start, end, term index)."""
        if self.automaton is None or not text:
            return []
        candidates = []
        # The search text is the text framed by WORD_STARTs: a hit whose last character is search
        # index i ends at text index i (exclusive), or i - 1 when the key ends with the WORD_START after the name.
        for last, entries in self.automaton.iter(_search_text(text)):
            for index, canonical, exact, length, trailing in entries:
                end = last - 1 if trailing else last
                start = end - length
                if canonical is None:
                    candidates.append((start, -length, index))
                    break
                span = text[start:end]
                if _canonical(span if exact else _lower(span)) == canonical:
                    candidates.append((start, -length, index))
                    break
        candidates.sort()
        chosen = []
        last_end = 0
        for start, neg_length, index in candidates:
            if start >= last_end:
                chosen.append((start, start - neg_length, index))
                last_end = start - neg_length
        return chosen

    def link(self, html: str, *, exclude_slug: str | None = None) -> Linked:
        """Link the first eligible occurrence of each term in sanitized ``html``; see :class:`Linked`."""
        if not html:
            return Linked(html, self.prefix)
        done: set[int] = set()
        if exclude_slug is not None and exclude_slug in self.slug_index:
            done.add(self.slug_index[exclude_slug])
        fragment = _parse(html)
        # Terms already linked anywhere in the document stay linked there and nowhere else.
        for anchor in fragment.css(f"a.{TERM_CLASS}"):
            index = self.url_index.get(anchor.attributes.get("href") or "")
            if index is not None:
                done.add(index)
        # Linked words become a marker in their text node (escaped like any text when serialized), and
        # the markers become the link markup in the serialized document.
        markups: list[str] = []
        if fragment.root is not None and len(done) < len(self.terms):
            self._link_nodes(fragment.root, done, markups)
        linked = fragment.html or ""
        if markups:
            linked = _MARKER.sub(lambda match: markups[int(match.group(1))], linked)
        return Linked(sanitize(linked), self.prefix)

    def _link_nodes(self, node: LexborNode | None, done: set[int], markups: list[str]) -> None:
        """Link the text of ``node`` and its following siblings, and of their descendants."""
        while node is not None and len(done) < len(self.terms):
            following = node.next
            if node.is_text_node:
                text = node.text_content
                linked = self._link_text(text, done, markups) if text else None
                if linked is not None:
                    node.replace_with(linked)
            elif node.is_element_node and not _is_excluded(node):
                self._link_nodes(node.child, done, markups)
            node = following

    def _link_text(self, text: str, done: set[int], markups: list[str]) -> str | None:
        """``text`` with a marker for each term linked in it, or None when nothing is linked."""
        pieces = []
        position = 0
        for start, end, index in self._matches(text):
            if index in done:
                continue  # still consumes its span: the longer name wins even when not linked again
            done.add(index)
            markups.append(self._markup(index, text[start:end]))
            pieces.append(text[position:start])
            pieces.append(f"{_MARK_OPEN}{len(markups) - 1}{_MARK_CLOSE}")
            position = end
        if not pieces:
            return None
        pieces.append(text[position:])
        return "".join(pieces)

    def _markup(self, index: int, text: str) -> str:
        wrapper = self.wrappers.get(index)
        if wrapper is None:
            wrapper = self.wrappers[index] = self._wrapper(index)
        return f"{wrapper[0]}{html_lib.escape(text, quote=False)}{wrapper[1]}"

    def _wrapper(self, index: int) -> tuple[str, str]:
        """The link (and inline definition) around a term's linked words, escaped once per term."""
        term = self.terms[index]
        url = html_lib.escape(self.urls[index])
        if not term.short_definition:
            return f'<a class="{TERM_CLASS}" href="{url}">', "</a>"
        definition_id = html_lib.escape(DEFINITION_ID_PREFIX + term.slug)
        definition = html_lib.escape(" ".join(term.short_definition.split()), quote=False)
        return (
            f'<a class="{TERM_CLASS}" href="{url}" aria-describedby="{definition_id}">',
            f'</a><span class="{DEFINITION_CLASS}" role="tooltip" id="{definition_id}">{definition}</span>',
        )


def _parse(html: str) -> LexborHTMLParser:
    # A fragment, as the sanitizer parses it: no <html> or <body> is added, leading space is kept.
    return LexborHTMLParser(html, is_fragment=True)


def _is_excluded(element: LexborNode) -> bool:
    if element.tag in EXCLUDED_TAGS:
        return True
    return element.tag == "span" and DEFINITION_CLASS in (element.attributes.get("class") or "").split()


def strip_definitions(html: str) -> str:
    """Linked HTML without the inline definitions (for search and plain-text uses)."""
    fragment = _parse(html)
    definitions = fragment.css(f"span.{DEFINITION_CLASS}")
    if not definitions:
        return html
    for definition in definitions:
        definition.decompose()
    return fragment.html or ""


def plain_article_text(html: str) -> str:
    """Visible text of linked article HTML, without the inline definitions."""
    return plain_text(strip_definitions(html))


# ---------------------------------------------------------------- links to term pages


def term_url(slug: str) -> str:
    return reverse("healthlib:term_detail", kwargs={"slug": slug})


def term_path_prefix() -> str:
    """The glossary term URL without the slug: ``/health/glossary/`` (slugs are URL-safe ASCII)."""
    return reverse("healthlib:term_detail", kwargs={"slug": "x"})[:-2]


def term_slug(href: str, prefix: str, hosts: Collection[str] = ()) -> str | None:
    """The slug of the glossary term page ``href`` points to, or None.

    A term page is ``prefix + slug + "/"`` (any query or fragment after it), as a path or, on one of
    ``hosts``, an absolute http(s) URL.
    """
    parts = urlsplit(href)
    if parts.scheme not in ("", "http", "https"):
        return None
    if parts.netloc and (parts.hostname or "") not in hosts:
        return None
    path = unquote(parts.path)
    if not path.startswith(prefix) or not path.endswith("/"):
        return None
    slug = path[len(prefix) : -1]
    return slug if _SLUG.fullmatch(slug) else None


def linked_term_slugs(html: str, *, prefix: str | None = None, hosts: Collection[str] = ()) -> list[str]:
    """Slugs of the glossary term pages sanitized ``html`` links to, in order of first appearance.

    ``prefix``: the term URLs before the slug (default: this site's, :func:`term_path_prefix`);
    ``hosts``: hosts whose absolute URLs count as this site's (default: none, paths only).
    """
    prefix = term_path_prefix() if prefix is None else prefix
    slugs: dict[str, None] = {}  # ordered set
    for anchor in _parse(html).css("a[href]"):
        if slug := term_slug(anchor.attributes.get("href") or "", prefix, hosts):
            slugs[slug] = None
    return list(slugs)
