"""Derived work after a committed change: re-link the articles of a glossary term that was published
or archived, store again the pages of a renamed topic's articles, then retire cached reader pages.

Durable and idempotent (DESIGN.md invariant 8):

- ``record_*`` run inside the transaction of the change and write :class:`~healthlib.models.DerivedWork`
  rows, so the work is committed together with the change or not at all;
- :func:`run_pending` does every pending row, whoever asks (the task of :mod:`healthlib.tasks`, a
  later task, ``manage.py healthlib_relink``). The pages of a chunk of articles are derived from one
  read (re-rendered from their live revisions, linked, page templates rendered), then each article's
  page is replaced whole and its rows deleted in one transaction under the article's row lock, if
  the article did not change since the read (else it is derived again under the lock): a process
  killed at any point leaves either the old page with its rows or the new page without them, never
  a page that mixes states, and the next run carries on where this one stopped;
- a purge row is deleted only after the cached pages were retired, and that happens after the pages
  it waits for are stored (and after commit, unlike the cache's own receivers, which a reader's
  request can race before the commit).

A row that fails keeps its error and a count of attempts (shown in the admin) and is tried again by
the next run.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F, Min, Q
from django.db.models.signals import post_save, pre_delete, pre_save
from django.dispatch import Signal

from healthlib import glossary_linker, publishing, purge
from healthlib.glossary_automaton import name_variants
from healthlib.models import Article, DerivedWork, GlossaryTerm, TermMention, Topic, WorkAction
from healthlib.search import articles_with_phrases

logger = logging.getLogger(__name__)

#: Sent once the transaction that recorded derived work has committed (``sender``: DerivedWork);
#: :mod:`healthlib.tasks` enqueues the task that does it.
recorded = Signal()
PAGE_ACTIONS = (WorkAction.RELINK_ARTICLE, WorkAction.STORE_PAGE)
#: Rows done between two purges (readers get the new pages while a long re-link runs).
CHUNK = 200


def _announce() -> None:
    # After commit: a receiver that fails must not turn the committed change into an error page.
    for receiver, result in recorded.send_robust(sender=DerivedWork):
        if isinstance(result, Exception):
            logger.error("healthlib derived-work receiver %r failed", receiver, exc_info=result)


# ---------------------------------------------------------------- recording (inside the change's transaction)


def record_term_change(term: GlossaryTerm) -> None:
    """A glossary term was published or archived: its articles must be re-linked."""
    # Until this commits, no article is published against the glossary as it was (see lock_glossary).
    glossary_linker.lock_glossary(exclusive=True)
    DerivedWork.objects.create(action=WorkAction.RELINK_TERM, item=term)
    transaction.on_commit(_announce)


def record_page_work(article_ids, *, action: str = WorkAction.STORE_PAGE, announce: bool = True) -> None:
    """Store (or re-link) these articles' pages, then retire the cached pages (also with no article:
    a renamed topic changes its own page and the listings)."""
    rows = [DerivedWork(action=action, item_id=article_id) for article_id in sorted(set(article_ids))]
    # The purge row comes last: it is due once no page row recorded before it is pending.
    DerivedWork.objects.bulk_create([*rows, DerivedWork(action=WorkAction.PURGE)])
    if announce:
        transaction.on_commit(_announce)


def _topic_saving(sender, instance, **kwargs) -> None:
    old = sender.objects.filter(pk=instance.pk).values_list("name", "slug").first() if instance.pk else None
    instance._healthlib_shown_before = old


def _topic_saved(sender, instance, created, **kwargs) -> None:
    """A renamed topic changes the breadcrumbs and metadata of its articles' stored pages; any topic
    change (a new topic, a new description) changes the topic's page and the listings, so cached pages
    are retired in every case, after commit (issue 17, finding 7: retired inside the admin's
    transaction, a reader's request before the commit cached the old name again)."""
    renamed = not created and getattr(instance, "_healthlib_shown_before", None) != (instance.name, instance.slug)
    articles = instance.articles.filter(live_revision__isnull=False) if renamed else instance.articles.none()
    record_page_work(articles.values_list("pk", flat=True))


def _topic_deleting(sender, instance, **kwargs) -> None:
    record_page_work(instance.articles.filter(live_revision__isnull=False).values_list("pk", flat=True))


def connect() -> None:
    """Record the work of topic changes (called from apps.ready; terms are recorded by the workflow)."""
    pre_save.connect(_topic_saving, sender=Topic, dispatch_uid="healthlib.derived_work.topic_saving")
    post_save.connect(_topic_saved, sender=Topic, dispatch_uid="healthlib.derived_work.topic_saved")
    pre_delete.connect(_topic_deleting, sender=Topic, dispatch_uid="healthlib.derived_work.topic_deleting")


# ---------------------------------------------------------------- doing it


@dataclass
class Outcome:
    #: Articles whose page was re-linked or stored again (changed or not).
    pages: int = 0
    #: Whether cached pages were retired.
    purged: bool = False
    #: Ids of the rows that failed (kept, with their error, for the next run).
    failed: list[int] = field(default_factory=list)


def pending():
    """Every row still to do (the admin's list)."""
    return DerivedWork.objects.all()


def _failed(rows, error: BaseException) -> list[int]:
    logger.error("healthlib derived work failed for %r", rows, exc_info=error)
    text = "".join(traceback.format_exception_only(type(error), error)).strip()[:2000]
    rows.update(attempts=F("attempts") + 1, last_error=text)
    return list(rows.values_list("pk", flat=True))


def _expand(row_id: int, term_id: int) -> None:
    """Turn one term row into a page row per affected article and a purge row, in one transaction."""
    with transaction.atomic():
        # Deleting first serializes two workers on the row: the second deletes nothing and stops.
        if not DerivedWork.objects.filter(pk=row_id).delete()[0]:
            return
        term = GlossaryTerm.objects.get(pk=term_id)
        # Not announced: the run that expands the row goes on to do its pages.
        ids = affected_article_ids(term)
        record_page_work(ids, action=WorkAction.RELINK_ARTICLE, announce=False)


def affected_article_ids(term: GlossaryTerm) -> set[int]:
    """Live articles whose page a change of ``term`` (published, renamed, archived) may change: those
    that link it now (the term-mention index) and, when it is live, those whose text holds one of its
    names (the search index). Both are index look-ups, never a scan of every body."""
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


def _run_article(
    article_id: int, row_ids: list[int], derived: publishing.DerivedPage | None, *, relink: bool, glossary
) -> bool:
    """Do the page rows ``row_ids`` of one article in one transaction. False when another run did.

    ``derived`` was read with the rest of the chunk, before the lock: it is stored only if the
    article is unchanged since, else derived again under the lock (:func:`publishing.store_page`).
    ``glossary`` was read after the rows, so it holds every term change they stand for; a row
    recorded since is left for the next round, which reads the glossary again.
    """
    with transaction.atomic():
        version = publishing.lock_article(article_id)
        # Deleting first serializes two runs on the rows as well; a kill rolls it back with the page.
        if not DerivedWork.objects.filter(pk__in=row_ids).delete()[0]:
            return False
        publishing.store_page(article_id, version, derived, relink=relink, glossary=glossary)
    return True


def _purge() -> None:
    # Nothing is left to retire here: healthlib's page cache retires each article's pages as its stored
    # page commits (healthlib.purge.record_links), and a term's or topic's own pages as that change commits.
    pass


def run_pending() -> Outcome:
    """Do all pending derived work, oldest first, until none is left; work recorded meanwhile is done too."""
    # The edge is purged of the pages stored here (newly linked terms, healthlib.purge) only after the
    # page cache is retired: a reader's request in between would hand the edge the old page to keep.
    with purge.holding():
        return _run_pending()


def _run_pending() -> Outcome:
    outcome = Outcome()
    failed: set[int] = set()  # rows that failed in this run: left for the next one
    while True:
        terms = DerivedWork.objects.filter(action=WorkAction.RELINK_TERM).exclude(pk__in=failed)
        for row_id, term_id in terms.values_list("pk", "item_id"):
            try:
                _expand(row_id, term_id)
            except Exception as error:
                failed.update(_failed(DerivedWork.objects.filter(pk=row_id), error))
        rows = list(
            DerivedWork.objects.filter(action__in=PAGE_ACTIONS)
            .exclude(pk__in=failed)
            .order_by("item_id", "pk")
            .values_list("pk", "item_id", "action")[:CHUNK]
        )
        if not rows:
            break
        # Once per round, not per article (at 10,000 terms its version query is not free); read after
        # the rows, see _run_article.
        glossary = glossary_linker.get_glossary()
        by_article: dict[int, list[int]] = {}
        relink: set[int] = set()
        for row_id, article_id, action in rows:
            by_article.setdefault(article_id, []).append(row_id)
            if action == WorkAction.RELINK_ARTICLE:
                relink.add(article_id)
        # The chunk's pages from one read (a few queries), outside the row locks; each is stored
        # under its own lock, in its own transaction, if its article did not change meanwhile.
        derived = publishing.derive_pages(list(by_article), relink=relink, glossary=glossary)
        for article_id, row_ids in by_article.items():
            try:
                outcome.pages += _run_article(
                    article_id, row_ids, derived.get(article_id), relink=article_id in relink, glossary=glossary
                )
            except Exception as error:
                failed.update(_failed(DerivedWork.objects.filter(pk__in=row_ids), error))
        _purge()  # readers get the new pages while a long re-link runs
        outcome.purged = True
    # A purge row is due once every row recorded before it is done, or failed in this run (such a page
    # still shows its old, consistent state; the run that finally stores it purges again).
    first_open = DerivedWork.objects.exclude(action=WorkAction.PURGE).exclude(pk__in=failed).aggregate(Min("pk"))
    due = DerivedWork.objects.filter(action=WorkAction.PURGE)
    if first_open["pk__min"] is not None:
        due = due.filter(pk__lt=first_open["pk__min"])
    due_ids = list(due.values_list("pk", flat=True))
    if due_ids:
        _purge()
        outcome.purged = True
        DerivedWork.objects.filter(pk__in=due_ids).delete()
    outcome.failed = sorted(failed)
    return outcome
