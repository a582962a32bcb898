"""Reader error reports: open items tied to an article and the revision read, closed with a note."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from healthlib import problem_reports
from healthlib.admin.base import ReadOnlyAdmin, admin_url, form_errors, refused, wants_json
from healthlib.admin.filters import ReportStatusFilter
from healthlib.exceptions import WorkflowError
from healthlib.forms import CloseReportForm
from healthlib.models import ProblemReport


@admin.register(ProblemReport)
class ProblemReportAdmin(ReadOnlyAdmin):
    """Reader reports: open items tied to an article and the revision read; closed with a note."""

    list_display = ["created_at", "article_title", "revision_number", "status", "excerpt", "email"]
    list_filter = [ReportStatusFilter]
    list_select_related = ["article", "revision"]
    search_fields = ["message", "article__title", "article__slug"]
    fields = ["article_link", "revision_number", "created_at", "message", "email", "status", "closed_at",
              "closed_by_name", "closing_note"]  # fmt: skip
    readonly_fields = fields
    change_form_template = "admin/healthlib/problem_report.html"

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff and problem_reports.may_close(request.user)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and problem_reports.may_close(request.user)

    @admin.display(description=gettext_lazy("article"), ordering="article__title")
    def article_title(self, obj):
        return obj.article.title

    @admin.display(description=gettext_lazy("article"))
    def article_link(self, obj):
        return format_html('<a href="{}">{}</a>', admin_url(obj.article), obj.article.title)

    @admin.display(description=gettext_lazy("revision read"))
    def revision_number(self, obj):
        return obj.revision.number

    @admin.display(description=gettext_lazy("what is wrong"))
    def excerpt(self, obj):
        return obj.message if len(obj.message) <= 80 else obj.message[:79] + "…"

    def get_urls(self):
        close = path(
            "<int:pk>/close/", self.admin_site.admin_view(self.close_view), name="healthlib_problemreport_close"
        )
        return [close, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        report = self.get_object(request, unquote(object_id))
        extra = {}
        if report is not None:
            extra = {
                "report": report,
                "close_form": CloseReportForm(),
                "close_url": reverse("admin:healthlib_problemreport_close", args=[report.pk]),
                "article_change_url": admin_url(report.article),
                "article_url": report.article.get_absolute_url(),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def close_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = ProblemReport.objects.filter(pk=pk).first()
        if report is None:
            raise Http404(_("No such report."))
        back = reverse("admin:healthlib_problemreport_change", args=[report.pk])
        form = CloseReportForm(request.POST)
        if not form.is_valid():
            return refused(request, back, form_errors(form), 400)
        try:
            problem_reports.close_report(report, request.user, note=form.cleaned_data["note"])
        except WorkflowError as exc:
            return refused(request, back, exc.message, exc.status_code)
        messages.success(request, _("The report is closed."))
        if wants_json(request):
            return JsonResponse({"ok": True})
        return HttpResponseRedirect(reverse("admin:healthlib_problemreport_changelist"))
