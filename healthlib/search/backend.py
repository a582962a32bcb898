"""The interface each search engine implements; :mod:`healthlib.search.query` holds the policy."""

from __future__ import annotations

from abc import ABC, abstractmethod

#: Hit.rank of each tier (see :mod:`healthlib.search`): the title is the query, a name holds every
#: word, only the text does.
EXACT_NAME, NAME, TEXT = 3.0, 2.0, 1.0


class Backend(ABC):
    """One database's way to find matches, used as a context manager around one search.

    ``terms`` are the reader's words (letters and digits only: safe to quote), the last one matched
    as a prefix; ``exact`` is the query as compared with titles (see :func:`~healthlib.search.exact_name`).
    """

    def __init__(self, terms: list[str], exact: str) -> None:
        self.terms = terms
        self.exact = exact

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc) -> None:
        return None

    @abstractmethod
    def counts(self, cap: int) -> tuple[int, int, int]:
        """Entries matching in their text, in their names, and exact titles, each counted up to ``cap``."""

    @abstractmethod
    def page(self, *slices: int, short_first: bool) -> list[tuple[int, float]]:
        """(item id, tier) of one page: (limit, offset) of exact titles, of names, of text matches.

        Exact titles and text matches newest first; names shortest first (in words) then newest
        when ``short_first``, else newest first.
        """

    @classmethod
    @abstractmethod
    def articles_with_phrases(cls, phrases: list[str]) -> set[int]:
        """Ids of indexed articles whose title or text holds one of ``phrases`` (space-separated words)."""

    @classmethod
    def rebuild(cls) -> None:
        """Bring the engine's own structures up to date after the entries were rewritten in bulk."""
        return None
