"""Changelist filters of the healthlib admins."""

from __future__ import annotations

import datetime

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from healthlib.admin.base import DUE_SOON_DAYS
from healthlib.models import Decision, ReportStatus, Review
from healthlib.request_ids import parse_id

REVIEWED = (Decision.APPROVED, Decision.REAFFIRMED)


class OverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("review overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue")), ("no", _("Not overdue"))]

    def queryset(self, request, queryset):
        overdue = Q(live_revision__isnull=False, next_review_due__lt=timezone.localdate())
        if self.value() == "yes":
            return queryset.filter(overdue)
        if self.value() == "no":
            return queryset.exclude(overdue)
        return queryset


class DueSoonFilter(admin.SimpleListFilter):
    title = gettext_lazy("review due soon")
    parameter_name = "due_soon"

    def lookups(self, request, model_admin):
        return [("yes", _("Due within %(n)d days") % {"n": DUE_SOON_DAYS})]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            today = timezone.localdate()
            return queryset.filter(
                live_revision__isnull=False,
                next_review_due__gte=today,
                next_review_due__lte=today + datetime.timedelta(days=DUE_SOON_DAYS),
            )
        return queryset


class ReviewerFilter(admin.SimpleListFilter):
    """Items whose live revision was approved or reaffirmed by a given reviewer."""

    title = gettext_lazy("reviewer")
    parameter_name = "reviewer"

    def lookups(self, request, model_admin):
        # From the (few) accounts, each probing the reviews by index: a DISTINCT over every review
        # costs a scan of the whole table (150 ms at 100,000 articles on PostgreSQL).
        reviewed = Review.objects.filter(decision__in=REVIEWED, reviewer_id=OuterRef("pk"))
        rows = (
            get_user_model()
            .objects.filter(Exists(reviewed))
            .annotate(reviewer_name=Subquery(reviewed.order_by("-reviewed_at", "-pk").values("reviewer_name")[:1]))
            .order_by("reviewer_name", "pk")
            .values_list("pk", "reviewer_name")
        )
        return [(str(pk), name) for pk, name in rows]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        reviewer = parse_id(value)
        if reviewer is None:
            # Django's answer to a filter value it cannot use: the unfiltered list, with "?e=1".
            raise IncorrectLookupParameters(value)
        reviewed = Review.objects.filter(
            revision_id=OuterRef("live_revision_id"), reviewer_id=reviewer, decision__in=REVIEWED
        )
        return queryset.filter(Exists(reviewed))


class ReportStatusFilter(admin.SimpleListFilter):
    """Open reports first: the list is a to-do list."""

    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(ReportStatus.CLOSED, _("Closed")), ("all", _("All"))]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("Open"),
        }
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        return queryset.filter(status=self.value() if self.value() == ReportStatus.CLOSED else ReportStatus.OPEN)


class FailedWorkFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("pending", gettext_lazy("pending")), ("failed", gettext_lazy("failed"))]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(attempts=0)
        if self.value() == "failed":
            return queryset.filter(attempts__gt=0)
        return queryset
