"""Immutable snapshots of everything a reader sees, each with a content hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthlib.models.append_only import AppendOnlyModel


def canonical_json(content: dict[str, Any]) -> bytes:
    """The bytes a content hash is computed over: sorted keys, no spaces, UTF-8 (readers can fetch them)."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON form of a revision's content."""
    return hashlib.sha256(canonical_json(content)).hexdigest()


class Revision(AppendOnlyModel):
    item = models.ForeignKey(
        "healthlib.ContentItem", on_delete=models.PROTECT, related_name="revisions", verbose_name=_("item")
    )
    number = models.PositiveIntegerField(_("revision number"))
    title = models.CharField(_("title"), max_length=300)
    content = models.JSONField(_("content"))
    content_hash = models.CharField(_("content hash"), max_length=64, db_index=True)
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("based on")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("author")
    )
    created_by_name = models.CharField(_("author name"), max_length=300)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    word_count = models.PositiveIntegerField(_("words"), default=0)
    readability_grade = models.FloatField(_("reading grade"), null=True)
    reading_minutes = models.PositiveIntegerField(_("reading time (minutes)"), default=0)

    class Meta:
        verbose_name = _("revision")
        verbose_name_plural = _("revisions")
        ordering = ["item", "-number"]
        constraints = [models.UniqueConstraint(fields=["item", "number"], name="healthlib_revision_unique_number")]
        # "Did this user write a revision of this item since its last publication?" (the review queue),
        # answered from the index alone.
        indexes = [models.Index(fields=["created_by", "item", "number"], name="healthlib_revision_author")]

    def __str__(self) -> str:
        return f"{self.title} (revision {self.number})"

    def hash_is_intact(self) -> bool:
        """True when the stored content still produces the stored hash."""
        return content_hash(self.content) == self.content_hash


class RevisionAuthor(AppendOnlyModel):
    """One author of a revision's *text*, as reviewer independence judges it.

    The user who saved a revision is not the only author of what it says: a restored, imported or
    copied revision repeats text someone else wrote, and an edit of an unpublished draft keeps the
    draft's text. :func:`healthlib.workflow.contributors` reads these rows, so a reviewer cannot
    approve their own words by having someone else bring them back. Written once, with the revision.
    """

    revision = models.ForeignKey(Revision, on_delete=models.PROTECT, related_name="authors", verbose_name=_("revision"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("author")
    )
    user_name = models.CharField(_("author name"), max_length=300)

    class Meta:
        verbose_name = _("revision author")
        verbose_name_plural = _("revision authors")
        constraints = [
            models.UniqueConstraint(fields=["revision", "user"], name="healthlib_revisionauthor_unique"),
        ]
        # "Is this user an author of this item's latest revision?" (the review queue), from the index alone.
        indexes = [models.Index(fields=["user", "revision"], name="healthlib_revisionauthor_user")]

    def __str__(self) -> str:
        return f"{self.user_name} ({self.revision})"
