"""Search on PostgreSQL over the columns and indexes of migrations 0004 (``search_vector``, a generated,
weighted ``tsvector`` with a GIN index) and 0008 (a GIN index on the names' ``tsvector``).

A reader's search is two hand-written statements. The same queries through the ORM and
``django.contrib.postgres.search`` (``SearchQuery`` and a ``Func`` repeating the names index's
expression; ``SearchVector`` wraps its text in ``COALESCE``, which the index does not) give the same
plans, but building and compiling their six querysets costs about 15 ms of CPU per search on the
2-core development machine, where the whole search took 1 to 30 ms (docs/benchmarks.md). What is not
a reader's request (:meth:`PostgresBackend.articles_with_phrases`, run when a term is published) uses
``SearchQuery``. ``SearchRank`` would rank every match (see :mod:`healthlib.search`); ``SearchHeadline``
tokenizes each hit's whole text (see :func:`~healthlib.search.make_snippet`).
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connection, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from healthlib.models import Kind, SearchEntry
from healthlib.search.backend import EXACT_NAME, NAME, TEXT, Backend

PG_CONFIG = "english"
#: The names of an entry as PostgreSQL indexes them; queries repeat this expression exactly so that
#: the planner uses the index of migration 0008.
PG_NAMES_VECTOR = "to_tsvector('english'::regconfig, title || ' ' || aliases)"
#: The generated column of migration 0004 (not a model field: the model is the same on SQLite).
TEXT_VECTOR = RawSQL("search_vector", [], output_field=SearchVectorField())


class PostgresBackend(Backend):
    """The same two statements as on SQLite, in one transaction that keeps the planner on the GIN indexes."""

    def __init__(self, terms: list[str], exact: str) -> None:
        super().__init__(terms, exact)
        # to_tsquery syntax, each word single-quoted (words never contain quotes or backslashes).
        quoted = [f"'{term}'" for term in terms]
        quoted[-1] += ":*"
        self.query = "to_tsquery(%s::regconfig, %s)"
        self.params = [PG_CONFIG, " & ".join(quoted)]

    def __enter__(self) -> PostgresBackend:
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

    def page(self, *slices: int, short_first: bool) -> list[tuple[int, float]]:
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

    @classmethod
    def articles_with_phrases(cls, phrases: list[str]) -> set[int]:
        # A phrase of stop words only ("a", "it") is an empty tsquery, which matches nothing: those
        # (rare) names are looked for in the text itself.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT p, numnode(phraseto_tsquery(%s::regconfig, p)) FROM unnest(%s::text[]) AS p",
                [PG_CONFIG, phrases],
            )
            stop_words_only = {phrase for phrase, nodes in cursor.fetchall() if not nodes}
        condition = Q()
        for phrase in phrases:
            if phrase in stop_words_only:
                pattern = "%" + phrase.replace(" ", "%") + "%"
                condition |= Q(RawSQL("body_text ILIKE %s", [pattern], output_field=BooleanField()))
            else:
                condition |= Q(text=SearchQuery(phrase, search_type="phrase", config=PG_CONFIG))
        matches = SearchEntry.objects.alias(text=TEXT_VECTOR).filter(condition, kind=Kind.ARTICLE)
        return set(matches.values_list("item_id", flat=True))
