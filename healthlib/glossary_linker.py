"""The published glossary: its terms read from the database, built into one automaton
(:mod:`healthlib.glossary_automaton`) per glossary version and kept in-process, and the lock that
keeps an article's publish from missing a term published at the same moment.

Linked HTML is computed when an article is published (:func:`healthlib.publishing.set_live_content`)
and, after a glossary term is published or archived, by the derived work of
:mod:`healthlib.derived_work`, never per request.
"""

from __future__ import annotations

import threading

from django.db import connection
from django.db.models import Count, Max

from healthlib.glossary_automaton import Glossary, Linked, Term
from healthlib.glossary_automaton import strip_definitions as strip_definitions  # healthlib.search imports it here
from healthlib.models import ContentItem, GlossaryTerm, Kind

_lock = threading.Lock()
_cached: Glossary | None = None


def glossary_version() -> tuple:
    """A fingerprint of the published glossary: one cheap aggregate query.

    Publishing a term moves the newest ``last_published_at``; archiving one lowers the count. Keyed by
    this (rather than a counter in Django's cache bumped by signals) the in-process automaton is never
    stale, whatever the cache backend, in every process, and inside not-yet-committed transactions.
    """
    # On the parent table: no join with the glossary table.
    row = ContentItem.objects.filter(kind=Kind.GLOSSARY_TERM, live_revision__isnull=False).aggregate(
        n=Count("pk"), newest=Max("last_published_at"), top=Max("pk")
    )
    return (row["n"], row["newest"], row["top"])


def _load_terms() -> list[Term]:
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


def link_article_html(html: str, *, exclude_slug: str | None = None) -> Linked:
    """Link sanitized article (or definition) HTML against the published glossary (as committed once the
    shared glossary lock is held, see :func:`lock_glossary`)."""
    lock_glossary(exclusive=False)
    return get_glossary().link(html, exclude_slug=exclude_slug)
