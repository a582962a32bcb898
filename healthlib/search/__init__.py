"""Search of published articles and glossary terms: one small interface over two engines.

- SQLite (:mod:`~healthlib.search.sqlite`): FTS5 tables over :class:`~healthlib.models.SearchEntry`: one
  external-content table of the title and text, and a small one of the names (title and aliases);
- PostgreSQL (:mod:`~healthlib.search.postgres`): a weighted ``tsvector`` column (title A, text B) with a
  GIN index, and a GIN index on the ``tsvector`` of the names.

Both are a :class:`~healthlib.search.backend.Backend`; :mod:`~healthlib.search.query` asks the one of
the database in use for capped counts and a page of ids, and applies the ranking policy, the same on
both databases, so readers get the same order whichever runs the site:

1. entries whose title *is* the query (ignoring case and extra spaces);
2. the other entries whose title or aliases hold every word of the query: shorter titles first, then
   newer entries; when more than :data:`RESULT_CAP` names match, newer entries first;
3. entries that hold every word only in their text: newer entries first.

"Newer" is the higher id (the item was created later). Exact titles come from an index on the lower-
cased title; ids are read in index order (FTS5 rowids, PostgreSQL's primary key) or the matching
names sorted by id; below the cap at most RESULT_CAP short names are sorted by length. The long
texts are never ranked as a whole (no bm25, no ``SearchRank``), because a common word matches nearly
every article and ranking them all (bm25 / ts_rank_cd over 89,000 long texts) took 0.5 to 1.6 s at
100,000 articles. Counting stops at RESULT_CAP: readers see "More than 1,000 results" and can page
through the first 1,000. Every tier's order is total and the tiers do not overlap, so pages never
repeat or skip a hit.

Only live content is indexed (:mod:`~healthlib.search.index`): :func:`index_item` runs in the transaction
that publishes or archives an item (so the entry commits with the live copy, and a glossary term's
re-link right after finds every article committed before it) and indexes the reader-facing copy,
never a draft; an archived item's entry is removed.

The query a reader types is never handed to either engine's query language: it is split into words
(letters and digits, any script) and each word is quoted, so no input can cause a syntax error.
Snippets (:mod:`~healthlib.search.snippets`) are cut from the plain text of the page's hits, the
query's words wrapped in sentinel characters, then HTML-escaped before the sentinels become ``<mark>``.
"""

from healthlib.search.backend import EXACT_NAME, NAME, TEXT
from healthlib.search.index import entry_fields, index_item, reindex, unindex_item
from healthlib.search.query import (
    MAX_LIMIT,
    MAX_TERM_LENGTH,
    MAX_TERMS,
    RESULT_CAP,
    Hit,
    SearchResults,
    articles_with_phrases,
    exact_name,
    query_terms,
    search,
)
from healthlib.search.snippets import SNIPPET_LEAD, SNIPPET_WORDS, START, STOP, highlighter, make_snippet, snippet_html

__all__ = [
    "EXACT_NAME",
    "MAX_LIMIT",
    "MAX_TERM_LENGTH",
    "MAX_TERMS",
    "NAME",
    "RESULT_CAP",
    "SNIPPET_LEAD",
    "SNIPPET_WORDS",
    "START",
    "STOP",
    "TEXT",
    "Hit",
    "SearchResults",
    "articles_with_phrases",
    "entry_fields",
    "exact_name",
    "highlighter",
    "index_item",
    "make_snippet",
    "query_terms",
    "reindex",
    "search",
    "snippet_html",
    "unindex_item",
]
