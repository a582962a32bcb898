"""Articles, glossary terms and topics in the admin: lists, and the change form that edits the latest revision.

The form (:mod:`healthlib.forms`) only validates. Saving calls the workflow in
:meth:`ContentItemAdmin.save_model` (:func:`healthlib.workflow.create_article`,
:func:`~healthlib.workflow.create_glossary_term`, :func:`~healthlib.workflow.save_draft` with the
revision the editor started from, and the metadata transitions); a refusal (invalid content, a stale
version, a wrong state) rolls everything back and re-renders the bound form with the reason on it,
so nothing typed is lost.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from healthlib import presence, workflow
from healthlib.admin.actions import WorkflowActionsMixin
from healthlib.admin.base import IdCheckingAdmin
from healthlib.admin.filters import DueSoonFilter, OverdueFilter, ReviewerFilter
from healthlib.admin.history import HistoryMixin
from healthlib.admin.workspace import workspace_context
from healthlib.conf import healthlib_settings
from healthlib.exceptions import WorkflowError
from healthlib.forms import ArticleAdminForm, GlossaryTermAdminForm
from healthlib.models import Article, GlossaryTerm, Kind, Topic, content_hash
from healthlib.previews import preview_item


def preview_html(item, revision) -> str:
    """``revision`` as readers would see it (:mod:`healthlib.previews`), in the admin's preview block."""
    if revision is None:
        return ""
    shown = preview_item(revision, item)
    content = revision.content
    if item.kind == Kind.ARTICLE:
        context = {"kind": "article", "content": content, "body_html": shown.live_body_html}
    else:
        context = {
            "kind": "term",
            "content": content,
            "full_html": shown.live_full_definition_html,
            "professional_html": shown.live_professional_definition_html,
        }
    return render_to_string("admin/healthlib/content/preview.html", context)


class ChangeRefused(Exception):
    """The workflow refused a change the form had validated; ``error`` says why."""

    def __init__(self, error: WorkflowError):
        super().__init__(error.message)
        self.error = error


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


class ContentItemAdmin(WorkflowActionsMixin, HistoryMixin, IdCheckingAdmin):
    """Shared by ArticleAdmin and GlossaryTermAdmin: edit the latest revision through the workflow."""

    change_form_template = "admin/healthlib/content/change_form.html"
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
    #: Reader-facing copies of the live revision: large, and never shown in the admin.
    heavy_fields: tuple[str, ...] = ()

    # -- querysets and columns
    def get_changelist(self, request, **kwargs):
        return ContentChangeList

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

    @admin.display(description=gettext_lazy("latest revision"))
    def content_preview(self, obj):
        return format_html('<div class="healthlib-preview">{}</div>', preview_html(obj, obj.latest_revision))

    # -- the form
    def get_form(self, request, obj=None, change=False, **kwargs):
        # Content fields are declared on the form; only the metadata are model fields. (The
        # model's own title and review interval are non-editable copies kept by the workflow.)
        model_fields = [name for name in self.form._meta.fields if name not in self.get_readonly_fields(request, obj)]
        kwargs["fields"] = [name for name in kwargs.get("fields") or model_fields if name in model_fields]
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"refusal": getattr(request, "healthlib_refusal", None)})

    def get_fieldsets(self, request, obj=None):
        details = (_("Details"), {"fields": ["slug", *self.metadata_fields, "owner", "review_interval_days"]})
        if obj is not None and not self.has_change_permission(request, obj):
            return [
                (None, {"fields": ["content_preview"]}),
                (_("Workflow"), {"fields": self.workflow_readonly}),
                details,
            ]
        fieldsets = [(None, {"fields": [*self.form.content_fields, "based_on"]}), details]
        if obj is not None:
            fieldsets.append((_("Workflow"), {"fields": self.workflow_readonly}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = list(self.workflow_readonly) + ["content_preview"]
        if obj is not None:
            readonly.append("slug")
        return readonly

    def has_delete_permission(self, request, obj=None):
        # Content with history cannot be deleted: archive it instead.
        return False

    # -- saving: the workflow acts
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ChangeRefused as refusal:
            # The admin's transaction is rolled back. Show the same bound form again, with the
            # workflow's reason as its validation error (ContentItemForm.refusal): nothing typed is lost.
            request.healthlib_refusal = refusal.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_form(self, request, form, change):
        # Nothing is saved from the form itself; save_model calls the workflow.
        return form.instance

    def save_model(self, request, obj, form, change):
        try:
            with transaction.atomic():
                if change:
                    self.save_changes(request.user, obj, form)
                else:
                    obj.pk = self.create(request.user, form).pk
                    obj._state.adding = False
        except WorkflowError as error:
            raise ChangeRefused(error) from error
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # Topics are set by the workflow (create_article, set_article_details).
        pass

    def create(self, user, form):
        """Create the item and its first revision through the workflow; return it."""
        raise NotImplementedError

    def save_changes(self, user, item, form) -> None:
        """A new draft revision when the content changed, then the metadata, each through the workflow."""
        content = form.build_content()
        # Unchanged content needs no revision (and a frozen in-review item allows none).
        if content_hash(form.cleaned_for_hash(content)) != item.latest_revision.content_hash:
            # No fallback to the latest revision: a post without its base could replace a newer one.
            workflow.save_draft(item, user, content, based_on=form.cleaned_data.get("based_on"))
        if "owner" in form.cleaned_data and "owner" in form.changed_data:
            # The responsible editor is not workflow state; the (possibly stale) instance is not saved.
            type(item).objects.filter(pk=item.pk).update(owner=form.cleaned_data["owner"])
        self.save_details(user, item, form)
        if "review_interval_days" in form.changed_data:
            workflow.set_review_interval(item, user, form.cleaned_data.get("review_interval_days"))

    def save_details(self, user, item, form) -> None:
        """Kind-specific metadata (an article's type and topics)."""

    # -- the change form around the fields
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
            context["stale_revision"] = getattr(context["adminform"].form, "stale_revision", None)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def response_change(self, request, obj):
        presence.leave(obj.pk, request.user)
        return super().response_change(request, obj)


@admin.register(Article)
class ArticleAdmin(ContentItemAdmin):
    form = ArticleAdminForm
    list_display = ["title", "article_type", "state", "last_reviewed_at", "next_review_due", "readability"]
    list_filter = ["state", OverdueFilter, DueSoonFilter, "topics", "article_type", ReviewerFilter]
    metadata_fields = ("article_type", "topics")
    filter_horizontal = ["topics"]
    heavy_fields = ("live_summary", "live_body_html", "live_toc_html", "live_references")

    def create(self, user, form):
        data = form.cleaned_data
        return workflow.create_article(
            user,
            slug=data["slug"],
            article_type=data["article_type"],
            content=form.build_content(),
            topics=list(data.get("topics") or []),
            owner=data.get("owner"),
            review_interval_days=data.get("review_interval_days"),
        )

    def save_details(self, user, item, form):
        if not {"article_type", "topics"} & set(form.changed_data):
            return
        article_type = form.cleaned_data.get("article_type", item.article_type)
        topics = list(form.cleaned_data.get("topics", item.topics.all()))
        workflow.set_article_details(item, user, article_type=article_type, topics=topics)


@admin.register(GlossaryTerm)
class GlossaryTermAdmin(ContentItemAdmin):
    form = GlossaryTermAdminForm
    list_display = ["title", "state", "last_reviewed_at", "next_review_due", "readability"]
    list_filter = ["state", OverdueFilter, DueSoonFilter, ReviewerFilter]
    heavy_fields = ("live_full_definition_html", "live_professional_definition_html")

    def create(self, user, form):
        data = form.cleaned_data
        term = workflow.create_glossary_term(
            user, slug=data["slug"], content=form.build_content(), owner=data.get("owner")
        )
        if data.get("review_interval_days"):
            workflow.set_review_interval(term, user, data["review_interval_days"])
        return term


@admin.register(Topic)
class TopicAdmin(IdCheckingAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]
