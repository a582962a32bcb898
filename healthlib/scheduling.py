"""Scheduled publishing: publish every approved item whose go-live time has come.

Run :func:`publish_due` from cron through ``manage.py healthlib_publish_scheduled``. Each item is
published by :func:`healthlib.workflow.publish` in the name of the person who scheduled it, so the
same guards, checklist, audit event and notifications apply as when publishing by hand.
"""

from __future__ import annotations

import datetime
import logging

from django.utils import timezone
from django.utils.translation import gettext as _

from healthlib import workflow
from healthlib.exceptions import WorkflowError
from healthlib.models import Article, ContentItem, GlossaryTerm, State

logger = logging.getLogger(__name__)


class PublishedItems(list):
    """The items :func:`publish_due` published, plus ``skipped``: ``(item, reason)`` pairs it could not publish."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped: list[tuple[ContentItem, str]] = []


def due(now: datetime.datetime | None = None):
    """Approved items whose go-live time is at or before ``now``, earliest first."""
    now = now or timezone.now()
    return (
        ContentItem.objects.filter(state=State.APPROVED, publish_at__isnull=False, publish_at__lte=now)
        .select_related("scheduled_by", "latest_revision")
        .order_by("publish_at", "pk")
    )


def _specific(item: ContentItem) -> Article | GlossaryTerm:
    return ContentItem.specific_model(item.kind).objects.get(pk=item.pk)


def publish_due(now: datetime.datetime | None = None) -> PublishedItems:
    """Publish every approved item whose ``publish_at`` has passed. Safe to run again at any time.

    An item whose scheduler was deleted or may no longer publish (or that fails the checklist) is
    logged and left scheduled, and reported in ``result.skipped``; an editor must publish or
    reschedule it. An item another run published meanwhile is silently left alone.
    """
    result = PublishedItems()
    for entry in due(now):
        item = _specific(entry)
        user = entry.scheduled_by
        if user is None:
            reason = _("the person who scheduled it no longer has an account")
        elif not user.is_active:
            reason = _("%(user)s is no longer active") % {"user": user.get_username()}
        else:
            try:
                published = workflow.publish(item, user, revision=entry.latest_revision_id)
            except WorkflowError as error:
                current = ContentItem.objects.filter(pk=item.pk).values("state", "publish_at").first()
                if current is None or current["state"] != State.APPROVED or current["publish_at"] is None:
                    continue  # published, edited or cancelled meanwhile: nothing to do
                reason = str(error)
            except Exception as error:  # one broken item must not stop the others going live
                logger.exception("healthlib failed while publishing scheduled item %s", item.pk)
                reason = repr(error)
            else:
                logger.info("healthlib published scheduled item %s (%r) for %s", item.pk, item.title, user)
                result.append(published)
                continue
        logger.warning("healthlib could not publish scheduled item %s (%r): %s", item.pk, item.title, reason)
        result.skipped.append((item, reason))
    return result
