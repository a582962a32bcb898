"""The admin's list of purges not yet accepted by the HTTP cache in front, with their errors.

Read-only: rows are written by :mod:`healthlib.purge` and deleted when sent. A row may be deleted
by hand (a backend removed from the settings leaves its rows behind).
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from healthlib.admin.base import IdCheckingAdmin
from healthlib.models import PurgeRequest


class PurgeStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("pending", _("pending")), ("failed", _("failed"))]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(attempts=0)
        if self.value() == "failed":
            return queryset.filter(attempts__gt=0)
        return queryset


@admin.register(PurgeRequest)
class PurgeRequestAdmin(IdCheckingAdmin):
    list_display = ["created_at", "backend", "tag", "after_page_work", "attempts", "next_attempt_at", "last_error"]
    list_filter = [PurgeStatusFilter, "backend"]
    search_fields = ["tag"]
    readonly_fields = ["created_at", "backend", "tag", "after_page_work", "attempts", "next_attempt_at", "last_error"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
