"""Append-only records (revisions, reviews, credential checks, audit events) and derived work: shown, never edited."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from healthlib.admin.base import ReadOnlyAdmin
from healthlib.admin.filters import FailedWorkFilter
from healthlib.models import CredentialVerification, DerivedWork, Review, Revision, WorkflowEvent


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdmin):
    list_display = ["title", "number", "created_by_name", "created_at", "readability_grade", "short_hash"]
    list_filter = ["created_at"]
    search_fields = ["title", "content_hash", "created_by_name"]
    exclude = ["content"]
    readonly_fields = ["content_display"]

    @admin.display(description=gettext_lazy("content hash"))
    def short_hash(self, obj):
        return obj.content_hash[:12]

    @admin.display(description=gettext_lazy("content"))
    def content_display(self, obj):
        return format_html("<pre>{}</pre>", obj.content)


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["revision", "decision", "reviewer_name", "reviewer_credentials", "reviewed_at"]
    list_filter = ["decision"]
    list_select_related = ["revision"]
    search_fields = ["reviewer_name", "comment"]


@admin.register(CredentialVerification)
class CredentialVerificationAdmin(ReadOnlyAdmin):
    list_display = [
        "reviewer_name",
        "credentials",
        "licensing_body",
        "licence_number",
        "verified_on",
        "verified_by_name",
    ]
    list_filter = ["verified_on"]
    search_fields = ["reviewer_name", "licensing_body", "licence_number", "verified_by_name"]


@admin.register(WorkflowEvent)
class WorkflowEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "item", "from_state", "to_state", "actor_name"]
    list_filter = ["action"]
    list_select_related = ["item"]
    search_fields = ["actor_name", "comment"]


@admin.register(DerivedWork)
class DerivedWorkAdmin(ReadOnlyAdmin):
    """Re-links and page stores still to do after a committed change, with the error of failed ones
    (healthlib.derived_work; the task backend's own admin, if any, shows the task runs)."""

    list_display = ["created_at", "action", "item", "attempts", "last_error"]
    list_filter = [FailedWorkFilter, "action"]
    list_select_related = ["item"]
