"""Workflow emails, sent through Django's email machinery once the change has committed.

Templates live in ``healthlib/email/<name>_subject.txt`` and ``<name>_body.txt``; a site
overrides them like any other template. A failing mail server is logged and never undoes
the transition (the signals that trigger these emails are sent after commit).
"""

from __future__ import annotations

import logging

from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse

from healthlib import signals
from healthlib.conf import healthlib_settings
from healthlib.roles import REVIEW, holders
from healthlib.workflow import contributors

logger = logging.getLogger(__name__)


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


def send(name: str, recipients: list[str], context: dict) -> int:
    """Render and send one notification; log and swallow mail-server failures."""
    if not recipients:
        return 0
    subject = " ".join(render_to_string(f"healthlib/email/{name}_subject.txt", context).split())
    body = render_to_string(f"healthlib/email/{name}_body.txt", context)
    try:
        return mail_connection().send_messages([EmailMessage(subject, body, healthlib_settings.EMAIL_FROM, recipients)])
    except Exception:
        logger.exception("healthlib could not send the %r email to %s", name, recipients)
        return 0


def on_submitted(sender, item, revision, user, event, **kwargs):
    context = {"item": item, "revision": revision, "user": user, "event": event}
    send("submitted", reviewers_for(item, contributors(item, revision)), context)


def _to_authors(name: str):
    def receiver(sender, item, revision, user, event, review=None, **kwargs):
        context = {"item": item, "revision": revision, "user": user, "event": event, "review": review}
        send(name, authors_for(item, revision), context)

    receiver.__name__ = f"on_{name}"
    return receiver


on_changes_requested = _to_authors("changes_requested")
on_approved = _to_authors("approved")
on_published = _to_authors("published")


def on_problem_reported(report) -> int:
    """Tell the article's responsible editor and the live revision's author about a reader's report."""
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
    return send("problem_reported", authors_for(report.article, report.revision), context)


def connect() -> None:
    signals.submitted.connect(on_submitted, dispatch_uid="healthlib.notify.submitted")
    signals.changes_requested.connect(on_changes_requested, dispatch_uid="healthlib.notify.changes_requested")
    signals.approved.connect(on_approved, dispatch_uid="healthlib.notify.approved")
    signals.published.connect(on_published, dispatch_uid="healthlib.notify.published")
