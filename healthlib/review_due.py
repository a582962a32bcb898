"""Review dates at a glance: what is overdue, due soon, recently reviewed, scheduled to go live, and
which references were last checked broken.

Used by the admin dashboard and the ``healthlib_review_due`` management command. Every list is
fetched with a fixed number of queries, however many items there are.

Reminders (:func:`send_reminders`, from the command's ``--email`` or the task
``healthlib.tasks.send_review_reminders``) go out once per responsible person and day: each is
recorded in the outbox (:mod:`healthlib.notifications`) under a key naming the day and the person,
so a second run the same day, a retried task or a worker killed mid-way sends nobody a second one,
and the next run sends whatever the killed one had not.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q, QuerySet, Subquery, Value
from django.utils import timezone

from healthlib import notifications
from healthlib.conf import healthlib_settings
from healthlib.link_checks import broken_references
from healthlib.models import ContentItem, Decision, OutgoingEmail, Review, State

RELATED = ("owner", "scheduled_by", "live_revision", "article", "glossaryterm")
#: What the report never shows: the revision's content and the reader-facing HTML (tens of kilobytes a row).
HEAVY = (
    "live_revision__content", "article__live_body_html", "article__live_toc_html", "article__live_summary",
    "article__live_references", "glossaryterm__live_full_definition_html",
    "glossaryterm__live_professional_definition_html",
)  # fmt: skip


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

    def broken_links(self) -> list:
        """References of live articles last checked broken (``healthlib_check_links``), by article title."""
        return broken_references()


def live_items() -> QuerySet:
    return ContentItem.objects.filter(live_revision__isnull=False).select_related(*RELATED)


def _conditions(today: datetime.date, soon_days: int, recent_days: int) -> dict[str, Q]:
    """The filter of each list of the report, on ContentItem."""
    recent_start = timezone.make_aware(
        datetime.datetime.combine(today - datetime.timedelta(days=recent_days), datetime.time.min)
    )
    live = Q(live_revision__isnull=False)
    return {
        "overdue": live & Q(next_review_due__lt=today),
        "due_soon": live
        & Q(next_review_due__gte=today, next_review_due__lte=today + datetime.timedelta(days=soon_days)),
        "recently_reviewed": live & Q(last_reviewed_at__gte=recent_start),
        "scheduled": Q(state=State.APPROVED, publish_at__isnull=False),
    }


def report(today: datetime.date | None = None, soon_days: int = 30, recent_days: int = 30) -> ReviewDueReport:
    """The review-date report for ``today`` (default: today in the current time zone)."""
    today = today or timezone.localdate()
    where = _conditions(today, soon_days, recent_days)
    items = ContentItem.objects.select_related(*RELATED).defer(*HEAVY)
    return ReviewDueReport(
        today=today,
        soon_days=soon_days,
        recent_days=recent_days,
        overdue=items.filter(where["overdue"]).order_by("next_review_due", "title", "pk"),
        due_soon=items.filter(where["due_soon"]).order_by("next_review_due", "title", "pk"),
        recently_reviewed=items.filter(where["recently_reviewed"]).order_by("-last_reviewed_at", "pk"),
        scheduled=items.filter(where["scheduled"]).order_by("publish_at", "pk"),
    )


def counts(report: ReviewDueReport) -> dict[str, int]:
    """How many items each list of ``report`` holds, in one query (for pages that show only the first rows).

    One scalar subquery per list, so each count can use its own index (next review due, last reviewed,
    publish time) instead of one scan of every item.
    """
    where = _conditions(report.today, report.soon_days, report.recent_days)
    subqueries = {
        name: Subquery(
            ContentItem.objects.filter(condition).order_by().values(one=Value(1)).annotate(n=Count("pk")).values("n")
        )
        for name, condition in where.items()
    }
    row = ContentItem.objects.order_by().annotate(**subqueries).values(*subqueries)[:1]
    found = next(iter(row), None) or {}
    return {name: found.get(name) or 0 for name in where}


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


def person_name(user) -> str:
    """How a reminder and the report name a person."""
    if user is None:
        return "-"
    return user.get_full_name() or user.get_username()


def reminder_key(today: datetime.date, user) -> str:
    """The outbox key of one person's reminder of one day: what makes it go out once."""
    return f"healthlib.review_due:{today.isoformat()}:user={user.pk}"


def reminder_emails(result: ReviewDueReport, overdue=None, due_soon=None, broken=None) -> list[OutgoingEmail]:
    """One reminder per responsible person with an email address: their overdue and soon-due items
    and the broken references of their articles. Rendered, not recorded (see :func:`send_reminders`)."""
    overdue = list(result.overdue) if overdue is None else overdue
    due_soon = list(result.due_soon) if due_soon is None else due_soon
    broken = result.broken_links() if broken is None else broken
    overdue_ids = {item.pk for item in overdue}
    due = responsible_people([*overdue, *due_soon])
    # The same people are responsible for an article's references as for its review dates.
    articles = list({row.article_id: row.article for row in broken}.values())
    broken_by_person = {
        person: [row for row in broken if row.article_id in {a.pk for a in items}]
        for person, items in responsible_people(articles).items()
    }
    emails = []
    for person in dict.fromkeys([*due, *broken_by_person]):
        if not person.is_active or not person.email:
            continue
        items = due.get(person, [])
        context = {
            "person": person,
            "name": person_name(person),
            "overdue": [item for item in items if item.pk in overdue_ids],
            "due_soon": [item for item in items if item.pk not in overdue_ids],
            "broken_links": broken_by_person.get(person, []),
            "today": result.today,
            "soon_days": result.soon_days,
            "site_name": healthlib_settings.SITE_NAME,
        }
        emails.append(
            notifications.render("review_due", [person.email], context, key=reminder_key(result.today, person))
        )
    return emails


def send_reminders(
    result: ReviewDueReport | None = None, emails: list[OutgoingEmail] | None = None
) -> tuple[list[str], notifications.Outcome]:
    """Record today's reminders (those not recorded yet) and send every unsent one of today.

    Returns the keys recorded by this call and the sending's outcome. Idempotent: a person gets one
    reminder a day however often this runs; one that failed is tried again by the next run.
    """
    result = result or report()
    emails = reminder_emails(result) if emails is None else emails
    with transaction.atomic():
        recorded = notifications.record(emails, announce=False)
    return recorded, notifications.send_pending(keys=[email.key for email in emails])
