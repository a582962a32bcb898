"""Search of published articles and glossary terms: one small interface over two engines.

- SQLite: an FTS5 external-content table over :class:`~healthlib.models.SearchEntry`, ranked with
  ``bm25`` (title weighted above the text);
- PostgreSQL: a weighted ``tsvector`` (title A, text B) with a GIN index, ranked with ``ts_rank_cd``.

Only live content is indexed: :func:`index_item` runs when an item is published (after commit) and
indexes the reader-facing copy, never a draft; :func:`unindex_item` runs when it is archived.

The query a reader types is never handed to either engine's query language: it is split into words
(letters and digits, any script) and each word is quoted, so no input can cause a syntax error.
Snippets are built from plain text with sentinel characters and HTML-escaped before the sentinels
become ``<mark>``; the engines' highlight output is never trusted as HTML.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from django.db import connection, transaction
from django.utils.safestring import SafeString, mark_safe

from healthlib.markup import plain_text

logger = logging.getLogger(__name__)

MAX_TERMS = 16
MAX_TERM_LENGTH = 64
MAX_LIMIT = 100
START, STOP = "\x02", "\x03"
_WORD = re.compile(r"[^\W_]+")
_SENTINELS = re.compile("[\x00\x02\x03]")
_SPACE = re.compile(r"\s+")
#: bm25 weights of the FTS5 columns (title, body_text).
TITLE_WEIGHT, BODY_WEIGHT = 10.0, 1.0
#: ts_rank_cd weights for D, C, B (body), A (title): a title match counts ten body matches.
PG_WEIGHTS = "{0.025, 0.05, 0.1, 1.0}"
PG_CONFIG = "english"


@dataclass(frozen=True)
class Hit:
    kind: Literal["article", "glossary_term"]
    title: str
    url: str
    snippet_html: SafeString
    rank: float


@dataclass(frozen=True)
class SearchResults:
    total: int
    hits: list[Hit]


# ---------------------------------------------------------------- querying


def query_terms(query: str) -> list[str]:
    """The words of a reader's query: letters and digits only, at most MAX_TERMS of them."""
    words = _WORD.findall(query or "")
    return [word[:MAX_TERM_LENGTH] for word in words[:MAX_TERMS]]


def search(query: str, *, limit: int = 20, offset: int = 0) -> SearchResults:
    """Published articles and glossary terms matching every word of ``query`` (the last as a prefix), best first."""
    terms = query_terms(query)
    limit = max(0, min(int(limit), MAX_LIMIT))
    offset = max(0, int(offset))
    if not terms:
        return SearchResults(total=0, hits=[])
    if connection.vendor == "sqlite":
        total, rows = _search_sqlite(terms, limit, offset)
    elif connection.vendor == "postgresql":
        total, rows = _search_postgres(terms, limit, offset)
    else:  # pragma: no cover
        raise NotImplementedError(f"healthlib search supports SQLite and PostgreSQL, not {connection.vendor}")
    hits = [
        Hit(kind=kind, title=title, url=url, snippet_html=snippet_html(snippet), rank=float(rank))
        for kind, title, url, snippet, rank in rows
    ]
    return SearchResults(total=total, hits=hits)


def snippet_html(raw: str) -> SafeString:
    """Escape an engine's snippet, then turn the sentinel markers (and only them) into <mark>."""
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


def _fts5_query(terms: list[str]) -> str:
    # Each word in double quotes (words never contain quotes), implicit AND, prefix on the last.
    quoted = [f'"{term}"' for term in terms]
    quoted[-1] += "*"
    return " ".join(quoted)


def _search_sqlite(terms: list[str], limit: int, offset: int) -> tuple[int, list]:
    match = _fts5_query(terms)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM healthlib_searchentry_fts WHERE healthlib_searchentry_fts MATCH %s", [match]
        )
        total = cursor.fetchone()[0]
        if not total or not limit:
            return total, []
        cursor.execute(
            f"""
            SELECT e.kind, e.title, e.url,
                   snippet(healthlib_searchentry_fts, 1, %s, %s, '…', 24),
                   -bm25(healthlib_searchentry_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) AS score
            FROM healthlib_searchentry_fts
            JOIN healthlib_searchentry e ON e.item_id = healthlib_searchentry_fts.rowid
            WHERE healthlib_searchentry_fts MATCH %s
            ORDER BY bm25(healthlib_searchentry_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}), e.item_id
            LIMIT %s OFFSET %s
            """,
            [START, STOP, match, limit, offset],
        )
        return total, cursor.fetchall()


def _tsquery(terms: list[str]) -> str:
    # to_tsquery syntax, each word single-quoted (words never contain quotes or backslashes).
    quoted = [f"'{term}'" for term in terms]
    quoted[-1] += ":*"
    return " & ".join(quoted)


@contextmanager
def _prefer_gin_index(cursor):
    """Keep the planner off a sequential scan for this search only.

    The tsvectors are TOASTed, so the heap looks tiny and a sequential scan looks cheap, but every
    row is then decompressed to test ``@@``: at 5,000 entries that is ~60 ms where the GIN index
    takes ~2 ms. The setting is transaction-local and put back afterwards.
    """
    cursor.execute("SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)")
    previous = cursor.fetchone()[0]
    try:
        yield
    finally:
        cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [previous])


def _search_postgres(terms: list[str], limit: int, offset: int) -> tuple[int, list]:
    tsquery = _tsquery(terms)
    headline_options = (
        f'StartSel="{START}", StopSel="{STOP}", MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "'
    )
    with transaction.atomic(), connection.cursor() as cursor, _prefer_gin_index(cursor):
        cursor.execute(
            "SELECT count(*) FROM healthlib_searchentry WHERE search_vector @@ to_tsquery(%s::regconfig, %s)",
            [PG_CONFIG, tsquery],
        )
        total = cursor.fetchone()[0]
        if not total or not limit:
            return total, []
        # Rank and page first; ts_headline (the costly part) runs only on the page of hits.
        cursor.execute(
            """
            SELECT e.kind, e.title, e.url, ts_headline(%s::regconfig, e.body_text, q.query, %s), r.score
            FROM (
                SELECT s.item_id, ts_rank_cd(%s::float4[], s.search_vector, q.query) AS score
                FROM healthlib_searchentry s, to_tsquery(%s::regconfig, %s) AS q(query)
                WHERE s.search_vector @@ q.query
                ORDER BY score DESC, s.item_id
                LIMIT %s OFFSET %s
            ) r
            JOIN healthlib_searchentry e ON e.item_id = r.item_id
            CROSS JOIN to_tsquery(%s::regconfig, %s) AS q(query)
            ORDER BY r.score DESC, r.item_id
            """,
            [PG_CONFIG, headline_options, PG_WEIGHTS, PG_CONFIG, tsquery, limit, offset, PG_CONFIG, tsquery],
        )
        return total, cursor.fetchall()


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
        return {"kind": Kind.ARTICLE, "title": _clean(item.live_title), "body_text": _clean(body)}
    if isinstance(item, GlossaryTerm):
        body = " ".join(
            [
                item.live_short_definition,
                " ".join(item.live_aliases or []),
                plain_text(item.live_full_definition_html),
                plain_text(item.live_professional_definition_html),
            ]
        )
        return {"kind": Kind.GLOSSARY_TERM, "title": _clean(item.live_term), "body_text": _clean(body)}
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
