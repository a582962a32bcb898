"""Running a reader's query: words in, a page of hits out, ranked by the policy of :mod:`healthlib.search`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from django.db import connection
from django.utils.module_loading import import_string
from django.utils.safestring import SafeString

from healthlib.models import SearchEntry
from healthlib.search.backend import Backend
from healthlib.search.snippets import clean_text, highlighter, make_snippet, snippet_html

MAX_TERMS = 16
MAX_TERM_LENGTH = 64
MAX_LIMIT = 100
#: Matches are counted up to this many, and only this many can be paged through.
RESULT_CAP = 1000
#: The backend of each database vendor, by dotted path like Django's own database backends: the
#: PostgreSQL one imports ``django.contrib.postgres.search``, which needs a PostgreSQL driver on Django 6.
BACKENDS = {
    "sqlite": "healthlib.search.sqlite.SqliteBackend",
    "postgresql": "healthlib.search.postgres.PostgresBackend",
}
WORD = re.compile(r"[^\W_]+")


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


def backend() -> type[Backend]:
    """The search backend of the database in use."""
    if connection.vendor not in BACKENDS:  # pragma: no cover
        raise NotImplementedError(f"healthlib search supports SQLite and PostgreSQL, not {connection.vendor}")
    return import_string(BACKENDS[connection.vendor])


def query_terms(query: str) -> list[str]:
    """The words of a reader's query: letters and digits only, at most MAX_TERMS of them."""
    words = WORD.findall(query or "")
    return [word[:MAX_TERM_LENGTH] for word in words[:MAX_TERMS]]


def exact_name(query: str) -> str:
    """The query as compared with titles for an exact match (the database lowers both): single spaces."""
    return clean_text(query)


def search(query: str, *, limit: int = 20, offset: int = 0) -> SearchResults:
    """Published articles and glossary terms matching every word of ``query`` (the last as a prefix), best first.

    See :mod:`healthlib.search` for the order. At most RESULT_CAP matches are counted and paged.
    """
    terms = query_terms(query)
    offset = max(0, int(offset))
    limit = max(0, min(int(limit), MAX_LIMIT, RESULT_CAP - offset))
    if not terms:
        return SearchResults(total=0, hits=[])
    with backend()(terms, exact_name(query)) as engine:
        total, names, exact = engine.counts(RESULT_CAP + 1)
        if not total or not limit:
            return SearchResults(total=min(total, RESULT_CAP), hits=[], capped=total > RESULT_CAP)
        # The page is a slice of the tiers one after the other; each tier is ordered on its own.
        slices = []
        for size in (exact, names - exact):
            start = min(offset, size)
            take = min(limit, size - start)
            slices += [take, start]
            offset, limit = offset - start, limit - take
        page = engine.page(*slices, limit, offset, short_first=names <= RESULT_CAP)
        rows = _rows([item_id for item_id, _ in page]) if page else {}
    highlight = highlighter(terms)
    hits = []
    for item_id, rank in page:
        if item_id in rows:  # unindexed between the two queries
            kind, title, url, text = rows[item_id]
            snippet = snippet_html(make_snippet(text, highlight))
            hits.append(Hit(kind=kind, title=title, url=url, snippet_html=snippet, rank=float(rank)))
    return SearchResults(total=min(total, RESULT_CAP), hits=hits, capped=total > RESULT_CAP)


def _rows(ids: list[int]) -> dict:
    rows = SearchEntry.objects.filter(item_id__in=ids).values_list("item_id", "kind", "title", "url", "body_text")
    return {item_id: rest for item_id, *rest in rows}


def articles_with_phrases(phrases: list[str]) -> set[int]:
    """Ids of indexed live articles whose title or text holds one of ``phrases`` (its words in order).

    Through the full-text indexes, not a scan of every body: how the glossary finds the articles that
    may start using a term. The engines' tokenizers (FTS5 ``unicode61``, PostgreSQL's ``english``
    parser, which also stems) split at least where the glossary linker's whole-word matching does, so
    the result holds every article the linker can link the phrase in (and perhaps a few more).
    """
    # Words are letters and digits only, so they need no quoting beyond the phrase's own quotes.
    words = list(dict.fromkeys(" ".join(found) for phrase in phrases if (found := WORD.findall(phrase))))
    if not words:
        return set()
    return backend().articles_with_phrases(words)
