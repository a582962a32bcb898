"""healthlib's background tasks, on Django's Tasks API.

``django.tasks`` where Django provides it (Django 6), the ``django-tasks`` backport on Django 5.2:
the import below is the only place that knows the difference. Which backend runs the tasks is the
site's ``TASKS`` setting: the default immediate backend runs them right after the commit, in the
same process (``make run``, tests); a real site configures a database backend and runs its worker
(see the README), so an editor's request returns before the work is done.

Tasks carry no state of their own: what must be done is recorded in the database in the transaction
of the change (:mod:`healthlib.derived_work`), and every task run does everything pending. A task
that a backend lost, or a worker killed in the middle, is therefore finished by the next run: the
next task, or ``manage.py healthlib_relink``. Workflow emails (:mod:`healthlib.notifications`) and
purges of an HTTP cache (:mod:`healthlib.purge`) follow the same pattern.

Scheduled publishing and review-due reminders are periodic: cron is their clock, and each cron
command hands the run to the worker with ``--enqueue`` (``healthlib_publish_scheduled --enqueue``,
``healthlib_review_due --enqueue``). A task that re-enqueued itself would be a chain that a killed
worker breaks and a second enqueue doubles; a cron tick that is missed or doubled costs nothing,
since each run does whatever is due and is idempotent (an item is published once, a person is
reminded once a day). Where the backend can defer, scheduling an item also enqueues a run for its
go-live time, so it goes live on time rather than at the next tick.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone

try:
    from django.tasks import task
except ImportError:  # Django 5.2: the backport
    from django_tasks import task

from healthlib import derived_work, link_checks, notifications, purge, review_due, scheduling
from healthlib.conf import retry_delay
from healthlib.models import WorkflowEvent

logger = logging.getLogger(__name__)


class DerivedWorkFailed(Exception):
    """Some derived work failed; its rows keep the error and are tried again (this marks the task failed)."""


@task()
def run_derived_work() -> dict[str, int]:
    """Re-link and store the pages of every pending change, then retire cached pages."""
    outcome = derived_work.run_pending()
    # Purges that waited for these pages (a term's mentions, a renamed topic's articles) are due now
    # (failed pages do not hold them back: such a page still shows its old, consistent state).
    enqueue_purges()
    if outcome.failed:
        _retry_later()
        raise DerivedWorkFailed(f"{len(outcome.failed)} derived work row(s) failed: {outcome.failed[:20]}")
    return {"pages": outcome.pages, "purged": int(outcome.purged)}


def _retry_later() -> None:
    backend = run_derived_work.get_backend()
    if not backend.supports_defer:
        return  # the next change's task, or healthlib_relink, tries again
    attempts = max(derived_work.pending().values_list("attempts", flat=True), default=1)
    delay = retry_delay(attempts)
    run_derived_work.using(run_after=timezone.now() + delay).enqueue()


@task()
def check_reference_links() -> dict[str, int]:
    """Check every live reference URL and keep the results, as ``manage.py healthlib_check_links`` does.

    For a worker's schedule (a real site enqueues it weekly, e.g. ``healthlib_check_links --enqueue``
    from cron), so no web request or cron job waits on slow servers.
    """
    rows = link_checks.check_all()
    return {"checked": len(rows), "broken": sum(1 for row in rows if row.broken)}


def enqueue(**kwargs) -> None:
    """Hand the pending derived work to the task backend (a receiver of ``derived_work.recorded``).

    A backend that refuses is logged, never raised: the change has committed and its work is
    recorded, so the next run does it.
    """
    try:
        run_derived_work.enqueue()
    except Exception:
        logger.exception("healthlib could not enqueue its derived work; it stays pending")


class PurgesFailed(Exception):
    """Some purges were not accepted; their rows keep the error and are tried again (this marks the task failed)."""


@task()
def send_purges() -> dict[str, int]:
    """Send the pending purges of the HTTP cache in front (:mod:`healthlib.purge`)."""
    outcome = purge.send_pending()
    if outcome.next_due is not None and send_purges.get_backend().supports_defer:
        send_purges.using(run_after=outcome.next_due).enqueue()
    if outcome.failed:
        raise PurgesFailed(f"{len(outcome.failed)} purge(s) failed and wait for a retry: {outcome.failed[:20]}")
    return outcome.sent


def enqueue_purges(**kwargs) -> None:
    """Hand the pending purges to the task backend (a receiver of ``purge.recorded``); logged, never raised."""
    if not purge.pending().exists():
        return
    try:
        send_purges.enqueue()
    except Exception:
        logger.exception("healthlib could not enqueue its purges; they stay pending")


class EmailsFailed(Exception):
    """Some emails were not accepted by the mail server; their rows keep the error and are tried again."""


@task()
def send_emails() -> dict[str, int]:
    """Send the pending workflow emails, reports and reminders (:mod:`healthlib.notifications`)."""
    outcome = notifications.send_pending()
    _defer_emails(outcome)
    if outcome.failed:
        raise EmailsFailed(f"{len(outcome.failed)} email(s) failed and wait for a retry: {outcome.errors[:5]}")
    return {"sent": len(outcome.sent)}


def enqueue_emails(**kwargs) -> None:
    """Hand the pending emails to the task backend (a receiver of ``notifications.recorded``); logged, never raised."""
    try:
        send_emails.enqueue()
    except Exception:
        logger.exception("healthlib could not enqueue its emails; they stay pending")


class ScheduledItemsSkipped(Exception):
    """Some items due to go live could not be published (they stay scheduled; an editor must act)."""


@task()
def publish_scheduled() -> dict[str, list[int]]:
    """Publish every approved item whose go-live time has passed (:func:`healthlib.scheduling.publish_due`).

    Idempotent: each item is published in its own transaction, so a run killed mid-way leaves the
    items it published live and the others scheduled, and the next run publishes those.
    """
    result = scheduling.publish_due()
    if result.skipped:
        reasons = [f"{item.pk}: {reason}" for item, reason in result.skipped]
        raise ScheduledItemsSkipped(f"{len(reasons)} scheduled item(s) not published: {reasons[:20]}")
    return {"published": [item.pk for item in result]}


@task()
def send_review_reminders(soon_days: int = 30) -> dict[str, int]:
    """Email each responsible person their overdue and soon-due items, once a day
    (:func:`healthlib.review_due.send_reminders`; ``healthlib_review_due --email`` does the same)."""
    recorded, outcome = review_due.send_reminders(review_due.report(soon_days=soon_days))
    if outcome.failed:
        _defer_emails(outcome)
        raise EmailsFailed(f"{len(outcome.failed)} reminder(s) failed and wait for a retry: {outcome.errors[:5]}")
    return {"recorded": len(recorded), "sent": len(outcome.sent)}


def _defer_emails(outcome: notifications.Outcome) -> None:
    if outcome.next_due is not None and send_emails.get_backend().supports_defer:
        send_emails.using(run_after=outcome.next_due).enqueue()


def _scheduled(sender, instance: WorkflowEvent, created: bool, raw: bool = False, **kwargs) -> None:
    """An item was scheduled: where the backend can defer, a run at its go-live time (cron stays the net)."""
    if not created or raw or instance.action != "healthlib.schedule":
        return
    at = getattr(instance.item, "publish_at", None)
    if at is None or not publish_scheduled.get_backend().supports_defer:
        return

    def enqueue_at() -> None:
        try:
            publish_scheduled.using(run_after=at).enqueue()
        except Exception:
            logger.exception("healthlib could not enqueue the scheduled publication; cron publishes it")

    transaction.on_commit(enqueue_at)


def connect() -> None:
    derived_work.recorded.connect(enqueue, dispatch_uid="healthlib.tasks.derived_work")
    purge.recorded.connect(enqueue_purges, dispatch_uid="healthlib.tasks.purge")
    notifications.recorded.connect(enqueue_emails, dispatch_uid="healthlib.tasks.emails")
    post_save.connect(_scheduled, sender=WorkflowEvent, dispatch_uid="healthlib.tasks.scheduled")
