"""The review queue's queries: items in review, minus those a reviewer may not judge.

Who may not judge a revision is the workflow's four-eyes rule (:func:`healthlib.workflow.contributed`,
the query form of :func:`healthlib.workflow.contributors`), applied here to every row at once.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from healthlib import workflow
from healthlib.models import ContentItem, Decision, Review, State
from healthlib.models.content import ContentItemQuerySet


class ReviewQueueQuerySet(ContentItemQuerySet):
    def awaiting(self, user) -> ReviewQueueQuerySet:
        """Items in review whose latest revision ``user`` did not write or submit, oldest submission first.

        The submission is stored on the item by :func:`healthlib.workflow.submit`, so this is a range
        scan of the (state, submitted_at, id) index, and the rule's two probes only look at this
        user's revisions and submissions: a page of the queue costs the same whatever the number of
        rows. :meth:`entries` loads a page.
        """
        return (
            self.filter(state=State.IN_REVIEW)
            .exclude(workflow.contributed(user, OuterRef("latest_revision")))
            # Never null in review (a database constraint), so the index order is the queue's order.
            .order_by("submitted_at", "pk")
        )

    def entries(self, pks, user) -> list[ContentItem]:
        """The queue's rows for ``pks`` (a page of :meth:`awaiting`), with their revisions, in queue order.

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
            self.filter(pk__in=pks)
            .annotate(approved_by_me=Exists(approved_by_me))
            .select_related("latest_revision", "live_revision")
            .defer("latest_revision__content", "live_revision__content")
            .order_by("submitted_at", "pk")
        )


def review_queue(user) -> ReviewQueueQuerySet:
    """The review queue of ``user``: see :meth:`ReviewQueueQuerySet.awaiting`."""
    return ReviewQueueQuerySet(ContentItem).awaiting(user)
