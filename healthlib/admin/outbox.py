"""The admin's list of outgoing emails: pending, failed (with their errors) and recently sent.

Read-only: rows are written in the transaction of their event and sent by
:mod:`healthlib.notifications`. A row may be deleted by hand (an address that will never accept it).
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy

from healthlib.admin.base import IdCheckingAdmin
from healthlib.admin.filters import FailedWorkFilter
from healthlib.models import OutgoingEmail


class OutboxStatusFilter(FailedWorkFilter):
    """Pending and failed as for the other work (not sent yet), plus the ones sent."""

    def lookups(self, request, model_admin):
        return [*super().lookups(request, model_admin), ("sent", gettext_lazy("sent"))]

    def queryset(self, request, queryset):
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        if self.value() in ("pending", "failed"):
            return super().queryset(request, queryset.filter(sent_at__isnull=True))
        return queryset


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(IdCheckingAdmin):
    list_display = [
        "created_at",
        "name",
        "subject",
        "recipient_list",
        "sent_at",
        "attempts",
        "next_attempt_at",
        "last_error",
    ]
    list_filter = [OutboxStatusFilter, "name"]
    search_fields = ["subject", "key"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "key", "name", "from_email", "recipient_list", "subject", "body", "created_at", "sent_at", "attempts",
        "next_attempt_at", "last_error",
    ]  # fmt: skip
    exclude = ["recipients"]

    @admin.display(description=gettext_lazy("recipients"))
    def recipient_list(self, obj):
        return ", ".join(obj.recipients)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
