"""Driving the admin in tests: its URLs, a change form's data, an item's state before and after, builders.

Shared by the tests of :mod:`healthlib.admin`'s modules (``tests/test_admin_*.py``) and by others that post to
the admin (form encoding, markup bounds, tasks).
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from healthlib import workflow
from healthlib.forms import references_to_text
from healthlib.models import Article, Review, Revision, WorkflowEvent
from tests.conftest import ARTICLE_CONTENT, edited

ACTIONS = {
    "submit",
    "withdraw",
    "approve",
    "request_changes",
    "publish",
    "schedule",
    "cancel_schedule",
    "reaffirm",
    "archive",
    "restore",
    "review_link",
}


LINK = {"review_link"}
SCHEDULE = {"schedule"}


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def change_url(item) -> str:
    model = "article" if isinstance(item, Article) else "glossaryterm"
    return reverse(f"admin:healthlib_{model}_change", args=[item.pk])


def action_url(item, action: str) -> str:
    model = "article" if isinstance(item, Article) else "glossaryterm"
    return reverse(f"admin:healthlib_{model}_workflow", args=[item.pk, action])


def shown_actions(client, item) -> set[str]:
    page = client.get(change_url(item))
    assert page.status_code == 200
    return set(re.findall(r'data-action="(\w+)"', page.content.decode())) & ACTIONS


def snapshot(item):
    item.refresh_from_db()
    return (
        item.state,
        item.latest_revision_id,
        item.live_revision_id,
        Revision.objects.count(),
        Review.objects.count(),
        WorkflowEvent.objects.count(),
    )


def form_data(article: Article, **content) -> dict:
    latest = article.latest_revision
    data = {
        "article_type": article.article_type,
        "topics": [t.pk for t in article.topics.all()],
        "owner": article.owner_id or "",
        "title": latest.content["title"],
        "summary": latest.content["summary"],
        "body": latest.content["body"],
        "references": references_to_text(latest.content["references"]),
        "review_interval_days": article.review_interval_days or "",
        "based_on": latest.pk,
    }
    data.update(content)
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def in_review(article, editor):
    workflow.submit(article, editor, revision=article.latest_revision)
    article.refresh_from_db()
    return article


def approved(article, editor, reviewer):
    in_review(article, editor)
    workflow.approve(article, reviewer, revision=article.latest_revision)
    article.refresh_from_db()
    return article


# ---------------------------------------------------------------- builders


def make_articles(user, n: int, *, submit: bool = False, topic=None):
    for i in range(n):
        article = workflow.create_article(
            user, slug=f"a-{i}", article_type="drug", content=edited(ARTICLE_CONTENT, title=f"Article {i}")
        )
        if topic:
            article.topics.add(topic)
        if submit:
            workflow.submit(article, user)
