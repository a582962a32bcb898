"""Search on PostgreSQL: ``django.contrib.postgres.search`` over the columns and indexes of migrations
0004 (``search_vector``, a generated, weighted ``tsvector`` with a GIN index) and 0008 (a GIN index on
the names' ``tsvector``).

What it does not use, and why: ``SearchVector`` wraps its text in ``COALESCE``, so an expression built
with it is not the expression of the names index, which the planner then cannot use (:class:`NamesVector`
repeats the index's expression instead); ``SearchRank`` would rank every match (see :mod:`healthlib.search`);
``SearchHeadline`` tokenizes each hit's whole text (see :func:`~healthlib.search.make_snippet`).
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connection, transaction
from django.db.models import BooleanField, F, FloatField, Func, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length, Lower, Replace

from healthlib.models import Kind, SearchEntry
from healthlib.search.backend import EXACT_NAME, NAME, TEXT, Backend

PG_CONFIG = "english"
#: The generated column of migration 0004 (not a model field: the model is the same on SQLite).
TEXT_VECTOR = RawSQL("search_vector", [], output_field=SearchVectorField())


class NamesVector(Func):
    """The names of an entry as migration 0008 indexes them; queries repeat this expression exactly
    so that the planner uses that index."""

    template = "to_tsvector('english'::regconfig, %(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = SearchVectorField()

    def __init__(self) -> None:
        super().__init__(F("title"), F("aliases"))


class PostgresBackend(Backend):
    """Two statements (the counts, the page), in one transaction that keeps the planner on the GIN indexes."""

    def __init__(self, terms: list[str], exact: str) -> None:
        super().__init__(terms, exact)
        # to_tsquery syntax, each word single-quoted (words never contain quotes or backslashes).
        quoted = [f"'{term}'" for term in terms]
        quoted[-1] += ":*"
        query = SearchQuery(" & ".join(quoted), search_type="raw", config=PG_CONFIG)
        entries = SearchEntry.objects.alias(text=TEXT_VECTOR, names=NamesVector(), lower_title=Lower("title"))
        self.text = entries.filter(text=query)
        self.names = entries.filter(names=query)
        self.exact_names = self.names.filter(lower_title=Lower(Value(exact)))

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
        # One round trip: the three capped counts as scalar subqueries (the ORM has no SELECT without FROM).
        parts, params = [], []
        for matches in (self.text, self.names, self.exact_names):
            sql, sql_params = matches.values("pk")[:cap].query.get_compiler(connection=connection).as_sql()
            parts.append(f"(SELECT count(*) FROM ({sql}) AS capped)")
            params += sql_params
        self.cursor.execute(f"SELECT {', '.join(parts)}", params)
        return self.cursor.fetchone()

    def page(self, *slices: int, short_first: bool) -> list[tuple[int, float]]:
        # The query is a constant in each clause (not a CTE or a join) so that the planner sees how
        # many rows match: for a common word it walks the primary key backwards and stops after the
        # page, for a rare one it collects the few matches from the GIN index and sorts them.
        # "+ 0" keeps the planner off a backward walk of the primary key computing every title's
        # tsvector on the way (it underrates to_tsvector): the GIN index and a top-N sort cost less
        # unless nearly every title matches.
        words = Length("title") - Length(Replace("title", Value(" ")))
        names_order = (words, F("item_id").desc()) if short_first else ((F("item_id") + 0).desc(),)
        tiers = [
            (self.exact_names.order_by("-item_id"), EXACT_NAME),
            (self.names.exclude(lower_title=Lower(Value(self.exact))).order_by(*names_order), NAME),
            (self.text.exclude(item_id__in=self.names.values("item_id")).order_by("-item_id"), TEXT),
        ]
        pages: list[QuerySet] = []
        for (matches, rank), take, skip in zip(tiers, slices[0::2], slices[1::2], strict=True):
            rows = matches.annotate(rank=Value(rank, FloatField())).values_list("item_id", "rank")
            pages.append(rows[skip : skip + take])
        return list(pages[0].union(*pages[1:], all=True))

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
