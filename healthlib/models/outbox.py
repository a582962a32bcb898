"""Emails healthlib sends (workflow notifications, readers' reports, review-due reminders): an outbox.

A message is rendered and written in the transaction of the event it tells about (a transition, a
reader's report, a day's reminders), so it is committed with the event or not at all; it is sent
after the commit by :mod:`healthlib.notifications` and then marked sent, never deleted at once.
Its ``key`` names the event and is unique, so an event can never record its email twice (reminders
go out once per person and day however often the job runs), and a sent row stops a retried run
from sending it again. A message that fails keeps its error, its count of attempts and when it is
tried next (shown in the admin). A new model rather than rows of an existing one: the audit log is
append-only and one event may send several emails, readers' reports and reminders have no event.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutgoingEmail(models.Model):
    #: What the message is about, unique: e.g. "healthlib.submit:event=12", "review_due:2026-12-07:user=3".
    key = models.CharField(_("event"), max_length=200, unique=True, editable=False)
    #: The template it was rendered from (``healthlib/email/<name>_subject.txt`` and ``_body.txt``).
    name = models.CharField(_("email"), max_length=50, editable=False)
    from_email = models.CharField(_("from"), max_length=254, blank=True, default="", editable=False)
    recipients = models.JSONField(_("recipients"), default=list, editable=False)
    subject = models.CharField(_("subject"), max_length=998, editable=False)
    body = models.TextField(_("body"), editable=False)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, editable=False)
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0, editable=False)
    last_error = models.TextField(_("last error"), blank=True, default="", editable=False)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")
        ordering = ["pk"]
        indexes = [
            # The sender's question, "what is unsent and due?", and the pruning of old sent rows.
            models.Index(fields=["sent_at", "next_attempt_at"], name="healthlib_outbox_due"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({', '.join(self.recipients)})"
