"""healthlib's background tasks, on Django's Tasks API.

``django.tasks`` where Django provides it (Django 6), the ``django-tasks`` backport on Django 5.2:
the import below is the only place that knows the difference. Which backend runs the tasks is the
site's ``TASKS`` setting: the default immediate backend runs them right after the commit, in the
same process (``make run``, tests); a real site configures a database backend and runs its worker
(see the README), so an editor's request returns before the work is done.

Tasks carry no state of their own: what must be done is recorded in the database in the transaction
of the change (:mod:`healthlib.derived_work`), and every task run does everything pending. A task
that a backend lost, or a worker killed in the middle, is therefore finished by the next run: the
next task, or ``manage.py healthlib_relink``. The place for later background work (workflow emails,
scheduled publishing, purges of an HTTP cache) is this module too.
"""

from __future__ import annotations

import datetime
import logging

from django.utils import timezone

try:
    from django.tasks import task
except ImportError:  # Django 5.2: the backport
    from django_tasks import task

from healthlib import derived_work, link_checks, purge

logger = logging.getLogger(__name__)

#: Longest wait before a failed run is tried again (the wait doubles per failed attempt up to this).
MAX_RETRY_DELAY = datetime.timedelta(hours=1)


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
    delay = min(datetime.timedelta(seconds=30 * 2 ** min(attempts, 10)), MAX_RETRY_DELAY)
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


def connect() -> None:
    derived_work.recorded.connect(enqueue, dispatch_uid="healthlib.tasks.derived_work")
    purge.recorded.connect(enqueue_purges, dispatch_uid="healthlib.tasks.purge")
