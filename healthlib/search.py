"""Search of published articles and glossary terms: one small interface over two engines.

- SQLite: FTS5 tables over :class:`~healthlib.models.SearchEntry`: one external-content table of the
  title and text, and a small one of the names (title and aliases);
- PostgreSQL: a weighted ``tsvector`` column (title A, text B) with a GIN index, and a GIN index on
  the ``tsvector`` of the names.

Ranking policy (the same on both databases, so readers get the same order whichever runs the site):

1. entries whose title *is* the query (ignoring case and extra spaces);
2. the other entries whose title or aliases hold every word of the query: shorter titles first, then
   newer entries; when more than :data:`RESULT_CAP` names match, newer entries first;
3. entries that hold every word only in their text: newer entries first.

"Newer" is the higher id (the item was created later). Exact titles come from an index on the lower-
cased title; ids are read in index order (FTS5 rowids, PostgreSQL's primary key) or the matching
names sorted by id; below the cap at most RESULT_CAP short names are sorted by length. The long
texts are never ranked as a whole, because a common
word matches nearly every article and ranking them all (bm25 / ts_rank_cd over 89,000 long texts)
took 0.5 to 1.6 s at 100,000 articles. Counting stops at RESULT_CAP: readers see "More than 1,000
results" and can page through the first 1,000. Every tier's order is total and the tiers do not
overlap, so pages never repeat or skip a hit.

Only live content is indexed: :func:`index_item` runs when an item is published (after commit) and
indexes the reader-facing copy, never a draft; :func:`unindex_item` runs when it is archived.

The query a reader types is never handed to either engine's query language: it is split into words
(letters and digits, any script) and each word is quoted, so no input can cause a syntax error.
Snippets are cut from the plain text of the page's hits, the query's words wrapped in sentinel
characters, then HTML-escaped before the sentinels become ``<mark>``.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from dataclasses import dataclass
from typing import Literal

from django.db import connection, transaction
from django.utils.safestring import SafeString, mark_safe

from healthlib.markup import plain_text

logger = logging.getLogger(__name__)

MAX_TERMS = 16
MAX_TERM_LENGTH = 64
MAX_LIMIT = 100
#: Matches are counted up to this many, and only this many can be paged through.
RESULT_CAP = 1000
START, STOP = "\x02", "\x03"
#: Words in a snippet, and the characters kept before its first match.
SNIPPET_WORDS, SNIPPET_LEAD = 28, 60
_WORD = re.compile(r"[^\W_]+")
_SENTINELS = re.compile("[\x00\x02\x03]")
_SPACE = re.compile(r"\s+")
PG_CONFIG = "english"
#: The names of an entry as PostgreSQL indexes them; queries repeat this expression exactly so that
#: the planner uses the index of migration 0008.
PG_NAMES_VECTOR = "to_tsvector('english'::regconfig, title || ' ' || aliases)"
#: Hit.rank of each tier (see the module docstring).
EXACT_NAME, NAME, TEXT = 3.0, 2.0, 1.0


@dataclass(frozen=True)
class Hit:
    kind: Literal["article", "glossary_term"]
    title: str
    url: str
    snippet_html: SafeString
    #: The tier it came from: EXACT_NAME (3.0, the title is the query), NAME (2.0) or TEXT (1.0).
    rank: float


@dataclass(frozen=True)
class SearchResults:
    #: Matches, counted up to RESULT_CAP.
    total: int
    hits: list[Hit]
    #: True when there are more matches than ``total`` (which is then RESULT_CAP).
    capped: bool = False


# ---------------------------------------------------------------- querying


def query_terms(query: str) -> list[str]:
    """The words of a reader's query: letters and digits only, at most MAX_TERMS of them."""
    words = _WORD.findall(query or "")
    return [word[:MAX_TERM_LENGTH] for word in words[:MAX_TERMS]]


def exact_name(query: str) -> str:
    """The query as compared with titles for an exact match (the database lowers both): single spaces."""
    return _SPACE.sub(" ", _SENTINELS.sub(" ", query or "")).strip()


def search(query: str, *, limit: int = 20, offset: int = 0) -> SearchResults:
    """Published articles and glossary terms matching every word of ``query`` (the last as a prefix), best first.

    See the module docstring for the order. At most RESULT_CAP matches are counted and paged.
    """
    terms = query_terms(query)
    offset = max(0, int(offset))
    limit = max(0, min(int(limit), MAX_LIMIT, RESULT_CAP - offset))
    if not terms:
        return SearchResults(total=0, hits=[])
    if connection.vendor == "sqlite":
        backend = _Sqlite(terms, exact_name(query))
    elif connection.vendor == "postgresql":
        backend = _Postgres(terms, exact_name(query))
    else:  # pragma: no cover
        raise NotImplementedError(f"healthlib search supports SQLite and PostgreSQL, not {connection.vendor}")
    with backend:
        total, names, exact = backend.counts(RESULT_CAP + 1)
        if not total or not limit:
            return SearchResults(total=min(total, RESULT_CAP), hits=[], capped=total > RESULT_CAP)
        # The page is a slice of the tiers one after the other; each tier is ordered on its own.
        slices = []
        for size in (exact, names - exact):
            start = min(offset, size)
            take = min(limit, size - start)
            slices += [take, start]
            offset, limit = offset - start, limit - take
        page = backend.page(*slices, limit, offset, short_first=names <= RESULT_CAP)
        rows = _rows([item_id for item_id, _ in page]) if page else {}
    highlight = _highlighter(terms)
    hits = []
    for item_id, rank in page:
        if item_id in rows:  # unindexed between the two queries
            kind, title, url, text = rows[item_id]
            snippet = snippet_html(make_snippet(text, highlight))
            hits.append(Hit(kind=kind, title=title, url=url, snippet_html=snippet, rank=float(rank)))
    return SearchResults(total=min(total, RESULT_CAP), hits=hits, capped=total > RESULT_CAP)


def _rows(ids: list[int]) -> dict:
    from healthlib.models import SearchEntry

    rows = SearchEntry.objects.filter(item_id__in=ids).values_list("item_id", "kind", "title", "url", "body_text")
    return {item_id: rest for item_id, *rest in rows}


def _highlighter(terms: list[str]) -> re.Pattern:
    # The words of the query as whole words, the last also as the start of a word (as searched).
    *words, last = sorted(set(terms[:-1]), key=len, reverse=True) + [terms[-1]]
    alternatives = [rf"{re.escape(last)}[^\W_]*", *(rf"{re.escape(word)}(?![^\W_])" for word in words)]
    return re.compile(rf"(?<![^\W_])(?:{'|'.join(alternatives)})", re.IGNORECASE)


def make_snippet(text: str, highlight: re.Pattern) -> str:
    """About SNIPPET_WORDS words of ``text`` from just before its first match, matches between sentinels.

    Built here rather than by the engines: FTS5's ``snippet()`` and ``ts_headline`` tokenize the
    whole text of every hit (about 6 ms for a 2,500-word article), this looks at a few hundred
    characters. ``text`` is an index entry's (whitespace collapsed, sentinels removed).
    """
    found = highlight.search(text)
    start = found.start() if found else 0
    before = text[max(0, start - SNIPPET_LEAD) : start]
    if start > SNIPPET_LEAD:
        before = before.partition(" ")[2]  # drop the cut word
    words = (before + text[start : start + SNIPPET_WORDS * 20]).split(" ")
    window = " ".join(words[:SNIPPET_WORDS])
    marked = highlight.sub(lambda match: f"{START}{match.group(0)}{STOP}", window)
    begins = start - len(before) > 0
    ends = start - len(before) + len(window) < len(text)
    return f"{'… ' if begins else ''}{marked}{' …' if ends else ''}"


def snippet_html(raw: str) -> SafeString:
    """Escape a snippet, then turn the sentinel markers (and only them) into <mark>."""
    escaped = html_lib.escape(_SPACE.sub(" ", raw or "").strip(), quote=True)
    # An unbalanced marker (a snippet cut inside a match) must not leave an open <mark>.
    parts = re.split(f"([{START}{STOP}])", escaped)
    out, open_mark = [], False
    for part in parts:
        if part == START:
            if not open_mark:
                out.append("<mark>")
                open_mark = True
        elif part == STOP:
            if open_mark:
                out.append("</mark>")
                open_mark = False
        else:
            out.append(part)
    if open_mark:
        out.append("</mark>")
    return mark_safe("".join(out))  # every piece of text above was escaped


class _Sqlite:
    """The three capped counts in one statement, the page's ids and tiers in another."""

    def __init__(self, terms: list[str], exact: str) -> None:
        # Each word in double quotes (words never contain quotes), implicit AND, prefix on the last.
        quoted = [f'"{term}"' for term in terms]
        quoted[-1] += "*"
        self.match = " ".join(quoted)
        self.exact = exact

    def __enter__(self):
        self.cursor = connection.cursor().__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.cursor.__exit__(*exc)

    # Exact titles: the index on lower(title), each checked against the names table by rowid (CROSS
    # JOIN fixes that order; by itself SQLite would walk every name match to sort by item_id).
    EXACT = """SELECT e.item_id FROM healthlib_searchentry e
               CROSS JOIN healthlib_searchentry_names n ON n.rowid = e.item_id
               WHERE lower(e.title) = lower(%s) AND healthlib_searchentry_names MATCH %s"""

    def counts(self, cap: int) -> tuple[int, int, int]:
        self.cursor.execute(
            f"""
            SELECT (SELECT count(*) FROM (SELECT 1 FROM healthlib_searchentry_fts
                                          WHERE healthlib_searchentry_fts MATCH %s LIMIT %s)),
                   (SELECT count(*) FROM (SELECT 1 FROM healthlib_searchentry_names
                                          WHERE healthlib_searchentry_names MATCH %s LIMIT %s)),
                   (SELECT count(*) FROM ({self.EXACT} LIMIT %s))
            """,
            [self.match, cap, self.match, cap, self.exact, self.match, cap],
        )
        return self.cursor.fetchone()

    def page(self, *slices: int, short_first: bool) -> list:
        # The names table keeps its own copy of title and aliases, so ordering name matches never
        # touches the large entry rows. Rowid order comes straight from FTS5, without a sort.
        names_order = "length(title) - length(replace(title, ' ', '')), rowid DESC" if short_first else "rowid DESC"
        self.cursor.execute(
            f"""
            SELECT item_id, {EXACT_NAME} FROM ({self.EXACT} ORDER BY e.item_id DESC LIMIT %s OFFSET %s)
            UNION ALL
            SELECT item_id, {NAME} FROM (
                SELECT rowid AS item_id FROM healthlib_searchentry_names
                WHERE healthlib_searchentry_names MATCH %s AND lower(title) <> lower(%s)
                ORDER BY {names_order}
                LIMIT %s OFFSET %s
            )
            UNION ALL
            SELECT item_id, {TEXT} FROM (
                SELECT rowid AS item_id FROM healthlib_searchentry_fts
                WHERE healthlib_searchentry_fts MATCH %s
                  AND rowid NOT IN (SELECT rowid FROM healthlib_searchentry_names
                                    WHERE healthlib_searchentry_names MATCH %s)
                ORDER BY rowid DESC
                LIMIT %s OFFSET %s
            )
            """,
            [
                self.exact,
                self.match,
                *slices[0:2],
                self.match,
                self.exact,
                *slices[2:4],
                self.match,
                self.match,
                *slices[4:6],
            ],
        )
        return self.cursor.fetchall()


class _Postgres:
    """The same two statements, in one transaction that keeps the planner on the GIN indexes."""

    def __init__(self, terms: list[str], exact: str) -> None:
        # to_tsquery syntax, each word single-quoted (words never contain quotes or backslashes).
        quoted = [f"'{term}'" for term in terms]
        quoted[-1] += ":*"
        self.query = "to_tsquery(%s::regconfig, %s)"
        self.params = [PG_CONFIG, " & ".join(quoted)]
        self.exact = exact

    def __enter__(self):
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.cursor = connection.cursor().__enter__()
        # The tsvectors are TOASTed, so the heap looks small and a sequential scan cheap, but every
        # row is then decompressed to test ``@@``. Transaction-local, put back on the way out.
        self.cursor.execute("SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)")
        self.previous = self.cursor.fetchone()[0]
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [self.previous])
        finally:
            self.cursor.__exit__(*exc)
            self.atomic.__exit__(*exc)

    def counts(self, cap: int) -> tuple[int, int, int]:
        self.cursor.execute(
            f"""
            SELECT (SELECT count(*) FROM (SELECT 1 FROM healthlib_searchentry
                                          WHERE search_vector @@ {self.query} LIMIT %s) a),
                   (SELECT count(*) FROM (SELECT 1 FROM healthlib_searchentry
                                          WHERE {PG_NAMES_VECTOR} @@ {self.query} LIMIT %s) b),
                   (SELECT count(*) FROM (SELECT 1 FROM healthlib_searchentry
                                          WHERE lower(title) = lower(%s) AND {PG_NAMES_VECTOR} @@ {self.query}
                                          LIMIT %s) c)
            """,
            [*self.params, cap, *self.params, cap, self.exact, *self.params, cap],
        )
        return self.cursor.fetchone()

    def page(self, *slices: int, short_first: bool) -> list:
        # The query is a constant in each clause (not a CTE or a join) so that the planner sees how
        # many rows match: for a common word it walks the primary key backwards and stops after the
        # page, for a rare one it collects the few matches from the GIN index and sorts them.
        # "+ 0" keeps the planner off a backward walk of the primary key computing every title's
        # tsvector on the way (it underrates to_tsvector): the GIN index and a top-N sort cost less
        # unless nearly every title matches.
        names_order = (
            "length(title) - length(replace(title, ' ', '')), item_id DESC" if short_first else "item_id + 0 DESC"
        )
        self.cursor.execute(
            f"""
            (SELECT item_id, {EXACT_NAME} FROM healthlib_searchentry
             WHERE lower(title) = lower(%s) AND {PG_NAMES_VECTOR} @@ {self.query}
             ORDER BY item_id DESC LIMIT %s OFFSET %s)
            UNION ALL
            (SELECT item_id, {NAME} FROM healthlib_searchentry
             WHERE {PG_NAMES_VECTOR} @@ {self.query} AND lower(title) <> lower(%s)
             ORDER BY {names_order} LIMIT %s OFFSET %s)
            UNION ALL
            (SELECT item_id, {TEXT} FROM healthlib_searchentry
             WHERE search_vector @@ {self.query}
               AND item_id NOT IN (SELECT item_id FROM healthlib_searchentry WHERE {PG_NAMES_VECTOR} @@ {self.query})
             ORDER BY item_id DESC LIMIT %s OFFSET %s)
            """,
            [
                self.exact,
                *self.params,
                *slices[0:2],
                *self.params,
                self.exact,
                *slices[2:4],
                *self.params,
                *self.params,
                *slices[4:6],
            ],
        )
        return self.cursor.fetchall()


def articles_with_phrases(phrases: list[str]) -> set[int]:
    """Ids of indexed live articles whose title or text holds one of ``phrases`` (its words in order).

    Through the full-text indexes, not a scan of every body: how the glossary finds the articles that
    may start using a term. The engines' tokenizers (FTS5 ``unicode61``, PostgreSQL's ``english``
    parser, which also stems) split at least where the glossary linker's whole-word matching does, so
    the result holds every article the linker can link the phrase in (and perhaps a few more).
    """
    # Words are letters and digits only, so they need no quoting beyond the phrase's own quotes.
    words = list(dict.fromkeys(" ".join(found) for phrase in phrases if (found := _WORD.findall(phrase))))
    if not words:
        return set()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT e.item_id FROM healthlib_searchentry_fts f CROSS JOIN healthlib_searchentry e "
                "ON e.item_id = f.rowid WHERE healthlib_searchentry_fts MATCH %s AND e.kind = 'article'",
                [" OR ".join(f'"{phrase}"' for phrase in words)],
            )
            return {row[0] for row in cursor.fetchall()}
        # A phrase of stop words only ("a", "it") is an empty tsquery, which matches nothing: those
        # (rare) names are looked for in the text itself.
        cursor.execute(
            "SELECT p, numnode(phraseto_tsquery(%s::regconfig, p)) FROM unnest(%s::text[]) AS p", [PG_CONFIG, words]
        )
        stop_words_only = {phrase for phrase, nodes in cursor.fetchall() if not nodes}
        clauses, params = [], []
        for phrase in words:
            if phrase in stop_words_only:
                clauses.append("body_text ILIKE %s")
                params.append("%" + phrase.replace(" ", "%") + "%")
            else:
                clauses.append("search_vector @@ phraseto_tsquery(%s::regconfig, %s)")
                params += [PG_CONFIG, phrase]
        cursor.execute(
            f"SELECT item_id FROM healthlib_searchentry WHERE kind = 'article' AND ({' OR '.join(clauses)})", params
        )
        return {row[0] for row in cursor.fetchall()}


# ---------------------------------------------------------------- indexing


def _clean(text: str) -> str:
    return _SPACE.sub(" ", _SENTINELS.sub(" ", text or "")).strip()


def entry_fields(item) -> dict | None:
    """What the index holds for a live item (its reader-facing copy), or None when it is not live."""
    from healthlib.glossary_linker import strip_definitions
    from healthlib.models import Article, GlossaryTerm, Kind

    if item.live_revision_id is None:
        return None
    if isinstance(item, Article):
        body = " ".join([item.live_summary, plain_text(strip_definitions(item.live_body_html))])
        return {"kind": Kind.ARTICLE, "title": _clean(item.live_title), "aliases": "", "body_text": _clean(body)}
    if isinstance(item, GlossaryTerm):
        body = " ".join(
            [
                item.live_short_definition,
                " ".join(item.live_aliases or []),
                plain_text(item.live_full_definition_html),
                plain_text(item.live_professional_definition_html),
            ]
        )
        aliases = "\n".join(filter(None, (_clean(alias) for alias in item.live_aliases or [])))
        return {
            "kind": Kind.GLOSSARY_TERM,
            "title": _clean(item.live_term),
            "aliases": aliases,
            "body_text": _clean(body),
        }
    raise TypeError(f"Cannot index {type(item).__name__}")


def index_item(item) -> bool:
    """Put a live item's reader-facing text in the index (or take it out when not live). Returns whether indexed."""
    from healthlib.models import SearchEntry

    item = item.specific()
    item = type(item).objects.get(pk=item.pk)  # what was committed, not the caller's copy
    fields = entry_fields(item)
    if fields is None:
        unindex_item(item)
        return False
    SearchEntry.objects.update_or_create(item_id=item.pk, defaults={**fields, "url": item.get_absolute_url()})
    return True


def unindex_item(item) -> None:
    """Take an item out of the index."""
    from healthlib.models import SearchEntry

    SearchEntry.objects.filter(item_id=item.pk).delete()


def reindex() -> int:
    """Rebuild the whole index from live content. Returns the number of entries."""
    from healthlib.models import Article, GlossaryTerm, SearchEntry

    count = 0
    with transaction.atomic():
        SearchEntry.objects.all().delete()
        for model in (Article, GlossaryTerm):
            for item in model.objects.filter(live_revision__isnull=False).iterator(chunk_size=200):
                SearchEntry.objects.create(item_id=item.pk, url=item.get_absolute_url(), **entry_fields(item))
                count += 1
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO healthlib_searchentry_fts(healthlib_searchentry_fts) VALUES ('rebuild')")
    return count


def _on_published(sender, item, **kwargs) -> None:
    index_item(item)


def _on_archived(sender, item, **kwargs) -> None:
    unindex_item(item)


def connect() -> None:
    """Keep the index in step with what readers see (called from apps.ready).

    The workflow sends these signals once its transaction has committed, so only committed,
    live content is ever indexed.
    """
    from healthlib import signals

    signals.published.connect(_on_published, dispatch_uid="healthlib.search.published")
    signals.archived.connect(_on_archived, dispatch_uid="healthlib.search.archived")
