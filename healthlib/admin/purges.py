"""The admin's list of purges not yet accepted by the HTTP cache in front, with their errors.

Read-only: rows are written by :mod:`healthlib.purge` and deleted when sent. A row may be deleted
by hand (a backend removed from the settings leaves its rows behind).
"""

from __future__ import annotations

from django.contrib import admin

from healthlib.admin.base import IdCheckingAdmin
from healthlib.admin.filters import FailedWorkFilter
from healthlib.models import PurgeRequest


@admin.register(PurgeRequest)
class PurgeRequestAdmin(IdCheckingAdmin):
    list_display = ["created_at", "backend", "tag", "after_page_work", "attempts", "next_attempt_at", "last_error"]
    list_filter = [FailedWorkFilter, "backend"]
    search_fields = ["tag"]
    readonly_fields = ["created_at", "backend", "tag", "after_page_work", "attempts", "next_attempt_at", "last_error"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
