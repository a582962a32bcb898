"""What an item's change form shows around its fields: action buttons, banner, presence, checklist, open comments."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from healthlib import checklist, presence, workflow
from healthlib.admin.actions import buttons
from healthlib.admin.base import admin_url
from healthlib.conf import healthlib_settings
from healthlib.models import Decision, Review, State


def workspace_context(request, item) -> dict[str, Any]:
    """Everything the change form shows around the fields: actions, banner, presence, checklist."""
    user = request.user
    latest, live = item.latest_revision, item.live_revision
    reviewer_page = None
    if item.state == State.IN_REVIEW and user.has_perm(workflow.REVIEW):
        reviewer_page = reverse("admin:healthlib_reviewqueue_review", args=[item.pk])
    return {
        "workflow_actions": buttons(user, item),
        "latest_revision": latest,
        "live_revision": live,
        "editing_new_draft": live is not None,
        "content_frozen": item.state not in workflow.TRANSITIONS["save_draft"].sources and user.has_perm(workflow.EDIT),
        "others_here": presence.others(item.pk, user),
        "checklist": checklist.evaluate(item, latest) if latest else [],
        "readability_target": healthlib_settings.READABILITY_TARGET_GRADE,
        "history_url": admin_url(item, "history"),
        "reviewer_page": reviewer_page,
        "open_comments": Review.objects.filter(
            revision__item=item, decision=Decision.CHANGES_REQUESTED, round=item.review_round
        ).order_by("-reviewed_at")[:5]
        if item.state == State.CHANGES_REQUESTED
        else [],
    }
