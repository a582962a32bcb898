"""Purging the HTTP cache in front of the site (Varnish, a CDN) by cache tag, after each commit.

Durable like :mod:`healthlib.derived_work`: :func:`record` writes one
:class:`~healthlib.models.PurgeRequest` per configured backend and tag *inside* the transaction of
the change, so a purge is never lost between the commit and the request to the backend, and never
sent for a change that rolled back. After the commit the task :func:`healthlib.tasks.send_purges`
runs :func:`send_pending`: due rows are grouped per backend, their distinct tags sent in batches of
the backend's documented size, and the rows deleted once the backend accepted them. A batch that
fails keeps its rows, their error and a count of attempts, and is tried again after a backoff
(doubling from 30 seconds up to an hour, or the server's ``Retry-After``), by a deferred task where
the task backend can defer, else by the next run; the failure is logged and listed in the admin.
The transition that recorded the purge has committed by then and is never undone by it.

Rows recorded with ``after_page_work`` (a glossary term's mentions, a renamed topic's articles)
wait until no re-linking or re-storing of pages is pending (:mod:`healthlib.derived_work`), so the
edge fetches the new pages, not the old ones once more.

Which tags a change purges is decided in :mod:`healthlib.cache_tags`; the hooks here connect it to
the workflow (:func:`record_transition`), to term links (:func:`record_links`) and to topics.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import threading
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import Signal
from django.utils import timezone

from healthlib import cache as page_cache
from healthlib import cache_tags
from healthlib.conf import MAX_RETRY_DELAY, healthlib_settings, retry_delay
from healthlib.models import Article, DerivedWork, PurgeRequest, Topic, WorkAction
from healthlib.purge.backends import PurgeBackend, PurgeFailed, configured

logger = logging.getLogger(__name__)

#: Sent once the transaction that recorded purges has committed (``sender``: PurgeRequest);
#: :mod:`healthlib.tasks` enqueues the task that sends them.
recorded = Signal()
#: Page work that ``after_page_work`` rows wait for.
PAGE_WORK = (WorkAction.RELINK_TERM, WorkAction.RELINK_ARTICLE, WorkAction.STORE_PAGE)


# ---------------------------------------------------------------- recording (inside the change's transaction)


def record(tags: Iterable[str], *, after_page_work: bool = False) -> int:
    """Purge ``tags`` from every configured backend once the current transaction commits.

    Returns how many rows were written (none without backends: purging then costs nothing).
    """
    tags = list(dict.fromkeys(tags))
    aliases = list(configured())
    if not tags or not aliases:
        return 0
    PurgeRequest.objects.bulk_create(
        [PurgeRequest(backend=alias, tag=tag, after_page_work=after_page_work) for alias in aliases for tag in tags]
    )
    held = getattr(_holding, "recorded", None)
    if held is not None:
        held.append(True)
    else:
        transaction.on_commit(_announce)
    return len(tags) * len(aliases)


_holding = threading.local()


@contextlib.contextmanager
def holding() -> Iterator[None]:
    """Purges recorded inside are announced when it is left, not when they are recorded.

    After-commit callbacks run in the order they were registered. A workflow transition records
    purges (a newly linked term's, its own) before it queues the signal whose receivers retire
    healthlib's own cached pages; announced at once, the purge would reach the edge first, and a
    reader's request in between would hand the edge the old page to keep. The transition leaves
    this block after queueing its signal.
    """
    outer = getattr(_holding, "recorded", None)
    _holding.recorded = []
    try:
        yield
    finally:
        recorded, _holding.recorded = _holding.recorded, outer
    if recorded and outer is not None:
        outer.append(True)
    elif recorded:
        transaction.on_commit(_announce)


def record_change(tags: cache_tags.ChangeTags) -> None:
    record(tags)
    record(tags.later, after_page_work=True)


def _purging() -> bool:
    # Without backends the hooks cost nothing, not even the queries that name the tags.
    return bool(healthlib_settings.PURGE_BACKENDS)


def record_transition(item, action: str) -> None:
    """The workflow's hook: called in each transition's transaction, after the item is saved."""
    if _purging():
        record_change(cache_tags.for_transition(item, action))


def record_links(article, gained: Iterable[str]) -> None:
    """An article's live body now links terms it did not (called where the term-mention index is written)."""
    gained = list(gained)
    page_cache.page_stored(article, gained)  # healthlib's own page cache, with or without backends
    if gained and _purging():
        record_change(cache_tags.for_links(article.slug, gained))


def _announce() -> None:
    for receiver, result in recorded.send_robust(sender=PurgeRequest):
        if isinstance(result, Exception):
            logger.error("healthlib purge receiver %r failed", receiver, exc_info=result)


def _topics_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """An article's topics changed (``article.topics.set()``): the topics' pages list it or not."""
    if reverse or not _purging() or not getattr(instance, "is_live", False):
        return
    if action in ("pre_remove", "post_add") and pk_set:
        slugs = Topic.objects.filter(pk__in=pk_set).values_list("slug", flat=True)
    elif action == "pre_clear":
        slugs = instance.topics.values_list("slug", flat=True)
    else:
        return
    record_change(cache_tags.for_topics(list(slugs), later=False))


def _topic_saving(sender, instance, **kwargs) -> None:
    if not _purging():
        return
    old = sender.objects.filter(pk=instance.pk).values_list("slug", flat=True).first() if instance.pk else None
    instance._healthlib_purge_slug = old


def _topic_saved(sender, instance, **kwargs) -> None:
    # Its articles' pages are stored again (healthlib.derived_work): purge them after that.
    if not _purging():
        return
    slugs = {instance.slug, getattr(instance, "_healthlib_purge_slug", None) or instance.slug}
    record_change(cache_tags.for_topics(slugs, later=True))


def _topic_deleted(sender, instance, **kwargs) -> None:
    if not _purging():
        return
    record_change(cache_tags.for_topics([instance.slug], later=True))


def connect() -> None:
    """Record purges for topic changes (transitions and links call their hooks directly)."""
    m2m_changed.connect(_topics_changed, sender=Article.topics.through, dispatch_uid="healthlib.purge.topics")
    pre_save.connect(_topic_saving, sender=Topic, dispatch_uid="healthlib.purge.topic_saving")
    post_save.connect(_topic_saved, sender=Topic, dispatch_uid="healthlib.purge.topic_saved")
    post_delete.connect(_topic_deleted, sender=Topic, dispatch_uid="healthlib.purge.topic_deleted")


# ---------------------------------------------------------------- sending (after commit)


@dataclass
class Outcome:
    #: Tags each backend accepted.
    sent: dict[str, int] = field(default_factory=dict)
    #: Ids of rows that failed (kept, with their error and next attempt).
    failed: list[int] = field(default_factory=list)
    #: When the earliest row still waiting is due (for a deferred retry), or None.
    next_due: datetime.datetime | None = None


def pending():
    """Every purge not yet accepted (the admin's list)."""
    return PurgeRequest.objects.all()


def _delay(attempts: int, retry_after: float | None) -> datetime.timedelta:
    backoff = retry_delay(attempts)
    if retry_after is not None:
        return min(max(backoff, datetime.timedelta(seconds=retry_after)), MAX_RETRY_DELAY)
    return backoff


def _failed(alias: str, row_ids: list[int], error: BaseException, now: datetime.datetime) -> None:
    logger.error("healthlib could not purge %d tag(s) through %r", len(row_ids), alias, exc_info=error)
    text = "".join(traceback.format_exception_only(type(error), error)).strip()[:2000]
    attempts = max(PurgeRequest.objects.filter(pk__in=row_ids).values_list("attempts", flat=True), default=0)
    retry_after = getattr(error, "retry_after", None)
    PurgeRequest.objects.filter(pk__in=row_ids).update(
        attempts=F("attempts") + 1, last_error=text, next_attempt_at=now + _delay(attempts, retry_after)
    )


def _send(alias: str, backend: PurgeBackend, rows: list[tuple[int, str]], now, outcome: Outcome) -> None:
    by_tag: dict[str, list[int]] = {}
    for row_id, tag in rows:
        by_tag.setdefault(tag, []).append(row_id)
    tags = list(by_tag)
    for start in range(0, len(tags), backend.max_tags):
        batch = tags[start : start + backend.max_tags]
        ids = [row_id for tag in batch for row_id in by_tag[tag]]
        try:
            backend.purge(batch)
        except Exception as error:  # a backend's bug must not stop the others either
            if not isinstance(error, PurgeFailed):
                error = PurgeFailed(f"{type(error).__name__}: {error}")
            _failed(alias, ids, error, now)
            outcome.failed += ids
            continue
        # Only the rows read: a row recorded meanwhile for the same tag is sent by the next run.
        PurgeRequest.objects.filter(pk__in=ids).delete()
        outcome.sent[alias] = outcome.sent.get(alias, 0) + len(batch)


def send_pending(now: datetime.datetime | None = None) -> Outcome:
    """Send every due purge, per backend, in batches; see the module's docstring."""
    now = now or timezone.now()
    outcome = Outcome()
    backends = configured()
    due = PurgeRequest.objects.filter(backend__in=list(backends)).exclude(next_attempt_at__gt=now)
    if DerivedWork.objects.filter(action__in=PAGE_WORK, attempts=0).exists():
        due = due.filter(after_page_work=False)
    for alias, backend in backends.items():
        rows = list(due.filter(backend=alias).order_by("pk").values_list("pk", "tag"))
        if rows:
            _send(alias, backend, rows, now, outcome)
    waiting = PurgeRequest.objects.filter(backend__in=list(backends), next_attempt_at__gt=now)
    outcome.next_due = min(filter(None, waiting.values_list("next_attempt_at", flat=True)), default=None)
    return outcome
