"""Search on SQLite: FTS5 tables kept in step with the entries by triggers (migrations 0004 and 0008).

Hand-written SQL: Django has no expressions for FTS5's ``MATCH``.
"""

from __future__ import annotations

from django.db import connection

from healthlib.search.backend import EXACT_NAME, NAME, TEXT, Backend


class SqliteBackend(Backend):
    """The three capped counts in one statement, the page's ids and tiers in another."""

    # Exact titles: the index on lower(title), each checked against the names table by rowid (CROSS
    # JOIN fixes that order; by itself SQLite would walk every name match to sort by item_id).
    EXACT = """SELECT e.item_id FROM healthlib_searchentry e
               CROSS JOIN healthlib_searchentry_names n ON n.rowid = e.item_id
               WHERE lower(e.title) = lower(%s) AND healthlib_searchentry_names MATCH %s"""

    def __init__(self, terms: list[str], exact: str) -> None:
        super().__init__(terms, exact)
        # Each word in double quotes (words never contain quotes), implicit AND, prefix on the last.
        quoted = [f'"{term}"' for term in terms]
        quoted[-1] += "*"
        self.match = " ".join(quoted)

    def __enter__(self) -> SqliteBackend:
        self.cursor = connection.cursor().__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.cursor.__exit__(*exc)

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

    def page(self, *slices: int, short_first: bool) -> list[tuple[int, float]]:
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

    @classmethod
    def articles_with_phrases(cls, phrases: list[str]) -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT e.item_id FROM healthlib_searchentry_fts f CROSS JOIN healthlib_searchentry e "
                "ON e.item_id = f.rowid WHERE healthlib_searchentry_fts MATCH %s AND e.kind = 'article'",
                [" OR ".join(f'"{phrase}"' for phrase in phrases)],
            )
            return {row[0] for row in cursor.fetchall()}

    @classmethod
    def rebuild(cls) -> None:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO healthlib_searchentry_fts(healthlib_searchentry_fts) VALUES ('rebuild')")
