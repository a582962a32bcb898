"""An item's history page in the admin: its revisions with their reviews and events, and a diff of any two."""

from __future__ import annotations

from django.contrib.admin.utils import unquote
from django.core.exceptions import BadRequest, PermissionDenied
from django.db.models import Prefetch
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from healthlib import workflow
from healthlib.admin.base import admin_url
from healthlib.diff import revision_diff
from healthlib.models import Review, Revision, WorkflowEvent
from healthlib.request_ids import parse_id


class HistoryMixin:
    """Replaces the admin's history view (the log of admin edits) with the item's workflow history."""

    object_history_template = "admin/healthlib/content/history.html"

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
        a, b = request.GET.get("a", ""), request.GET.get("b", "")
        old_id, new_id = parse_id(a), parse_id(b)
        if (a and old_id is None) or (b and new_id is None):
            raise BadRequest(_("Choose two revisions to compare."))
        context = {
            **self.admin_site.each_context(request),
            "title": _("History of “%(title)s”") % {"title": obj.title},
            "subtitle": None,
            "object": obj,
            "original": obj,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "revisions": revisions,
            "compare": _compare(obj, old_id, new_id) if old_id and new_id else None,
            "selected": (a, b),
            "item_events": WorkflowEvent.objects.filter(item=obj, revision__isnull=True).order_by("created_at"),
            "can_restore": workflow.can(request.user, "restore", obj),
            "restore_url": admin_url(obj, "workflow", "restore"),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.object_history_template, context)


def _compare(item, old_id: int, new_id: int) -> dict | None:
    """The diff between two revisions of ``item``, older first; None unless both are its revisions."""
    pair = {r.pk: r for r in Revision.objects.filter(item=item, pk__in=[old_id, new_id])}
    if len(pair) != 2:
        return None
    old, new = sorted(pair.values(), key=lambda r: r.number)
    return {
        "old": old,
        "new": new,
        **revision_diff(
            old.content,
            new.content,
            old_label=_("revision %(n)d") % {"n": old.number},
            new_label=_("revision %(n)d") % {"n": new.number},
        ),
    }
