"""Articles, glossary terms and topics, and the workflow fields they share.

Workflow state, review dates and the live copy of a revision are ``editable=False``:
only :mod:`healthlib.workflow` changes them.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import models
from django.db.models.fields.related_lookups import RelatedExact
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from healthlib.conf import healthlib_settings

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

    from healthlib.models.revisions import Revision


class ProtectedContentError(Exception):
    """Reviewed or published content cannot be deleted; archive it instead."""


class ContentItemQuerySet(models.QuerySet):
    """Bulk deletes refuse, like :meth:`ContentItem.delete`, when any item has a revision history."""

    def delete(self) -> tuple[int, dict[str, int]]:
        from healthlib.models.revisions import Revision

        protected = Revision.objects.filter(item__in=self.values("pk")).values("item_id").distinct().count()
        if protected:
            raise ProtectedContentError(
                _("%(n)d of these items have a revision history, so they cannot be deleted. Archive them instead.")
                % {"n": protected}
            )
        return super().delete()

    delete.queryset_only = True  # type: ignore[attr-defined]  # Django's marker on a method, unknown to type checkers


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In medical review")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    APPROVED = "approved", _("Approved")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class Kind(models.TextChoices):
    ARTICLE = "article", _("Article")
    GLOSSARY_TERM = "glossary_term", _("Glossary term")


class ArticleType(models.TextChoices):
    OVERVIEW = "overview", _("Overview")
    CONDITION = "condition", _("Condition")
    TREATMENT = "treatment", _("Treatment")
    TEST = "test", _("Test or procedure")
    DRUG = "drug", _("Drug")
    GUIDE = "guide", _("Patient guide")
    POLICY = "policy", _("Policy page")


class Topic(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    description = models.TextField(
        _("description"), blank=True, help_text=_("One or two plain sentences shown on the topic page.")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")

    def __str__(self) -> str:
        return self.name


class ContentItem(models.Model):
    """What every reviewed item has: workflow state, revisions and review dates."""

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, editable=False)
    state = models.CharField(
        _("workflow state"), max_length=20, choices=State.choices, default=State.DRAFT, editable=False, db_index=True
    )
    title = models.CharField(
        _("working title"), max_length=300, editable=False, help_text=_("Title of the latest revision (editors only).")
    )
    latest_revision = models.ForeignKey(
        "healthlib.Revision", null=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    live_revision = models.ForeignKey(
        "healthlib.Revision",
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        help_text=_("The reviewed revision readers see. Empty while nothing is published."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("responsible editor"),
        help_text=_("Gets review-due reminders for this item."),
    )
    review_round = models.PositiveIntegerField(default=0, editable=False)
    review_interval_days = models.PositiveIntegerField(
        _("review interval (days)"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("How often this item must be re-reviewed. Leave empty to use the library's default."),
    )
    first_published_at = models.DateTimeField(_("first published"), null=True, editable=False)
    last_published_at = models.DateTimeField(_("last published"), null=True, editable=False)
    last_reviewed_at = models.DateTimeField(_("last reviewed"), null=True, editable=False, db_index=True)
    live_reviewers = models.JSONField(
        default=list, editable=False, help_text=_("Name and credentials of who reviewed the live revision.")
    )
    next_review_due = models.DateField(_("next review due"), null=True, editable=False, db_index=True)
    publish_at = models.DateTimeField(_("scheduled to publish at"), null=True, editable=False, db_index=True)
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("scheduled by"),
        help_text=_("Who set the go-live time; the scheduled publication is made in their name."),
    )
    # The pending submission: set by the submit transition and cleared when the item leaves review,
    # so that the review queue is an index range scan instead of a search of the audit log.
    submitted_at = models.DateTimeField(_("submitted for review"), null=True, editable=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("submitted by"),
    )
    submitted_by_name = models.CharField(_("submitted by (name)"), max_length=300, blank=True, editable=False)
    # Chosen when archiving: readers of the retired page are sent (301) to this live item instead of a 410.
    replaced_by = models.ForeignKey(
        "self",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("replaced by"),
        help_text=_("The live page that readers of this archived page are sent to."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContentItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("content item")
        verbose_name_plural = _("content items")
        permissions = [
            ("edit_content", _("Can write drafts, submit them for review and restore old revisions")),
            ("review_content", _("Can approve, request changes to and reaffirm content as a medical reviewer")),
            ("publish_content", _("Can publish approved content and archive content")),
        ]
        # The editors' changelists are ordered by title; the review queue by submission.
        indexes = [
            models.Index(fields=["state", "next_review_due"]),
            models.Index(fields=["title"]),
            models.Index(fields=["state", "submitted_at", "id"], name="healthlib_item_review_queue"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state=State.IN_REVIEW, submitted_at__isnull=False)
                | (~models.Q(state=State.IN_REVIEW) & models.Q(submitted_at__isnull=True)),
                name="healthlib_item_submitted_iff_in_review",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        # Revisions, reviews and the audit trail are history; deleting the item would orphan them.
        if self.pk and self.revisions.exists():
            raise ProtectedContentError(
                _("“%(title)s” has a revision history, so it cannot be deleted. Archive it instead.")
                % {"title": self.title}
            )
        return super().delete(*args, **kwargs)

    @property
    def is_live(self) -> bool:
        return self.live_revision_id is not None

    @property
    def is_retired(self) -> bool:
        """Archived after readers could see it: its address answers 410 or 301, not 404."""
        return self.state == State.ARCHIVED and self.first_published_at is not None

    @property
    def effective_review_interval_days(self) -> int:
        return self.review_interval_days or healthlib_settings.REVIEW_INTERVAL_DAYS

    def compute_next_review_due(self, last_reviewed: datetime.datetime | None = None) -> datetime.date | None:
        last_reviewed = last_reviewed or self.last_reviewed_at
        if last_reviewed is None:
            return None
        return last_reviewed.date() + datetime.timedelta(days=self.effective_review_interval_days)

    def specific(self) -> Article | GlossaryTerm:
        """The Article or GlossaryTerm behind this item."""
        if isinstance(self, (Article, GlossaryTerm)):
            return self
        return self.article if self.kind == Kind.ARTICLE else self.glossaryterm


class Article(ContentItem):
    slug = models.SlugField(_("slug"), max_length=200, unique=True, help_text=_("The article's web address."))
    article_type = models.CharField(_("article type"), max_length=20, choices=ArticleType.choices)
    topics = models.ManyToManyField(Topic, blank=True, related_name="articles", verbose_name=_("topics"))
    # Reader-facing copy of the live revision, written only by the publish transition.
    live_title = models.CharField(max_length=300, blank=True, editable=False)
    live_summary = models.TextField(blank=True, editable=False)
    live_body_html = models.TextField(blank=True, editable=False)
    live_toc_html = models.TextField(blank=True, editable=False)
    live_references = models.JSONField(default=list, editable=False)
    # Derived from the live fields when they change (healthlib.reader_pages), so that a reader
    # request does no markdown, glossary or template work for the article itself: the whole page
    # as an anonymous reader sees it (with a marker for the related articles and a placeholder
    # origin), and the fingerprint of the templates and settings it was rendered with.
    live_page_html = models.TextField(blank=True, editable=False)
    live_page_key = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["title"]
        # Reader lists (A to Z, topics, related articles) are ordered by the live title.
        indexes = [models.Index(fields=["live_title"], name="healthlib_article_live_title")]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.kind = Kind.ARTICLE
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("healthlib:article_detail", kwargs={"slug": self.slug})

    def set_live_content(self, revision: Revision) -> None:
        """Copy a revision into the reader-facing fields. Called only by the publish transition."""
        from healthlib.glossary_linker import link_article_html
        from healthlib.markup import render_document

        content = revision.content
        document = render_document(content["body"])
        self.live_title = content["title"]
        self.live_summary = content["summary"]
        self.live_body_html = link_article_html(document.html)
        self.live_toc_html = document.toc_html
        self.live_references = content["references"]

    def clear_live_content(self) -> None:
        self.live_title = self.live_summary = self.live_body_html = self.live_toc_html = ""
        self.live_references = []


class GlossaryTerm(ContentItem):
    slug = models.SlugField(_("slug"), max_length=200, unique=True, help_text=_("The term's web address."))
    # Reader-facing copy of the live revision, written only by the publish transition.
    live_term = models.CharField(max_length=200, blank=True, editable=False)
    live_aliases = models.JSONField(default=list, editable=False)
    live_pronunciation = models.CharField(max_length=200, blank=True, editable=False)
    live_short_definition = models.TextField(blank=True, editable=False)
    live_full_definition_html = models.TextField(blank=True, editable=False)
    live_professional_definition_html = models.TextField(blank=True, editable=False)
    live_related_slugs = models.JSONField(default=list, editable=False)

    class Meta:
        verbose_name = _("glossary term")
        verbose_name_plural = _("glossary terms")
        ordering = ["title"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.kind = Kind.GLOSSARY_TERM
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("healthlib:term_detail", kwargs={"slug": self.slug})

    def set_live_content(self, revision: Revision) -> None:
        """Copy a revision into the reader-facing fields. Called only by the publish transition."""
        from healthlib.markup import render_markdown

        content = revision.content
        self.live_term = content["term"]
        self.live_aliases = content["aliases"]
        self.live_pronunciation = content["pronunciation"]
        self.live_short_definition = content["short_definition"]
        self.live_full_definition_html = render_markdown(content["full_definition"])
        self.live_professional_definition_html = render_markdown(content["professional_definition"])
        self.live_related_slugs = content["related_terms"]

    def clear_live_content(self) -> None:
        self.live_term = self.live_pronunciation = self.live_short_definition = ""
        self.live_full_definition_html = self.live_professional_definition_html = ""
        self.live_aliases = []
        self.live_related_slugs = []


class _InRangeExact(RelatedExact):
    """``pk=<int>`` on Article and GlossaryTerm, with the range check Django gives integer fields.

    Django answers an integer beyond a column's range with "no rows" on integer fields'
    lookups (``IntegerFieldOverflow``), but a multi-table child's primary key is a one-to-one
    link, whose lookups skip that check: on SQLite an id beyond 64 bits raised OverflowError,
    a 500 on every admin URL of these models (Django's own change, delete and "view on site"
    views included). Registered on the two fields only, so no other model changes behaviour.
    """

    def process_rhs(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        if isinstance(self.rhs, int) and not isinstance(self.rhs, bool):
            target = getattr(self.lhs.output_field, "target_field", self.lhs.output_field)
            low, high = connection.ops.integer_field_range(target.get_internal_type())
            if (low is not None and self.rhs < low) or (high is not None and self.rhs > high):
                raise EmptyResultSet
        return super().process_rhs(compiler, connection)


Article._meta.pk.register_lookup(_InRangeExact)
GlossaryTerm._meta.pk.register_lookup(_InRangeExact)
