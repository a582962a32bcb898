"""Review dates at a glance: what is overdue, due soon, recently reviewed, and scheduled to go live.

Used by the admin dashboard and the ``healthlib_review_due`` management command. Every list is
fetched with a fixed number of queries, however many items there are.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from healthlib.models import ContentItem, Decision, Review, State

RELATED = ("owner", "scheduled_by", "live_revision", "article", "glossaryterm")


@dataclass(frozen=True)
class ReviewDueReport:
    today: datetime.date
    soon_days: int
    recent_days: int
    #: Live items whose next review date has passed, most overdue first.
    overdue: QuerySet
    #: Live items due from today to ``today + soon_days``, soonest first.
    due_soon: QuerySet
    #: Items reviewed (approved and published, or reaffirmed) in the last ``recent_days``, latest first.
    recently_reviewed: QuerySet
    #: Approved items with a go-live time, earliest first.
    scheduled: QuerySet

    @property
    def has_overdue(self) -> bool:
        return self.overdue.exists()


def live_items() -> QuerySet:
    return ContentItem.objects.filter(live_revision__isnull=False).select_related(*RELATED)


def report(today: datetime.date | None = None, soon_days: int = 30, recent_days: int = 30) -> ReviewDueReport:
    """The review-date report for ``today`` (default: today in the current time zone)."""
    today = today or timezone.localdate()
    recent_start = timezone.make_aware(
        datetime.datetime.combine(today - datetime.timedelta(days=recent_days), datetime.time.min)
    )
    live = live_items()
    return ReviewDueReport(
        today=today,
        soon_days=soon_days,
        recent_days=recent_days,
        overdue=live.filter(next_review_due__lt=today).order_by("next_review_due", "title", "pk"),
        due_soon=live.filter(
            next_review_due__gte=today, next_review_due__lte=today + datetime.timedelta(days=soon_days)
        ).order_by("next_review_due", "title", "pk"),
        recently_reviewed=live.filter(last_reviewed_at__gte=recent_start).order_by("-last_reviewed_at", "pk"),
        scheduled=ContentItem.objects.filter(state=State.APPROVED, publish_at__isnull=False)
        .select_related(*RELATED)
        .order_by("publish_at", "pk"),
    )


def responsible_people(items) -> dict:
    """Map each responsible person to the items they should re-review, in the order given.

    Responsible are the item's owner and the medical reviewers who approved or reaffirmed its live
    revision, as long as their accounts still exist. One query for all items.
    """
    items = list(items)
    people: dict = {}
    assigned: dict[int, list] = defaultdict(list)

    def add(user, item) -> None:
        people.setdefault(user.pk, user)
        if item not in assigned[user.pk]:
            assigned[user.pk].append(item)

    by_revision = defaultdict(list)
    for review in (
        Review.objects.filter(
            revision_id__in=[item.live_revision_id for item in items],
            reviewer__isnull=False,
            decision__in=[Decision.APPROVED, Decision.REAFFIRMED],
        )
        .select_related("reviewer")
        .order_by("pk")
    ):
        by_revision[review.revision_id].append(review.reviewer)
    for item in items:
        if item.owner is not None:
            add(item.owner, item)
        for reviewer in by_revision[item.live_revision_id]:
            add(reviewer, item)
    return {people[pk]: assigned[pk] for pk in people}
