"""The editors' and medical reviewers' workspace in the Django admin.

Thin by design: every state change calls :mod:`healthlib.workflow`, and every refusal is the
workflow's own error turned into a message, a form error or an HTTP status:

* content edits go through the change form (:mod:`healthlib.forms`), whose validation calls
  the workflow; a refusal re-renders the bound form (nothing typed is lost);
* workflow actions are POSTs to ``<pk>/workflow/<action>/`` carrying the revision the user saw.
  ``NotPermitted`` (wrong role, reviewer is the author) answers **403**. Other refusals
  (``TransitionNotAllowed``, ``StaleVersion``, ``InvalidContent``...) are part of the normal form
  flow: an error message and a redirect back to the page, with nothing changed. A client that
  asks for JSON only (``Accept: application/json``) gets the error's own status (409, 400...);
* the review queue, review page, history and review-date dashboard are admin views.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import Exists, F, OuterRef, Prefetch, Q, Subquery
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from healthlib import credentials, presence, problem_reports, workflow
from healthlib.conf import healthlib_settings
from healthlib.diff import revision_diff
from healthlib.exceptions import CredentialsNotVerified, InvalidContent, NotPermitted, WorkflowError
from healthlib.forms import ActionForm, ArticleAdminForm, CloseReportForm, GlossaryTermAdminForm
from healthlib.markup import render_document, render_markdown
from healthlib.models import (
    Article,
    ContentItem,
    CredentialVerification,
    Decision,
    DerivedWork,
    GlossaryTerm,
    Kind,
    ProblemReport,
    ReportStatus,
    Review,
    ReviewDates,
    ReviewerProfile,
    ReviewQueue,
    Revision,
    RevisionAuthor,
    State,
    Topic,
    WorkflowEvent,
)
from healthlib.request_ids import IdModelMultipleChoiceField, parse_id

DUE_SOON_DAYS = 30
#: Rows per page of the review queue, and rows shown per list of the review-dates page (rendering rows
#: is most of that page's time): both stay fast with 100,000 items (the lists show their totals and
#: link to the filtered changelists).
QUEUE_PAGE_SIZE = 100
REVIEW_DATES_ROWS = 50
REVIEWED = (Decision.APPROVED, Decision.REAFFIRMED)


def _checklist(item, revision) -> list:
    try:
        from healthlib import checklist
    except ImportError:  # pragma: no cover - the checklist is optional for the admin
        return []
    return checklist.evaluate(item, revision)


def _preview_links():
    try:
        from healthlib import preview_links
    except ImportError:  # pragma: no cover
        return None
    return preview_links


def _can(user, action: str, item) -> bool:
    """workflow.can() for actions that may not be in the transition table of this version."""
    if action in workflow.TRANSITIONS:
        return workflow.can(user, action, item)
    return False


def admin_url(item, view: str = "change", *args) -> str:
    model = "article" if item.kind == Kind.ARTICLE else "glossaryterm"
    return reverse(f"admin:healthlib_{model}_{view}", args=[item.pk, *args])


# ---------------------------------------------------------------- changelist filters


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


# ---------------------------------------------------------------- ids in admin URLs and forms


class IdCheckingAdmin(admin.ModelAdmin):
    """The ids Django's admin reads without checking them, read through :mod:`healthlib.request_ids`.

    Ids in change URLs are Django's (the model field's ``to_python`` and range-checked lookups;
    see ``healthlib.models.content._InRangeExact`` for Article and GlossaryTerm). Three places
    were 500s:

    * ``?_to_field=`` left empty: Django looked up a field named "" (it means no field);
    * posted many-to-many choices and the changelist's selected rows are ``pk__in`` lookups,
      which Django does not range-check: an id beyond 64 bits was an OverflowError on SQLite,
      and a selected row that is not a number a ValueError.
    """

    def get_object(self, request, object_id, from_field=None):
        return super().get_object(request, object_id, from_field or None)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("form_class", IdModelMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def response_action(self, request, queryset, **kwargs):
        # **kwargs: Django 6.1 passes where the action was chosen (action_location).
        if any(parse_id(pk) is None for pk in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)):
            raise BadRequest(_("The selected rows are not ids."))
        return super().response_action(request, queryset, **kwargs)


# ---------------------------------------------------------------- content admins


class ContentChangeList(ChangeList):
    """The changelist without the reader-facing copies (tens of kilobytes of HTML per row)."""

    heavy_fields = (
        "live_body_html", "live_toc_html", "live_summary", "live_references", "live_reviewers",
        "live_full_definition_html", "live_professional_definition_html", "live_aliases", "live_related_slugs",
        "live_short_definition",
    )  # fmt: skip

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        names = {field.name for field in self.model._meta.concrete_fields}
        return queryset.defer(*(name for name in self.heavy_fields if name in names))


class ContentPaginator(Paginator):
    """Counts an unfiltered changelist on the model's own table.

    Every Article or GlossaryTerm query joins ContentItem; counting 100,000 joined rows was most of
    the changelist's time. Each row of the child table has exactly one parent, so without a filter
    the child table's row count is the answer.
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is None or query.where or query.distinct or query.combinator:
            return super().count
        model = queryset.model
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {connections[queryset.db].ops.quote_name(model._meta.db_table)}")
            return cursor.fetchone()[0]


class ContentItemAdmin(IdCheckingAdmin):
    """Shared by ArticleAdmin and GlossaryTermAdmin: edit the latest revision through the workflow."""

    change_form_template = "admin/healthlib/content/change_form.html"
    object_history_template = "admin/healthlib/content/history.html"
    search_fields = ["title", "slug"]
    list_per_page = 100
    # One COUNT per page, not two: counting 100,000 joined rows twice is most of the page's time.
    show_full_result_count = False
    paginator = ContentPaginator
    workflow_readonly = [
        "state_display",
        "revision_display",
        "live_display",
        "last_reviewed_at",
        "next_review_due",
        "publish_at",
        "readability_display",
    ]
    metadata_fields: tuple[str, ...] = ()

    # -- querysets and columns
    def get_changelist(self, request, **kwargs):
        return ContentChangeList

    #: Reader-facing copies of the live revision: large, and never shown in the admin.
    heavy_fields: tuple[str, ...] = ()

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .defer(*self.heavy_fields)
            .select_related("owner")
            .annotate(
                latest_number=F("latest_revision__number"),
                latest_grade=F("latest_revision__readability_grade"),
                latest_minutes=F("latest_revision__reading_minutes"),
            )
        )

    def view_on_site(self, obj):
        # Readers see only live content: no "view on site" link to a 404.
        return obj.get_absolute_url() if obj.is_live else None

    @admin.display(description=gettext_lazy("reading grade"), ordering="latest_grade")
    def readability(self, obj):
        grade = getattr(obj, "latest_grade", None)
        return "–" if grade is None else f"{grade:.1f}"

    @admin.display(description=gettext_lazy("workflow state"), ordering="state")
    def state_display(self, obj):
        text = obj.get_state_display()
        if obj.publish_at:
            text = _("%(state)s, scheduled for %(when)s") % {
                "state": text,
                "when": timezone.localtime(obj.publish_at).strftime("%Y-%m-%d %H:%M"),
            }
        return text

    @admin.display(description=gettext_lazy("revision being edited"))
    def revision_display(self, obj):
        revision = obj.latest_revision
        if revision is None:
            return "–"
        return _("Revision %(n)d by %(who)s, %(when)s") % {
            "n": revision.number,
            "who": revision.created_by_name,
            "when": timezone.localtime(revision.created_at).strftime("%Y-%m-%d %H:%M"),
        }

    @admin.display(description=gettext_lazy("live revision"))
    def live_display(self, obj):
        if obj.live_revision is None:
            return _("Nothing published yet")
        return format_html(
            '{} (<a href="{}">{}</a>)',
            _("Revision %(n)d") % {"n": obj.live_revision.number},
            obj.get_absolute_url(),
            _("view live page"),
        )

    @admin.display(description=gettext_lazy("readability"))
    def readability_display(self, obj):
        revision = obj.latest_revision
        if revision is None or revision.readability_grade is None:
            return "–"
        return _(
            "US grade %(grade).1f (target %(target)s or lower); about %(minutes)d min to read, %(words)d words"
        ) % {
            "grade": revision.readability_grade,
            "target": f"{healthlib_settings.READABILITY_TARGET_GRADE:g}",
            "minutes": revision.reading_minutes,
            "words": revision.word_count,
        }

    # -- the form
    def get_form(self, request, obj=None, change=False, **kwargs):
        # Content fields are declared on the form; only the metadata are model fields. (The
        # model's own title and review interval are non-editable copies kept by the workflow.)
        model_fields = [name for name in self.form._meta.fields if name not in self.get_readonly_fields(request, obj)]
        kwargs["fields"] = [name for name in kwargs.get("fields") or model_fields if name in model_fields]
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def content_fieldset(self, request, obj):
        return (None, {"fields": list(self.form.content_fields) + ["based_on"]})

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return [
                (None, {"fields": ["content_preview"]}),
                (_("Workflow"), {"fields": self.workflow_readonly}),
                (_("Details"), {"fields": ["slug", *self.metadata_fields, "owner", "review_interval_days"]}),
            ]
        fieldsets = [self.content_fieldset(request, obj)]
        fieldsets.append((_("Details"), {"fields": ["slug", *self.metadata_fields, "owner", "review_interval_days"]}))
        if obj is not None:
            fieldsets.append((_("Workflow"), {"fields": self.workflow_readonly}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = list(self.workflow_readonly) + ["content_preview"]
        if obj is not None:
            readonly.append("slug")
        return readonly

    @admin.display(description=gettext_lazy("latest revision"))
    def content_preview(self, obj):
        return format_html('<div class="healthlib-preview">{}</div>', revision_preview(obj, obj.latest_revision))

    def save_form(self, request, form, change):
        return form.saved_item

    def save_model(self, request, obj, form, change):
        # Already saved by the workflow during form validation.
        pass

    def save_related(self, request, form, formsets, change):
        pass

    def has_delete_permission(self, request, obj=None):
        # Content with history cannot be deleted: archive it instead.
        return False

    # -- URLs
    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        urls = [
            path(
                "<path:object_id>/workflow/<slug:action>/",
                self.admin_site.admin_view(self.workflow_action_view),
                name=f"{info[0]}_{info[1]}_workflow",
            ),
        ]
        return urls + super().get_urls()

    # -- change form context
    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            # Only people who can edit count as "having the draft open"; readers of the page do not.
            can_edit = self.has_change_permission(request, obj)
            if can_edit:
                presence.touch(obj.pk, request.user)
            context.update(workspace_context(request, obj))
            context["can_edit"] = can_edit
            if not can_edit:
                context["others_here"] = []
            form = context["adminform"].form
            context["stale_revision"] = getattr(form, "stale_revision", None)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def response_change(self, request, obj):
        presence.leave(obj.pk, request.user)
        return super().response_change(request, obj)

    # -- workflow actions
    def workflow_action_view(self, request, object_id, action):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if action not in WORKFLOW_ACTIONS:
            raise Http404(_("Unknown workflow action."))
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(_("No such item."))
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        form = ActionForm(request.POST)
        back = _safe_next(request) or admin_url(obj)
        if not form.is_valid():
            return _refused(request, back, "; ".join(str(e) for errs in form.errors.values() for e in errs), 400)
        handler, needs_revision, success = WORKFLOW_ACTIONS[action]
        if needs_revision and not form.cleaned_data.get("revision"):
            return _refused(request, back, _("The form did not say which revision you saw. Reload and try again."), 400)
        try:
            result = handler(obj, request.user, form.cleaned_data)
        except NotPermitted as exc:
            return TemplateResponse(
                request,
                "admin/healthlib/refused.html",
                {**self.admin_site.each_context(request), "title": _("Not allowed"), "message": exc.message,
                 "back": admin_url(obj), "opts": self.opts},
                status=exc.status_code,
            )  # fmt: skip
        except WorkflowError as exc:
            return _refused(request, back, exc.message, exc.status_code)
        obj.refresh_from_db()
        message = success(request, obj, result) if callable(success) else success
        messages.success(request, message)
        if _wants_json(request):
            return JsonResponse({"ok": True, "state": obj.state, "message": str(message)})
        return HttpResponseRedirect(back)

    # -- history
    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(_("No such item."))
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        revisions = list(
            Revision.objects.filter(item=obj)
            .defer("content")
            .prefetch_related(
                Prefetch("reviews", queryset=Review.objects.order_by("reviewed_at", "pk")),
                Prefetch("events", queryset=WorkflowEvent.objects.order_by("created_at", "pk")),
            )
            .order_by("-number")
        )
        compare = None
        a, b = request.GET.get("a", ""), request.GET.get("b", "")
        old_id, new_id = parse_id(a), parse_id(b)
        if (a and old_id is None) or (b and new_id is None):
            raise BadRequest(_("Choose two revisions to compare."))
        if old_id and new_id:
            pair = {r.pk: r for r in Revision.objects.filter(item=obj, pk__in=[old_id, new_id])}
            if len(pair) == 2:
                old, new = sorted(pair.values(), key=lambda r: r.number)
                compare = {
                    "old": old,
                    "new": new,
                    **revision_diff(
                        old.content,
                        new.content,
                        old_label=_("revision %(n)d") % {"n": old.number},
                        new_label=_("revision %(n)d") % {"n": new.number},
                    ),
                }
        context = {
            **self.admin_site.each_context(request),
            "title": _("History of “%(title)s”") % {"title": obj.title},
            "subtitle": None,
            "object": obj,
            "original": obj,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "revisions": revisions,
            "compare": compare,
            "selected": (a, b),
            "item_events": WorkflowEvent.objects.filter(item=obj, revision__isnull=True).order_by("created_at"),
            "can_restore": workflow.can(request.user, "restore", obj),
            "restore_url": admin_url(obj, "workflow", "restore"),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.object_history_template, context)


def _credentials_problem(user) -> str:
    """Why the user's credentials would stop an approval now ("" when they would not), to say before they try."""
    try:
        credentials.require_current(user, workflow.TRANSITIONS["approve"].label)
    except CredentialsNotVerified as exc:
        return exc.message
    return ""


def revision_preview(item, revision) -> str:
    """A revision rendered as readers would see it, through the one sanitizing pipeline."""
    from django.template.loader import render_to_string

    if revision is None:
        return ""
    content = revision.content
    if item.kind == Kind.ARTICLE:
        document = render_document(content["body"])
        context = {"kind": "article", "content": content, "body_html": document.html}
    else:
        context = {
            "kind": "term",
            "content": content,
            "full_html": render_markdown(content["full_definition"]),
            "professional_html": render_markdown(content["professional_definition"]),
        }
    return render_to_string("admin/healthlib/content/preview.html", context)


def _wants_json(request) -> bool:
    return request.accepts("application/json") and not request.accepts("text/html")


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return None


def _refused(request, back: str, message: str, status: int):
    """A refusal in the normal form flow: say why, change nothing, go back (JSON clients get the status)."""
    if _wants_json(request):
        return JsonResponse({"ok": False, "error": str(message)}, status=status)
    messages.error(request, message)
    return HttpResponseRedirect(back)


# ---------------------------------------------------------------- the actions


def _submit(item, user, data):
    return workflow.submit(item, user, revision=data["revision"], comment=data["comment"])


def _withdraw(item, user, data):
    return workflow.withdraw(item, user, revision=data["revision"], comment=data["comment"])


def _approve(item, user, data):
    # Who may approve, and when, is refused first (403/409), so a missing field reveals nothing to outsiders.
    workflow.check(user, "approve", item)
    if not data["change_summary"].strip():
        raise InvalidContent(
            _(
                "Say in a few words what changed (readers see it in the review history), e.g. “Added: fertility section”."
            ),
            {"change_summary": [_("Required.")]},
        )
    return workflow.approve(
        item, user, revision=data["revision"], comment=data["comment"], change_summary=data["change_summary"]
    )


def _request_changes(item, user, data):
    return workflow.request_changes(item, user, revision=data["revision"], comment=data["comment"])


def _publish(item, user, data):
    return workflow.publish(item, user, revision=data["revision"])


def _reaffirm(item, user, data):
    return workflow.reaffirm(
        item, user, revision=data["revision"], comment=data["comment"], change_summary=data["change_summary"]
    )


def _archive(item, user, data):
    slug = data.get("replacement")
    replacement = None
    if slug:
        # The workflow refuses anything but another live item of the same kind; a missing one the same way.
        replacement = type(item.specific()).objects.filter(slug=slug).values_list("pk", flat=True).first() or 0
    return workflow.archive(item, user, comment=data["comment"], replacement=replacement)


def _restore(item, user, data):
    return workflow.restore(item, user, revision=data["revision"], based_on=data["based_on"])


def _schedule(item, user, data):
    if not data.get("publish_at"):
        raise InvalidContent(_("Choose a date and time to publish."))
    return workflow.schedule_publish(item, user, at=data["publish_at"], revision=data["revision"])


def _cancel_schedule(item, user, data):
    return workflow.cancel_schedule(item, user)


def _review_link(item, user, data):
    links = _preview_links()
    if links is None:  # pragma: no cover
        raise Http404
    if not user.has_perm(workflow.EDIT):
        raise NotPermitted(_("Only editors can share review links."))
    revision = Revision.objects.filter(item=item, pk=data["revision"]).first()
    if revision is None:
        raise Http404
    days = data.get("expires_in_days") or 7
    token = links.create_link(user, revision, datetime.timedelta(days=days))
    return links.url_for(token)


def _review_link_message(request, item, path):
    url = request.build_absolute_uri(path)
    return format_html(
        "{} <a href='{}' class='healthlib-share-link'>{}</a>",
        _("Review link created (read-only, expires automatically). Send this address:"),
        url,
        url,
    )


def _approved_message(request, item, review):
    if item.state == State.IN_REVIEW:
        return _("Approved. Another medical reviewer must also approve revision %(n)d before it can be published.") % {
            "n": review.revision.number
        }
    return _("Approved.")


#: action name -> (handler, needs the revision the user saw, success message)
WORKFLOW_ACTIONS: dict[str, tuple[Any, bool, Any]] = {
    "submit": (_submit, True, gettext_lazy("Submitted for medical review.")),
    "withdraw": (_withdraw, True, gettext_lazy("Withdrawn from review; it is a draft again.")),
    "approve": (_approve, True, _approved_message),
    "request_changes": (_request_changes, True, gettext_lazy("Changes requested; the editor has been told.")),
    "publish": (_publish, True, gettext_lazy("Published: readers now see this revision.")),
    "reaffirm": (_reaffirm, True, gettext_lazy("Reaffirmed as still accurate; the review date is today.")),
    "archive": (_archive, False, gettext_lazy("Archived: it is no longer on the site.")),
    "restore": (_restore, True, gettext_lazy("Restored as a new draft.")),
    "schedule": (_schedule, True, gettext_lazy("Scheduled for publication.")),
    "cancel_schedule": (_cancel_schedule, False, gettext_lazy("Schedule cancelled.")),
    "review_link": (_review_link, True, _review_link_message),
}


def workspace_context(request, item) -> dict[str, Any]:
    """Everything the change form shows around the fields: actions, banner, presence, checklist."""
    user = request.user
    latest, live = item.latest_revision, item.live_revision
    actions = []

    def add(name, label, revision=None, comment=None, **extra):
        actions.append(
            {
                "name": name,
                "label": label,
                "url": admin_url(item, "workflow", name),
                "revision": revision.pk if revision else "",
                "comment": comment,
                **extra,
            }
        )

    if _can(user, "submit", item):
        add("submit", _("Submit for medical review"), latest, comment="optional")
    if _can(user, "withdraw", item):
        add("withdraw", _("Withdraw from review"), latest)
    if _can(user, "approve", item):
        add("approve", _("Approve revision %(n)d") % {"n": latest.number}, latest, comment="optional",
            hash=latest.content_hash, summary="required")  # fmt: skip
    if _can(user, "request_changes", item):
        add("request_changes", _("Request changes"), latest, comment="required")
    if _can(user, "publish", item):
        add("publish", _("Publish revision %(n)d") % {"n": latest.number}, latest)
        if hasattr(workflow, "schedule_publish") and _can(user, "schedule_publish", item):
            add("schedule", _("Schedule publication"), latest, schedule=True)
    if item.publish_at and hasattr(workflow, "cancel_schedule") and _can(user, "cancel_schedule", item):
        add("cancel_schedule", _("Cancel scheduled publication"))
    if live is not None and _can(user, "reaffirm", item):
        add("reaffirm", _("Reaffirm live revision %(n)d as still accurate") % {"n": live.number}, live,
            comment="optional", summary="optional")  # fmt: skip
    if _can(user, "archive", item):
        add("archive", _("Archive"), comment="optional", danger=True, replacement=item.is_live)
    if item.state == State.ARCHIVED and _can(user, "restore", item):
        add("restore", _("Restore as a draft"), latest, based_on=latest.pk)
    if latest is not None and _preview_links() is not None and user.has_perm(workflow.EDIT):
        add("review_link", _("Create a review link for an outside expert"), latest, link=True)

    reviewer_page = None
    if item.state == State.IN_REVIEW and user.has_perm(workflow.REVIEW):
        reviewer_page = reverse("admin:healthlib_reviewqueue_review", args=[item.pk])
    return {
        "workflow_actions": actions,
        "latest_revision": latest,
        "live_revision": live,
        "editing_new_draft": live is not None,
        "content_frozen": item.state not in workflow.TRANSITIONS["save_draft"].sources and user.has_perm(workflow.EDIT),
        "others_here": presence.others(item.pk, user),
        "checklist": _checklist(item, latest) if latest else [],
        "readability_target": healthlib_settings.READABILITY_TARGET_GRADE,
        "history_url": admin_url(item, "history"),
        "reviewer_page": reviewer_page,
        "open_comments": Review.objects.filter(
            revision__item=item, decision=Decision.CHANGES_REQUESTED, round=item.review_round
        ).order_by("-reviewed_at")[:5]
        if item.state == State.CHANGES_REQUESTED
        else [],
    }


@admin.register(Article)
class ArticleAdmin(ContentItemAdmin):
    form = ArticleAdminForm
    list_display = ["title", "article_type", "state", "last_reviewed_at", "next_review_due", "readability"]
    list_filter = ["state", OverdueFilter, DueSoonFilter, "topics", "article_type", ReviewerFilter]
    metadata_fields = ("article_type", "topics")
    filter_horizontal = ["topics"]
    heavy_fields = ("live_summary", "live_body_html", "live_toc_html", "live_references")


@admin.register(GlossaryTerm)
class GlossaryTermAdmin(ContentItemAdmin):
    form = GlossaryTermAdminForm
    list_display = ["title", "state", "last_reviewed_at", "next_review_due", "readability"]
    list_filter = ["state", OverdueFilter, DueSoonFilter, ReviewerFilter]
    heavy_fields = ("live_full_definition_html", "live_professional_definition_html")


# ---------------------------------------------------------------- the review queue


def review_queue(user):
    """Items in review whose latest revision's text ``user`` did not write, and which they did not submit, oldest first.

    The same rule as :func:`healthlib.workflow.contributors`. The submission is stored on the item
    by :func:`healthlib.workflow.submit`, so this is a range scan of the (state, submitted_at, id)
    index, and the two exclusions only look at this user's revisions and submissions: a page of the
    queue costs the same whatever the number of rows. :func:`review_queue_entries` loads a page.
    """
    wrote = RevisionAuthor.objects.filter(revision=OuterRef("latest_revision"), user=user)
    submitted = WorkflowEvent.objects.filter(
        revision=OuterRef("latest_revision"), action="healthlib.submit", actor=user
    )
    return (
        ContentItem.objects.filter(state=State.IN_REVIEW)
        .filter(~Exists(wrote), ~Exists(submitted))
        # Never null in review (a database constraint), so the index order is the queue's order.
        .order_by("submitted_at", "pk")
    )


def review_queue_entries(pks, user) -> list[ContentItem]:
    """The queue's rows for ``pks`` (a page of ``review_queue(user)``), with their revisions, in queue order.

    ``approved_by_me``: ``user`` approved the latest revision in this round (with more than one
    approval required, the item waits for another reviewer).
    """
    approved_by_me = Review.objects.filter(
        revision=OuterRef("latest_revision"),
        round=OuterRef("review_round"),
        decision=Decision.APPROVED,
        reviewer=user,
    )
    return list(
        ContentItem.objects.filter(pk__in=pks)
        .annotate(approved_by_me=Exists(approved_by_me))
        .select_related("latest_revision", "live_revision")
        .defer("latest_revision__content", "live_revision__content")
        .order_by("submitted_at", "pk")
    )


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
        entries = review_queue_entries(page.object_list, request.user)
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
        contributed = request.user.pk in workflow.contributors(item, latest)
        context = {
            "credentials_problem": _credentials_problem(user),
            **self._context(request, _("Review “%(title)s”") % {"title": item.title}),
            "item": item,
            "latest": latest,
            "live": live,
            "diff": diff,
            "preview": revision_preview(item, latest),
            "checklist": _checklist(item, latest),
            "readability_target": healthlib_settings.READABILITY_TARGET_GRADE,
            "can_approve": _can(user, "approve", item),
            "can_request_changes": _can(user, "request_changes", item),
            "contributed": contributed,
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
        from healthlib import review_due

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


# ---------------------------------------------------------------- read-only history records


class ReadOnlyAdmin(IdCheckingAdmin):
    """Revisions, reviews and audit events are append-only: the admin only shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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


# ---------------------------------------------------------------- reader error reports


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
            return _refused(request, back, "; ".join(str(e) for errs in form.errors.values() for e in errs), 400)
        try:
            problem_reports.close_report(report, request.user, note=form.cleaned_data["note"])
        except WorkflowError as exc:
            return _refused(request, back, exc.message, exc.status_code)
        messages.success(request, _("The report is closed."))
        if _wants_json(request):
            return JsonResponse({"ok": True})
        return HttpResponseRedirect(reverse("admin:healthlib_problemreport_changelist"))


# ---------------------------------------------------------------- derived work still to do


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


@admin.register(DerivedWork)
class DerivedWorkAdmin(ReadOnlyAdmin):
    """Re-links and page stores still to do after a committed change, with the error of failed ones
    (healthlib.derived_work; the task backend's own admin, if any, shows the task runs)."""

    list_display = ["created_at", "action", "item", "attempts", "last_error"]
    list_filter = [FailedWorkFilter, "action"]
    list_select_related = ["item"]


# ---------------------------------------------------------------- topics and reviewer profiles


@admin.register(Topic)
class TopicAdmin(IdCheckingAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(ReviewerProfile)
class ReviewerProfileAdmin(IdCheckingAdmin):
    """A reviewer edits their own profile (what readers see); superusers edit anyone's.

    Credential verifiers (``healthlib.verify_credentials``) see every profile and record, with the
    "verify" action, that they checked the credentials with the licensing body today.
    """

    list_display = ["display_name", "credentials", "specialty", "licensing_body", "verification_status", "user"]
    search_fields = ["display_name", "credentials", "specialty", "licensing_body", "licence_number"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_select_related = ["user", "verification"]
    actions = ["verify_credentials"]

    @admin.display(description=gettext_lazy("credentials verified"))
    def verification_status(self, obj):
        found = credentials.status(obj, soon_days=DUE_SOON_DAYS)
        label = credentials.STATUS_LABELS[found]
        if obj.verification is None:
            return label
        return _("%(status)s: %(date)s by %(who)s, valid until %(until)s") % {
            "status": label,
            "date": obj.verification.verified_on.isoformat(),
            "who": obj.verification.verified_by_name,
            "until": credentials.expires_on(obj.verification.verified_on).isoformat(),
        }

    def has_verify_permission(self, request):
        return request.user.has_perm(credentials.VERIFY)

    @admin.action(permissions=["verify"], description=gettext_lazy("Mark credentials as verified today"))
    def verify_credentials(self, request, queryset):
        for profile in queryset.select_related("verification"):
            try:
                credentials.verify(profile, request.user)
            except WorkflowError as exc:
                self.message_user(request, f"{profile.display_name}: {exc.message}", messages.ERROR)
            else:
                self.message_user(
                    request, _("Credentials of %(name)s verified.") % {"name": profile.display_name}, messages.SUCCESS
                )

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if obj is None:
            return super().has_change_permission(request)
        return obj.user_id == request.user.pk

    def has_view_permission(self, request, obj=None):
        if obj is not None and obj.user_id == request.user.pk:
            return True
        return super().has_view_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = ["verification_status"]
        return readonly if request.user.is_superuser else ["user", *readonly]


# The HTTP cache purges (healthlib.purge).
from healthlib.purge import admin as purge_admin  # noqa: E402, F401
