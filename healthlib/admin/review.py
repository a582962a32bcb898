"""The medical reviewers' pages: the review queue, the review page of one item, and the review-dates dashboard.

They hang off proxy models (:mod:`healthlib.models.workspace`) so the admin index lists them beside
the content they serve; they add, change and delete nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from healthlib import checklist, credentials, review_due, workflow
from healthlib.admin.base import DUE_SOON_DAYS, IdCheckingAdmin, admin_url
from healthlib.admin.content import preview_html
from healthlib.admin.queries import ReviewQueueQuerySet, review_queue
from healthlib.conf import healthlib_settings
from healthlib.diff import revision_diff
from healthlib.exceptions import CredentialsNotVerified
from healthlib.models import Article, ContentItem, GlossaryTerm, Review, ReviewDates, ReviewQueue, State

#: Rows per page of the review queue, and rows shown per list of the review-dates page (rendering rows
#: is most of that page's time): both stay fast with 100,000 items (the lists show their totals and
#: link to the filtered changelists).
QUEUE_PAGE_SIZE = 100
REVIEW_DATES_ROWS = 50


def credentials_problem(user) -> str:
    """Why the user's credentials would stop an approval now ("" when they would not), to say before they try."""
    try:
        credentials.require_current(user, workflow.TRANSITIONS["approve"].label)
    except CredentialsNotVerified as exc:
        return exc.message
    return ""


class WorkspaceEntryAdmin(IdCheckingAdmin):
    """Base for the proxy entries: visible in the index, never addable, changeable or deletable."""

    permission: str = workflow.REVIEW

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm(self.permission)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _context(self, request, title: str) -> dict[str, Any]:
        request.current_app = self.admin_site.name
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.opts,
            "app_label": self.opts.app_label,
        }


@admin.register(ReviewQueue)
class ReviewQueueAdmin(WorkspaceEntryAdmin):
    def get_urls(self):
        return [
            path("", self.admin_site.admin_view(self.changelist_view), name="healthlib_reviewqueue_changelist"),
            path("<int:pk>/", self.admin_site.admin_view(self.review_view), name="healthlib_reviewqueue_review"),
        ]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        queue = review_queue(request.user).values_list("pk", flat=True)
        page = Paginator(queue, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
        # The page's rows are found in the index first, then joined to their revisions (in one query):
        # joining first would make a deep page (a large OFFSET) join the revisions of every row before it.
        entries = ReviewQueueQuerySet(ContentItem).entries(page.object_list, request.user)
        context = {**self._context(request, _("Review queue")), "entries": entries, "page_obj": page}
        return TemplateResponse(request, "admin/healthlib/review_queue.html", context)

    def review_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        base = ContentItem.objects.select_related("latest_revision", "live_revision").filter(pk=pk).first()
        if base is None:
            raise Http404(_("No such item."))
        item = base.specific()
        latest, live = item.latest_revision, item.live_revision
        diff = revision_diff(
            live.content if live else None,
            latest.content,
            old_label=_("live revision %(n)d") % {"n": live.number} if live else _("nothing published"),
            new_label=_("revision %(n)d") % {"n": latest.number},
        )
        user = request.user
        context = {
            "credentials_problem": credentials_problem(user),
            **self._context(request, _("Review “%(title)s”") % {"title": item.title}),
            "item": item,
            "latest": latest,
            "live": live,
            "diff": diff,
            "preview": preview_html(item, latest),
            "checklist": checklist.evaluate(item, latest),
            "readability_target": healthlib_settings.READABILITY_TARGET_GRADE,
            "can_approve": workflow.can(user, "approve", item),
            "can_request_changes": workflow.can(user, "request_changes", item),
            "contributed": user.pk in workflow.contributors(item, latest),
            "in_review": item.state == State.IN_REVIEW,
            "approve_url": admin_url(item, "workflow", "approve"),
            "request_changes_url": admin_url(item, "workflow", "request_changes"),
            "change_url": admin_url(item),
            "history_url": admin_url(item, "history"),
            "queue_url": reverse("admin:healthlib_reviewqueue_changelist"),
            "reviews": Review.objects.filter(revision__item=item)
            .select_related("revision")
            .order_by("-reviewed_at")[:10],
        }
        return TemplateResponse(request, "admin/healthlib/review.html", context)


@admin.register(ReviewDates)
class ReviewDatesAdmin(WorkspaceEntryAdmin):
    def has_view_permission(self, request, obj=None):
        user = request.user
        return user.is_active and (user.has_perm(workflow.REVIEW) or user.has_perm(workflow.EDIT))

    def get_urls(self):
        return [path("", self.admin_site.admin_view(self.changelist_view), name="healthlib_reviewdates_changelist")]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = review_due.report(soon_days=DUE_SOON_DAYS, recent_days=DUE_SOON_DAYS)
        totals = review_due.counts(report)
        sections = [
            ("overdue", _("Overdue"), report.overdue, "overdue=yes"),
            ("due_soon", _("Due within %(n)d days") % {"n": DUE_SOON_DAYS}, report.due_soon, "due_soon=yes"),
            ("recently_reviewed", _("Reviewed in the last %(n)d days") % {"n": DUE_SOON_DAYS},
             report.recently_reviewed, ""),
            ("scheduled", _("Scheduled to publish"), report.scheduled, ""),
        ]  # fmt: skip
        context = {
            **self._context(request, _("Review dates")),
            "sections": [
                {
                    "code": code,
                    "title": title,
                    # The first rows only: at scale a list can hold thousands of items.
                    "rows": [(row, admin_url(row)) for row in rows[:REVIEW_DATES_ROWS]],
                    "total": totals[code],
                    "filtered_urls": [
                        (
                            model._meta.verbose_name_plural,
                            f"{reverse(f'admin:healthlib_{model._meta.model_name}_changelist')}?{query}",
                        )
                        for model in (Article, GlossaryTerm)
                    ]
                    if query
                    else [],
                }
                for code, title, rows, query in sections
            ],
            "today": timezone.localdate(),
            "broken_links": [(row, admin_url(row.article)) for row in report.broken_links()],
            "reviewer_credentials": [
                (row, reverse("admin:healthlib_reviewerprofile_change", args=[row.profile.pk]) if row.profile else None)
                for row in credentials.needing_verification(soon_days=DUE_SOON_DAYS)
            ],
            "credentials_soon_days": DUE_SOON_DAYS,
        }
        return TemplateResponse(request, "admin/healthlib/review_dates.html", context)
