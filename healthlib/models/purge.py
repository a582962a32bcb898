"""Purges of the HTTP cache in front (Varnish, a CDN) still to send: an outbox, like derived work.

A row is written in the transaction of the change that makes a cached page wrong, so the purge is
committed with the change or not at all; :mod:`healthlib.purge` sends it after the commit and
deletes it once the backend accepted it. A row that fails keeps its error, its count of attempts
and when it is tried next (shown in the admin). See :mod:`healthlib.purge`.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PurgeRequest(models.Model):
    #: The alias of the backend in ``HEALTHLIB["PURGE_BACKENDS"]``.
    backend = models.CharField(_("backend"), max_length=100, editable=False)
    tag = models.CharField(_("cache tag"), max_length=255, editable=False)
    # Sent only once no re-linking or re-storing of pages is pending: the pages this tag names are
    # being stored again, and purging before that would let the edge keep the old page once more.
    after_page_work = models.BooleanField(_("after page work"), default=False, editable=False)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0, editable=False)
    last_error = models.TextField(_("last error"), blank=True, default="", editable=False)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("cache purge")
        verbose_name_plural = _("cache purges")
        ordering = ["pk"]
        indexes = [models.Index(fields=["backend", "next_attempt_at"], name="healthlib_purge_due")]

    def __str__(self) -> str:
        return f"{self.backend}: {self.tag}"
