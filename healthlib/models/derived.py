"""Derived work still to do: the outbox that makes re-linking and re-storing pages durable.

A row is written in the same transaction as the change that makes the work necessary (a glossary
term published or archived, a topic renamed), so the work can never be lost between the commit and
the task that does it: a worker killed at any point, or a task backend that lost the task, leaves
the rows behind and the next run (the worker, ``manage.py healthlib_relink``) finishes them. Each
row is deleted in the transaction that does its work. See :mod:`healthlib.derived_work`.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from healthlib.models.content import ContentItem


class WorkAction(models.TextChoices):
    #: Find the live articles that link or mention a glossary term; becomes RELINK_ARTICLE rows.
    RELINK_TERM = "relink_term", _("find the articles of a glossary term")
    #: Re-render and re-link an article's live body against the glossary, and store its page.
    RELINK_ARTICLE = "relink_article", _("re-link an article")
    #: Store an article's page again (its topics' names changed).
    STORE_PAGE = "store_page", _("store an article's page")
    #: Retire cached reader pages, once the pages above are stored.
    PURGE = "purge", _("retire cached pages")


class DerivedWork(models.Model):
    action = models.CharField(_("work"), max_length=20, choices=WorkAction.choices, editable=False)
    # The term or article the work is about; none for a purge.
    item = models.ForeignKey(
        ContentItem,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        editable=False,
        verbose_name=_("item"),
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0, editable=False)
    last_error = models.TextField(_("last error"), blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("derived work")
        verbose_name_plural = _("derived work")
        ordering = ["pk"]
        indexes = [models.Index(fields=["action", "item"], name="healthlib_derivedwork_action")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.item_id or ''}".strip()
