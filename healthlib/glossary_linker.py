"""Glossary linking: the first use of each published term in an article links to its term page.

The linker works on sanitized HTML (the output of :func:`healthlib.markup.render_document`):

- one Aho-Corasick automaton (``pyahocorasick``) holds every name of every published term, with
  the plural forms and hyphen/space variants a reader would expect, so linking an article costs
  O(length of the text) whatever the size of the glossary;
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

Linked HTML is computed when an article is published (``Article.set_live_content``) and, after a
glossary term is published or archived, by the derived work of :mod:`healthlib.derived_work`, never
per request.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import ahocorasick
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q
from django.urls import reverse
from django.utils import timezone

from healthlib.markup import plain_text, render_document, sanitize

logger = logging.getLogger(__name__)

TERM_CLASS = "glossary-term"
DEFINITION_CLASS = "glossary-definition"
DEFINITION_ID_PREFIX = "glossary-definition-"
#: Elements whose text is never linked.
EXCLUDED_TAGS = frozenset(
    {"h1", "h2", "h3", "h4", "h5", "h6", "a", "code", "pre", "kbd", "samp", "dfn", "abbr", "script", "style",
     "button", "label", "textarea", "select", "option", "title"}
)  # fmt: skip
VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})

# Sanitized HTML is well-formed and its attribute values are double-quoted, so a tag is "<",
# anything but ">" or a quote, quoted values, ">".
_TAG = re.compile(r'<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>"]|"[^"]*")*)>')
_CLASS = re.compile(r'\bclass="([^"]*)"')
_HREF = re.compile(r'\bhref="([^"]*)"')
_DEFINITION_SPAN = re.compile(r'<span\b[^>]*\bclass="' + DEFINITION_CLASS + r'"[^>]*>.*?</span>', re.DOTALL)
_SLUG_PLACEHOLDER = "healthlib-slug-placeholder"


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


@dataclass
class Glossary:
    """The published terms and one automaton over all their names; build once, link many."""

    terms: list[Term]
    version: object = None
    urls: list[str] = field(default_factory=list)
    url_index: dict[str, int] = field(default_factory=dict)
    slug_index: dict[str, int] = field(default_factory=dict)
    automaton: ahocorasick.Automaton | None = None
    # Per term: the escaped markup before and after the linked words, built on first use.
    wrappers: dict[int, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def build(cls, terms: Iterable[Term], *, version: object = None, url_pattern: str | None = None) -> Glossary:
        """Build the automaton. ``url_pattern`` contains ``{slug}``; default: the term_detail URL."""
        terms = sorted(terms, key=lambda t: t.slug)
        if url_pattern is None:
            url_pattern = term_url(_SLUG_PLACEHOLDER).replace(_SLUG_PLACEHOLDER, "{slug}")
        glossary = cls(terms=terms, version=version, urls=[url_pattern.replace("{slug}", t.slug) for t in terms])
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

    def link(self, html: str, *, exclude_slug: str | None = None) -> str:
        """Link the first eligible occurrence of each term in sanitized ``html``."""
        if self.automaton is None or not html:
            return sanitize(html) if html else html
        url_index = self.url_index
        done: set[int] = set()
        if exclude_slug is not None and exclude_slug in self.slug_index:
            done.add(self.slug_index[exclude_slug])
        tokens = _tokenize(html)
        # Terms already linked anywhere in the document stay linked there and nowhere else.
        for kind, _name, attrs, _raw in tokens:
            if kind == "start" and _name == "a" and TERM_CLASS in _classes(attrs):
                href = _HREF.search(attrs)
                if href and html_lib.unescape(href.group(1)) in url_index:
                    done.add(url_index[html_lib.unescape(href.group(1))])
        out: list[str] = []
        stack: list[bool] = []
        excluded = 0
        for kind, name, attrs, raw in tokens:
            if kind == "text":
                if excluded or len(done) == len(self.terms):
                    out.append(raw)
                else:
                    out.append(self._link_text(raw, done))
                continue
            out.append(raw)
            if kind == "start" and name not in VOID_TAGS and not raw.endswith("/>"):
                skip = name in EXCLUDED_TAGS or (name == "span" and DEFINITION_CLASS in _classes(attrs))
                stack.append(skip)
                excluded += skip
            elif kind == "end" and stack:
                excluded -= stack.pop()
        return sanitize("".join(out))

    def _link_text(self, raw: str, done: set[int]) -> str:
        text = html_lib.unescape(raw)
        matches = self._matches(text)
        if not matches:
            return raw
        pieces = []
        position = 0
        changed = False
        for start, end, index in matches:
            if index in done:
                continue  # still consumes its span: the longer name wins even when not linked again
            done.add(index)
            changed = True
            pieces.append(html_lib.escape(text[position:start], quote=False))
            pieces.append(self._markup(index, text[start:end]))
            position = end
        if not changed:
            return raw
        pieces.append(html_lib.escape(text[position:], quote=False))
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


def _classes(attrs: str) -> set[str]:
    match = _CLASS.search(attrs)
    return set(match.group(1).split()) if match else set()


def _tokenize(html: str) -> list[tuple[str, str, str, str]]:
    """(kind, tag name, attributes, raw) for each tag and text run of sanitized HTML."""
    tokens = []
    position = 0
    for match in _TAG.finditer(html):
        if match.start() > position:
            tokens.append(("text", "", "", html[position : match.start()]))
        kind = "end" if match.group(1) else "start"
        tokens.append((kind, match.group(2).lower(), match.group(3), match.group(0)))
        position = match.end()
    if position < len(html):
        tokens.append(("text", "", "", html[position:]))
    return tokens


def strip_definitions(html: str) -> str:
    """Linked HTML without the inline definitions (for search and plain-text uses)."""
    return _DEFINITION_SPAN.sub("", html)


def term_url(slug: str) -> str:
    return reverse("healthlib:term_detail", kwargs={"slug": slug})


# ---------------------------------------------------------------- the cached glossary

_lock = threading.Lock()
_cached: Glossary | None = None


def glossary_version() -> tuple:
    """A fingerprint of the published glossary: one cheap aggregate query.

    Publishing a term moves the newest ``last_published_at``; archiving one lowers the count. Keyed by
    this (rather than a counter in Django's cache bumped by signals) the in-process automaton is never
    stale, whatever the cache backend, in every process, and inside not-yet-committed transactions.
    """
    from healthlib.models import ContentItem, Kind

    # On the parent table: no join with the glossary table.
    row = ContentItem.objects.filter(kind=Kind.GLOSSARY_TERM, live_revision__isnull=False).aggregate(
        n=Count("pk"), newest=Max("last_published_at"), top=Max("pk")
    )
    return (row["n"], row["newest"], row["top"])


def _load_terms() -> list[Term]:
    from healthlib.models import GlossaryTerm

    rows = GlossaryTerm.objects.filter(live_revision__isnull=False).values_list(
        "slug", "live_term", "live_aliases", "live_short_definition"
    )
    return [Term(slug, term, tuple(aliases or ()), definition) for slug, term, aliases, definition in rows]


def get_glossary() -> Glossary:
    """The published glossary's automaton, built once per glossary version and kept in-process."""
    global _cached
    version = glossary_version()
    cached = _cached
    if cached is not None and cached.version == version:
        return cached
    with _lock:
        if _cached is not None and _cached.version == version:
            return _cached
        _cached = Glossary.build(_load_terms(), version=version)
        return _cached


#: Key of the PostgreSQL advisory lock on the published glossary (any constant: "hlgl").
GLOSSARY_LOCK = 0x686C676C


def lock_glossary(*, exclusive: bool) -> None:
    """Hold the glossary lock until the current transaction ends (PostgreSQL; a no-op elsewhere).

    An article's publish links against the glossary under the shared lock; a term's publish or
    archive takes it exclusively until it commits. Without it, an article published for the first time
    while a term's publish commits could be linked against the glossary without the term and commit
    after the term's re-link looked for live articles, and stay unlinked. (SQLite lets one writing
    transaction commit at a time: there the later writer is refused with "database is locked".)
    """
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {function}(%s)", [GLOSSARY_LOCK])


def link_article_html(html: str, *, exclude_slug: str | None = None) -> str:
    """Link sanitized article (or definition) HTML against the published glossary (as committed once the
    shared glossary lock is held, see :func:`lock_glossary`)."""
    lock_glossary(exclusive=False)
    return get_glossary().link(html, exclude_slug=exclude_slug)


# ---------------------------------------------------------------- re-linking live articles


def _render_live_body(article) -> str:
    return render_document(article.live_revision.content["body"]).html


def relink_article(article_id: int, glossary: Glossary | None = None) -> bool:
    """Re-render and re-link one live article from its live revision's markdown and store its reader
    page (:mod:`healthlib.reader_pages`), in one transaction under the row lock the workflow takes, so
    the body and the page change together or not at all. Returns whether anything changed.

    ``live_body_html`` is a derived cache of the live revision (not workflow state), so it is written
    with ``QuerySet.update`` outside :mod:`healthlib.workflow`.
    """
    from healthlib import reader_pages
    from healthlib.models import Article, ContentItem

    with transaction.atomic():
        ContentItem.objects.select_for_update().filter(pk=article_id).exists()
        # Default: the glossary as committed now (its version is read inside this transaction).
        glossary = glossary or get_glossary()
        article = (
            Article.objects.filter(pk=article_id, live_revision__isnull=False)
            .select_related("live_revision")
            .only("pk", "live_body_html", "live_revision__content")
            .first()
        )
        if article is None:
            return False
        html = glossary.link(_render_live_body(article))
        relinked = html != article.live_body_html
        if relinked:
            # The revision filter matters where the lock is a no-op (SQLite): a re-publish meanwhile won.
            relinked = bool(
                Article.objects.filter(pk=article_id, live_revision_id=article.live_revision_id).update(
                    live_body_html=html, updated_at=timezone.now()
                )
            )
        # The stored page shows the body and the linked terms' definitions: re-derive it even when
        # the links are unchanged (a linked term's definition or name may have changed).
        restored = reader_pages.refresh(article_id)
    return relinked or restored


def relink_articles(queryset=None) -> int:
    """Re-link every live article of ``queryset`` (default: all), one article per transaction.
    Returns how many changed."""
    from healthlib.models import Article

    if queryset is None:
        queryset = Article.objects.all()
    ids = list(queryset.filter(live_revision__isnull=False).values_list("pk", flat=True))
    glossary = get_glossary()
    return sum(relink_article(article_id, glossary) for article_id in ids)


def affected_article_ids(term) -> set[int]:
    """Live articles whose page a change of ``term`` (published, renamed, archived) may change: those
    that link it now (the term-mention index) and, when it is live, those whose text holds one of its
    names (the search index). Both are index look-ups, never a scan of every body."""
    from healthlib.models import Article, TermMention
    from healthlib.search import articles_with_phrases

    ids = set(TermMention.objects.filter(slug=term.slug).values_list("article_id", flat=True))
    if term.live_revision_id is not None:
        names = {term.live_term, *(term.live_aliases or [])}
        ids |= articles_with_phrases(sorted({v for name in names for v in name_variants(name or "")}))
        # The search index is written after an article's publish commits: an article it does not hold
        # yet (or holds as before its last publish) may mention the term too. A join on keys and dates,
        # no body is read.
        lagging = Article.objects.filter(live_revision__isnull=False).filter(
            Q(search_entry__isnull=True) | Q(search_entry__indexed_at__lt=F("last_published_at"))
        )
        ids |= set(lagging.values_list("pk", flat=True))
    return ids


def affected_articles(term):
    """:func:`affected_article_ids` as a queryset of live articles."""
    from healthlib.models import Article

    return Article.objects.filter(live_revision__isnull=False, pk__in=affected_article_ids(term))


def plain_article_text(html: str) -> str:
    """Visible text of linked article HTML, without the inline definitions."""
    return plain_text(strip_definitions(html))
