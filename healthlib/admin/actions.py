"""Workflow actions in the admin: the buttons on an item's change form and the endpoint they post to.

Each action is a row of :data:`ACTIONS`: the :mod:`healthlib.workflow` function it calls and which
posted fields become its arguments, its button, and its success message. The endpoint,
``<pk>/workflow/<action>/``, takes the revision the user saw. ``NotPermitted`` (wrong role, reviewer
is the author) answers **403**. Other refusals (``TransitionNotAllowed``, ``StaleVersion``,
``InvalidContent``...) are part of the normal form flow: an error message and a redirect back to
the page, with nothing changed; a client that asks for JSON only gets the error's own status (409,
400...).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from healthlib import preview_links, workflow
from healthlib.admin.base import admin_url, form_errors, refused, safe_next, wants_json
from healthlib.exceptions import InvalidContent, NotPermitted, WorkflowError
from healthlib.forms import ActionForm
from healthlib.models import Revision, State

#: An argument of an action: the name of an :class:`ActionForm` field, or a function of (item, cleaned data).
Source = str | Callable[[Any, dict[str, Any]], Any]


@dataclass(frozen=True)
class Action:
    """One admin workflow action: ``run(item, user, **arguments)`` behind a button."""

    name: str
    #: A :mod:`healthlib.workflow` function (or, for review links, :func:`share_review_link`).
    run: Callable[..., Any]
    #: Keyword argument of ``run`` -> where its value comes from.
    arguments: dict[str, Source]
    label: Any
    #: A message, or a function of (request, item, what ``run`` returned).
    success: Any
    #: The transition the button's visibility (and ``check_first``) asks :func:`workflow.can` about.
    transition: str | None = None
    #: The revision the button carries and the POST must name: "latest", "live", or None (none needed).
    revision: str | None = "latest"
    #: Posted fields that must not be blank -> the refusal (400) when they are.
    required: dict[str, Any] = field(default_factory=dict)
    #: Refuse who may not act (403/409) before a blank required field (400), which would reveal nothing then.
    check_first: bool = False
    #: The comment box: None, "optional" or "required".
    comment: str | None = None
    #: More for the button's template: a function of the item.
    button: Callable[[Any], dict[str, Any]] | None = None
    #: A further condition for showing the button: a function of (user, item).
    shown: Callable[[Any, Any], bool] | None = None

    def available(self, user, item) -> bool:
        if self.shown is not None and not self.shown(user, item):
            return False
        return self.transition is None or workflow.can(user, self.transition, item)

    def perform(self, item, user, data: dict[str, Any]) -> Any:
        if self.check_first:
            workflow.check(user, self.transition, item)
        for name, message in self.required.items():
            value = data.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise InvalidContent(str(message), {name: [_("Required.")]})
        kwargs = {
            key: source(item, data) if callable(source) else data[source] for key, source in self.arguments.items()
        }
        return self.run(item, user, **kwargs)


def share_review_link(item, user, *, revision: int, expires_in_days: int | None) -> str:
    """The path of a new read-only review link to ``revision`` of ``item``, for an outside expert."""
    if not user.has_perm(workflow.EDIT):
        raise NotPermitted(_("Only editors can share review links."))
    found = Revision.objects.filter(item=item, pk=revision).first()
    if found is None:
        raise Http404
    token = preview_links.create_link(user, found, datetime.timedelta(days=expires_in_days or 7))
    return preview_links.url_for(token)


def _replacement(item, data) -> int | None:
    """The live page replacing an archived one, named by its slug; the workflow refuses a wrong one."""
    slug = data.get("replacement")
    if not slug:
        return None
    # 0 for a slug that names nothing: refused by the workflow like any item that cannot replace this one.
    return type(item.specific()).objects.filter(slug=slug).values_list("pk", flat=True).first() or 0


def _approved(request, item, review) -> str:
    if item.state == State.IN_REVIEW:
        return _("Approved. Another medical reviewer must also approve revision %(n)d before it can be published.") % {
            "n": review.revision.number
        }
    return _("Approved.")


def _review_link_created(request, item, path):
    url = request.build_absolute_uri(path)
    return format_html(
        "{} <a href='{}' class='healthlib-share-link'>{}</a>",
        _("Review link created (read-only, expires automatically). Send this address:"),
        url,
        url,
    )


SEEN = {"revision": "revision"}
SEEN_AND_COMMENT = {"revision": "revision", "comment": "comment"}
REVIEWED = {**SEEN_AND_COMMENT, "change_summary": "change_summary"}

#: The actions, in the order of their buttons. Columns: name, function, arguments, button label,
#: success message, transition; then what differs from the defaults.
ACTIONS: dict[str, Action] = {
    action.name: action
    for action in [
        Action("submit", workflow.submit, SEEN_AND_COMMENT, gettext_lazy("Submit for medical review"),
               gettext_lazy("Submitted for medical review."), "submit", comment="optional"),
        Action("withdraw", workflow.withdraw, SEEN_AND_COMMENT, gettext_lazy("Withdraw from review"),
               gettext_lazy("Withdrawn from review; it is a draft again."), "withdraw"),
        Action("approve", workflow.approve, REVIEWED, gettext_lazy("Approve revision %(n)d"), _approved, "approve",
               required={"change_summary": gettext_lazy(
                   "Say in a few words what changed (readers see it in the review history), e.g. “Added: fertility section”."
               )},
               check_first=True, comment="optional",
               button=lambda item: {"hash": item.latest_revision.content_hash, "summary": "required"}),
        Action("request_changes", workflow.request_changes, SEEN_AND_COMMENT, gettext_lazy("Request changes"),
               gettext_lazy("Changes requested; the editor has been told."), "request_changes", comment="required"),
        Action("publish", workflow.publish, SEEN, gettext_lazy("Publish revision %(n)d"),
               gettext_lazy("Published: readers now see this revision."), "publish"),
        Action("schedule", workflow.schedule_publish, {"at": "publish_at", **SEEN},
               gettext_lazy("Schedule publication"), gettext_lazy("Scheduled for publication."), "schedule_publish",
               required={"publish_at": gettext_lazy("Choose a date and time to publish.")},
               button=lambda item: {"schedule": True}),
        Action("cancel_schedule", workflow.cancel_schedule, {}, gettext_lazy("Cancel scheduled publication"),
               gettext_lazy("Schedule cancelled."), "cancel_schedule", revision=None),
        Action("reaffirm", workflow.reaffirm, REVIEWED, gettext_lazy("Reaffirm live revision %(n)d as still accurate"),
               gettext_lazy("Reaffirmed as still accurate; the review date is today."), "reaffirm", revision="live",
               comment="optional", button=lambda item: {"summary": "optional"}),
        Action("archive", workflow.archive, {"comment": "comment", "replacement": _replacement},
               gettext_lazy("Archive"), gettext_lazy("Archived: it is no longer on the site."), "archive",
               revision=None, comment="optional", button=lambda item: {"danger": True, "replacement": item.is_live}),
        Action("restore", workflow.restore, {**SEEN, "based_on": "based_on"}, gettext_lazy("Restore as a draft"),
               gettext_lazy("Restored as a new draft."), "restore",
               button=lambda item: {"based_on": item.latest_revision.pk},
               shown=lambda user, item: item.state == State.ARCHIVED),
        Action("review_link", share_review_link, {**SEEN, "expires_in_days": "expires_in_days"},
               gettext_lazy("Create a review link for an outside expert"), _review_link_created,
               button=lambda item: {"link": True},
               shown=lambda user, item: item.latest_revision is not None and user.has_perm(workflow.EDIT)),
    ]
}  # fmt: skip
#: Kept for callers of the old name.
WORKFLOW_ACTIONS = ACTIONS


def buttons(user, item) -> list[dict[str, Any]]:
    """The action buttons ``user`` may use on ``item`` now, for ``includes/action_form.html``."""
    revisions = {"latest": item.latest_revision, "live": item.live_revision, None: None}
    shown = []
    for action in ACTIONS.values():
        if not action.available(user, item):
            continue
        revision = revisions[action.revision]
        shown.append(
            {
                "name": action.name,
                "label": str(action.label) % {"n": revision.number} if revision else str(action.label),
                "url": admin_url(item, "workflow", action.name),
                "revision": revision.pk if revision else "",
                "comment": action.comment,
                **(action.button(item) if action.button else {}),
            }
        )
    return shown


class WorkflowActionsMixin:
    """The ``<pk>/workflow/<action>/`` endpoint of a content admin."""

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

    def workflow_action_view(self, request, object_id, action):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if action not in ACTIONS:
            raise Http404(_("Unknown workflow action."))
        chosen = ACTIONS[action]
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(_("No such item."))
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        form = ActionForm(request.POST)
        back = safe_next(request) or admin_url(obj)
        if not form.is_valid():
            return refused(request, back, form_errors(form), 400)
        if chosen.revision and not form.cleaned_data.get("revision"):
            return refused(request, back, _("The form did not say which revision you saw. Reload and try again."), 400)
        try:
            result = chosen.perform(obj, request.user, form.cleaned_data)
        except NotPermitted as exc:
            return TemplateResponse(
                request,
                "admin/healthlib/refused.html",
                {**self.admin_site.each_context(request), "title": _("Not allowed"), "message": exc.message,
                 "back": admin_url(obj), "opts": self.opts},
                status=exc.status_code,
            )  # fmt: skip
        except WorkflowError as exc:
            return refused(request, back, exc.message, exc.status_code)
        obj.refresh_from_db()
        message = chosen.success(request, obj, result) if callable(chosen.success) else chosen.success
        messages.success(request, message)
        if wants_json(request):
            return JsonResponse({"ok": True, "state": obj.state, "message": str(message)})
        return HttpResponseRedirect(back)
