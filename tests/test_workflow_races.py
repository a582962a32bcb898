"""Two requests racing the same transition on PostgreSQL: exactly one wins, the other gets a clear error."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from healthlib import workflow
from healthlib.exceptions import StaleVersion, TransitionNotAllowed, WorkflowError
from healthlib.models import Article, Review, Revision, State, WorkflowEvent
from tests.conftest import ARTICLE_CONTENT, edited

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (make test runs it)"),
]


def race(*calls):
    """Run the calls at the same moment in separate threads (separate connections); return outcomes."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except WorkflowError as error:
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.parametrize("attempt", range(5))
def test_two_reviewers_racing_to_approve(article, editor, reviewer, reviewer2, attempt):
    workflow.submit(article, editor)
    outcomes = race(
        lambda: workflow.approve(Article.objects.get(pk=article.pk), reviewer),
        lambda: workflow.approve(Article.objects.get(pk=article.pk), reviewer2),
    )
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], TransitionNotAllowed) and "approved" in str(losers[0])
    assert Review.objects.count() == 1
    assert WorkflowEvent.objects.filter(action="healthlib.approve").count() == 1
    assert Article.objects.get(pk=article.pk).state == State.APPROVED


@pytest.mark.parametrize("attempt", range(5))
def test_two_editors_racing_to_publish(article, editor, editor2, reviewer, attempt):
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    outcomes = race(
        lambda: workflow.publish(Article.objects.get(pk=article.pk), editor),
        lambda: workflow.publish(Article.objects.get(pk=article.pk), editor2),
    )
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert sum(isinstance(o, TransitionNotAllowed) for o in outcomes) == 1
    assert WorkflowEvent.objects.filter(action="healthlib.publish").count() == 1


@pytest.mark.parametrize("attempt", range(5))
def test_two_editors_saving_from_the_same_base(article, editor, editor2, attempt):
    base = article.latest_revision_id
    outcomes = race(
        lambda: workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, body="From editor one."), based_on=base),
        lambda: workflow.save_draft(article, editor2, edited(ARTICLE_CONTENT, body="From editor two."), based_on=base),
    )
    winners = [o for o in outcomes if isinstance(o, Revision)]
    assert len(winners) == 1
    assert sum(isinstance(o, StaleVersion) for o in outcomes) == 1
    latest = Article.objects.get(pk=article.pk).latest_revision
    assert latest == winners[0]  # the winner's text is what is stored: no lost update
    assert Revision.objects.filter(item=article).count() == 2
    assert WorkflowEvent.objects.filter(action="healthlib.save_draft").count() == 1
