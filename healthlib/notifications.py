"""Workflow emails, readers' reports and review-due reminders, through a durable outbox.

Durable like :mod:`healthlib.derived_work` and :mod:`healthlib.purge`:

- each email is rendered and recorded as an :class:`~healthlib.models.OutgoingEmail` row *inside*
  the transaction of its event (a transition's audit event is written, a reader's report is
  stored, a day's reminders are decided), so it is committed with the event, and never sent for a
  change that rolled back;
- after the commit the task :func:`healthlib.tasks.send_emails` runs :func:`send_pending`: each due
  row is sent in its own transaction and marked sent, so a run retried after a success, or a
  second worker, never sends it again; a row that fails keeps its error and count of attempts and
  is tried again after a backoff (30 seconds doubling, at most an hour), by a deferred task where
  the task backend can defer, else by the next run (``manage.py healthlib_send_emails``);
- the one edge is at-least-once: a process killed after the mail server accepted a message and
  before its row was marked sent sends that message again on the next run. Nothing can close it
  from this side (SMTP has no idempotency key); it is a duplicate, never a loss.

Templates live in ``healthlib/email/<name>_subject.txt`` and ``<name>_body.txt``; a site overrides
them like any other template. A failing mail server is logged and never undoes the transition.
"""

from __future__ import annotations

import datetime
import logging
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import F, Min
from django.db.models.signals import post_save
from django.dispatch import Signal
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from healthlib.conf import healthlib_settings, retry_delay
from healthlib.models import OutgoingEmail, Review, WorkflowEvent
from healthlib.roles import REVIEW, holders
from healthlib.workflow import contributors

logger = logging.getLogger(__name__)

#: Sent once the transaction that recorded emails has committed (``sender``: OutgoingEmail);
#: :mod:`healthlib.tasks` enqueues the task that sends them.
recorded = Signal()
#: Sent rows are kept this long (the admin's record of what went out), then deleted by the sender.
KEEP_SENT = datetime.timedelta(days=90)
#: The transitions that send an email, by audit action, and the template each uses.
TRANSITION_EMAILS = {
    "healthlib.submit": "submitted",
    "healthlib.request_changes": "changes_requested",
    "healthlib.approve": "approved",
    "healthlib.publish": "published",
}


def mail_connection() -> BaseEmailBackend:
    """A connection to the site's default mailer; every email healthlib sends goes through it.

    Django 6.1 configures mail as ``MAILERS`` and deprecates ``get_connection()`` (and the
    ``connection`` arguments of ``send_mail`` and ``EmailMessage``); Django 5.2 and 6.0 have only
    ``get_connection()``. ``mailers.default`` also honours a 6.1 site still on ``EMAIL_BACKEND``.
    """
    mailers = getattr(mail, "mailers", None)
    return mailers.default if mailers is not None else mail.get_connection()


def reviewers_for(item, exclude: set[int]) -> list[str]:
    """Emails of active medical reviewers (by permission) who may judge this revision."""
    users = holders(REVIEW, include_superusers=True).exclude(email="").exclude(pk__in=exclude)
    return sorted({user.email for user in users})


def authors_for(item, revision) -> list[str]:
    """Emails of the responsible editor and the revision's author."""
    emails = set()
    for user in (item.owner, revision.created_by if revision else None):
        if user is not None and user.is_active and user.email:
            emails.add(user.email)
    return sorted(emails)


# ---------------------------------------------------------------- recording (inside the event's transaction)


def render(name: str, recipients: list[str], context: dict, *, key: str) -> OutgoingEmail:
    """One email rendered from its templates, not yet recorded (see :func:`record`)."""
    subject = " ".join(render_to_string(f"healthlib/email/{name}_subject.txt", context).split())
    body = render_to_string(f"healthlib/email/{name}_body.txt", context)
    return OutgoingEmail(
        key=key,
        name=name,
        from_email=healthlib_settings.EMAIL_FROM or settings.DEFAULT_FROM_EMAIL,
        recipients=list(recipients),
        subject=subject[: OutgoingEmail._meta.get_field("subject").max_length],
        body=body,
    )


def record(emails: Iterable[OutgoingEmail], *, announce: bool = True) -> list[str]:
    """Record these emails, to be sent once the current transaction commits; the keys recorded.

    An email without recipients is dropped, and one whose key is already recorded (the same event
    told twice, today's reminder to the same person) is left alone: an event sends its email once.
    """
    emails = [email for email in emails if email.recipients]
    keys = [email.key for email in emails]
    known = set(OutgoingEmail.objects.filter(key__in=keys).values_list("key", flat=True))
    new = [email for email in emails if email.key not in known]
    if not new:
        return []
    # ignore_conflicts: a concurrent run recording the same key (reminders) wins, this one skips it.
    OutgoingEmail.objects.bulk_create(new, ignore_conflicts=True)
    if announce:
        transaction.on_commit(_announce)
    return [email.key for email in new]


def _announce() -> None:
    # After commit: a receiver that fails must not turn the committed change into an error page.
    for receiver, result in recorded.send_robust(sender=OutgoingEmail):
        if isinstance(result, Exception):
            logger.error("healthlib outbox receiver %r failed", receiver, exc_info=result)


def _transition_recorded(sender, instance: WorkflowEvent, created: bool, raw: bool = False, **kwargs) -> None:
    """Record a transition's email in its transaction, as its audit event is written (the one place
    every transition passes, see ``healthlib.workflow._finish``)."""
    name = TRANSITION_EMAILS.get(instance.action)
    if not created or raw or name is None:
        return
    item, revision = instance.item, instance.revision
    if revision is None:  # every transition that emails is about a revision
        return
    if name == "submitted":
        recipients = reviewers_for(item, contributors(item, revision))
    else:
        recipients = authors_for(item, revision)
    if not recipients:
        return
    # The review this transition wrote, a moment ago in the same transaction, under the item's lock.
    review = None
    if name in ("approved", "changes_requested"):
        review = Review.objects.filter(revision=revision, reviewer_id=instance.actor_id).order_by("-pk").first()
    context = {"item": item, "revision": revision, "user": instance.actor, "event": instance, "review": review}
    record([render(name, recipients, context, key=f"{instance.action}:event={instance.pk}")])


def record_problem_report(report) -> list[str]:
    """Tell the article's responsible editor and the live revision's author about a reader's report
    (called in the transaction that stores the report)."""
    try:
        admin_path = reverse("admin:healthlib_problemreport_change", args=[report.pk])
    except NoReverseMatch:  # the admin is optional
        admin_path = ""
    context = {
        "report": report,
        "item": report.article,
        "admin_path": admin_path,
        "site_name": healthlib_settings.SITE_NAME,
    }
    recipients = authors_for(report.article, report.revision)
    return record([render("problem_reported", recipients, context, key=f"healthlib.problem_report:{report.pk}")])


def connect() -> None:
    post_save.connect(_transition_recorded, sender=WorkflowEvent, dispatch_uid="healthlib.notify.transitions")


def disconnect() -> None:
    """Stop recording transition emails (a bulk job that should not email anyone; :func:`connect` undoes it)."""
    post_save.disconnect(sender=WorkflowEvent, dispatch_uid="healthlib.notify.transitions")


@contextmanager
def paused() -> Iterator[None]:
    """Record no transition emails inside this block (e.g. a simulated review history)."""
    disconnect()
    try:
        yield
    finally:
        connect()


# ---------------------------------------------------------------- sending (after commit)


@dataclass
class Outcome:
    #: Ids of the rows sent by this run.
    sent: list[int] = field(default_factory=list)
    #: Ids of the rows that failed (kept, with their error and next attempt).
    failed: list[int] = field(default_factory=list)
    #: The errors of the failed rows, as one line each.
    errors: list[str] = field(default_factory=list)
    #: When the earliest row still waiting is due (for a deferred retry), or None.
    next_due: datetime.datetime | None = None


def pending():
    """Every email not yet sent (the admin's pending and failed lists)."""
    return OutgoingEmail.objects.filter(sent_at__isnull=True)


def _delay(attempts: int) -> datetime.timedelta:
    return retry_delay(attempts)


def _send_one(backend: BaseEmailBackend, row_id: int, outcome: Outcome) -> None:
    """Send one row and mark it sent, in one transaction holding its row lock (PostgreSQL: a second
    worker skips the row instead of sending it too)."""
    with transaction.atomic():
        rows = OutgoingEmail.objects.filter(pk=row_id, sent_at__isnull=True)
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        row = rows.first()
        if row is None:
            return  # sent meanwhile, or being sent by another run
        message = EmailMessage(row.subject, row.body, row.from_email or None, row.recipients)
        try:
            backend.send_messages([message])
        except Exception as error:
            logger.exception("healthlib could not send the %r email to %s", row.name, row.recipients)
            line = "".join(traceback.format_exception_only(type(error), error)).strip()
            OutgoingEmail.objects.filter(pk=row.pk).update(
                attempts=F("attempts") + 1,
                last_error=line[:2000],
                next_attempt_at=timezone.now() + _delay(row.attempts),
            )
            outcome.failed.append(row.pk)
            outcome.errors.append(str(error) or line)
            return
        OutgoingEmail.objects.filter(pk=row.pk).update(sent_at=timezone.now(), next_attempt_at=None)
    outcome.sent.append(row_id)


def send_pending(now: datetime.datetime | None = None, *, keys: Iterable[str] | None = None) -> Outcome:
    """Send every due email, oldest first; see the module's docstring.

    With ``keys``, only those emails, and at once even if a failed one waits for its backoff: an
    explicit request (``healthlib_review_due --email`` run again by hand).
    """
    now = now or timezone.now()
    outcome = Outcome()
    if keys is not None:
        due = pending().filter(key__in=list(keys))
    else:
        due = pending().exclude(next_attempt_at__gt=now)
    ids = list(due.order_by("pk").values_list("pk", flat=True))
    if ids:
        backend = mail_connection()
        try:
            opened = backend.open() if hasattr(backend, "open") else False
        except Exception:  # the server is down: each message's own attempt fails and keeps the error
            opened = False
        try:
            for row_id in ids:
                _send_one(backend, row_id, outcome)
        finally:
            if opened:
                backend.close()
    OutgoingEmail.objects.filter(sent_at__lt=now - KEEP_SENT).delete()
    outcome.next_due = pending().filter(next_attempt_at__gt=now).aggregate(at=Min("next_attempt_at"))["at"]
    return outcome
