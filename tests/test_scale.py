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
    counts = [sql for sql in queries if "COUNT(" in sql]
    assert len(counts) == 1
    # Unfiltered, the count is taken on the article table alone (no join to every ContentItem) ...
    assert "healthlib_contentitem" not in counts[0]
    draft = workflow.create_article(
        editor, slug="two", article_type="drug", content=edited(ARTICLE_CONTENT, title="Two")
    )
    assert client.get(reverse("admin:healthlib_article_changelist")).context["cl"].result_count == 2
    # ... and filtered, it counts what the filter selects.
    filtered = client.get(reverse("admin:healthlib_article_changelist"), {"state__exact": draft.state})
    assert filtered.context["cl"].result_count == 1
    # The rows still show what editors need.
    page = client.get(reverse("admin:healthlib_article_changelist")).content.decode()
    assert "One" in page


@pytest.mark.django_db
@pytest.mark.django_db
def test_reviewer_filter_lists_reviewers_without_scanning_every_review(client, editor, reviewer):
    topic = Topic.objects.create(name="T", slug="t")
    live_article(editor, reviewer, "one", "One", topic)
    client.force_login(editor)
    response = client.get(reverse("admin:healthlib_article_changelist"))
    choices = next(
        spec for spec in response.context["cl"].filter_specs if getattr(spec, "parameter_name", "") == "reviewer"
    )
    assert [(value, label) for value, label in choices.lookup_choices] == [(str(reviewer.pk), "Reviewer")]
    queries = sql_of(client, reverse("admin:healthlib_article_changelist"))
    assert not any("DISTINCT" in sql and "healthlib_review" in sql for sql in queries)


def test_related_articles_use_exists_not_a_distinct_join(client, editor, reviewer):
    topic = Topic.objects.create(name="T", slug="t")
    live_article(editor, reviewer, "a", "Alpha", topic)
    live_article(editor, reviewer, "b", "Beta", topic)
    queries = sql_of(client, "/health/articles/a/")
    related = [sql for sql in queries if "healthlib_article_topics" in sql and "live_summary" in sql]
    assert len(related) == 1
    assert "EXISTS" in related[0] and "DISTINCT" not in related[0]
    assert 'href="/health/articles/b/"' in client.get("/health/articles/a/").content.decode()
