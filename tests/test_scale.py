"""What keeps pages fast at 100,000 articles (see docs/benchmarks.md): the shape of their queries.

The benchmarks measure the time; these tests pin down the causes, so a change that brings back a
sort of every article, a second COUNT or tens of kilobytes of HTML per changelist row fails here.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from healthlib import workflow
from healthlib.models import Topic
from tests.conftest import ARTICLE_CONTENT, edited


def sql_of(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [query["sql"] for query in ctx.captured_queries]


def live_article(editor, reviewer, slug: str, title: str, topic: Topic):
    article = workflow.create_article(
        editor, slug=slug, article_type="drug", content=edited(ARTICLE_CONTENT, title=title)
    )
    article.topics.add(topic)
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    workflow.publish(article, editor)
    return article


@pytest.mark.django_db
def test_article_changelist_leaves_out_the_reader_html_and_counts_once(client, editor, reviewer):
    topic = Topic.objects.create(name="T", slug="t")
    live_article(editor, reviewer, "one", "One", topic)
    client.force_login(editor)
    queries = sql_of(client, reverse("admin:healthlib_article_changelist"))
    rows = [sql for sql in queries if '"healthlib_article"."slug"' in sql and "COUNT(" not in sql]
    assert rows, queries
    assert all("live_body_html" not in sql and "live_toc_html" not in sql for sql in rows)
    assert sum("COUNT(" in sql for sql in queries) == 1
    # The rows still show what editors need.
    page = client.get(reverse("admin:healthlib_article_changelist")).content.decode()
    assert "One" in page


@pytest.mark.django_db
def test_related_articles_use_exists_not_a_distinct_join(client, editor, reviewer):
    topic = Topic.objects.create(name="T", slug="t")
    live_article(editor, reviewer, "a", "Alpha", topic)
    live_article(editor, reviewer, "b", "Beta", topic)
    queries = sql_of(client, "/health/articles/a/")
    related = [sql for sql in queries if "healthlib_article_topics" in sql and "live_summary" in sql]
    assert len(related) == 1
    assert "EXISTS" in related[0] and "DISTINCT" not in related[0]
    assert 'href="/health/articles/b/"' in client.get("/health/articles/a/").content.decode()
