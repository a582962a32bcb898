"""healthlib.admin.review: the review queue, the review page and the review-dates dashboard."""

from __future__ import annotations

import pytest
from django.urls import reverse

from healthlib import workflow
from healthlib.models import Article
from tests.admin_pages import (
    _clear_cache,  # noqa: F401 (an autouse fixture: the presence notices live in the cache)
    change_url,
    in_review,
    make_articles,
)
from tests.conftest import ARTICLE_CONTENT, edited, make_user

# ---------------------------------------------------------------- review queue and review page


#: Page sizes in the query-count tests: small, so that a few dozen rows already fill several pages
#: (the real sizes, 100 and 50, took 200 items built through the workflow, about 50 s a test).
SMALL_PAGE = 10


@pytest.mark.parametrize("n", [3, 25])
def test_review_queue_query_count_does_not_grow(
    client, editor, reviewer, n, django_assert_max_num_queries, monkeypatch
):
    QUEUE_PAGE_SIZE = SMALL_PAGE
    monkeypatch.setattr("healthlib.admin.review.QUEUE_PAGE_SIZE", QUEUE_PAGE_SIZE)
    make_articles(editor, n, submit=True)
    client.force_login(reviewer)
    with django_assert_max_num_queries(7):
        response = client.get(reverse("admin:healthlib_reviewqueue_changelist"))
    assert len(response.context["entries"]) == min(n, QUEUE_PAGE_SIZE)
    assert response.context["page_obj"].paginator.count == n
    if n > QUEUE_PAGE_SIZE:
        # The rest is on the next pages, oldest first throughout.
        page = client.get(reverse("admin:healthlib_reviewqueue_changelist"), {"page": 2})
        first_page = {e.pk for e in response.context["entries"]}
        assert len(page.context["entries"]) == min(n - QUEUE_PAGE_SIZE, QUEUE_PAGE_SIZE)
        assert not first_page & {e.pk for e in page.context["entries"]}
        assert "Page 2 of" in page.content.decode()


def test_review_queue_lists_others_work_oldest_first(client, editor, reviewer, author_reviewer):
    first = workflow.create_article(editor, slug="first", article_type="drug", content=ARTICLE_CONTENT)
    own = workflow.create_article(author_reviewer, slug="own", article_type="drug", content=ARTICLE_CONTENT)
    # Not word for word what the dual-role user wrote: that text would be theirs too.
    second = workflow.create_article(
        editor, slug="second", article_type="drug", content=edited(ARTICLE_CONTENT, title="Second")
    )
    workflow.create_article(editor, slug="draft", article_type="drug", content=ARTICLE_CONTENT)
    for item in (first, own, second):
        in_review(item, item.owner)
    client.force_login(author_reviewer)
    entries = client.get(reverse("admin:healthlib_reviewqueue_changelist")).context["entries"]
    assert [e.pk for e in entries] == [first.pk, second.pk]
    # It agrees with the workflow's own rule.
    assert all(author_reviewer.pk not in workflow.contributors(e, e.latest_revision) for e in entries)
    client.force_login(reviewer)
    entries = client.get(reverse("admin:healthlib_reviewqueue_changelist")).context["entries"]
    assert [e.pk for e in entries] == [first.pk, own.pk, second.pk]


def test_review_queue_is_for_reviewers_only(client, editor):
    client.force_login(editor)
    assert client.get(reverse("admin:healthlib_reviewqueue_changelist")).status_code == 403


def test_admin_index_links_the_queue_and_dates_for_reviewers(client, reviewer, editor):
    client.force_login(reviewer)
    page = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:healthlib_reviewqueue_changelist") in page
    assert reverse("admin:healthlib_reviewdates_changelist") in page
    client.force_login(editor)
    page = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:healthlib_reviewqueue_changelist") not in page


def test_review_page_shows_diff_against_live_grade_checklist_and_hash(client, published_article, editor, reviewer):
    workflow.save_draft(
        published_article,
        editor,
        edited(ARTICLE_CONTENT, body=ARTICLE_CONTENT["body"] + "\n\nAsk about **fatigue** too."),
        based_on=published_article.latest_revision,
    )
    in_review(published_article, editor)
    latest = published_article.latest_revision
    client.force_login(reviewer)
    page = client.get(reverse("admin:healthlib_reviewqueue_review", args=[published_article.pk])).content.decode()
    assert "Changes against the live revision 1" in page
    assert "<ins>Ask about fatigue too.</ins>" in page
    assert "+Ask about **fatigue** too." in page
    assert f"You are approving revision 2, hash {latest.content_hash[:12]}…" in page
    assert f'<span class="healthlib-grade">{latest.readability_grade}</span>' in page
    assert 'data-check="references"' in page
    assert 'data-action="approve"' in page and 'data-action="request_changes"' in page


def test_diff_view_escapes_html(client, editor, reviewer):
    nasty = edited(
        ARTICLE_CONTENT,
        title="<script>alert('title')</script>",
        body="Hello <script>alert('body')</script> <img src=x onerror=alert(1)> [x](javascript:alert(2))",
    )
    article = workflow.create_article(editor, slug="nasty", article_type="drug", content=nasty)
    in_review(article, editor)
    client.force_login(reviewer)
    page = client.get(reverse("admin:healthlib_reviewqueue_review", args=[article.pk])).content.decode()
    assert "<script>alert" not in page
    assert "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "javascript:alert" not in page.replace("(javascript:alert(2))", "")
    assert "&lt;script&gt;alert(&#x27;body&#x27;)&lt;/script&gt;" in page  # the markdown source, shown as text
    history = client.get(reverse("admin:healthlib_article_history", args=[article.pk])).content.decode()
    assert "<script>alert" not in history


# ---------------------------------------------------------------- who opens the queue


def test_reviewer_only_user_cannot_open_queue_without_permission(client, db):
    plain = make_user("plainstaff")
    client.force_login(plain)
    assert client.get(reverse("admin:healthlib_reviewqueue_changelist")).status_code == 403


# ---------------------------------------------------------------- review-dates dashboard


def test_review_dates_dashboard(client, published_article, article, editor, reviewer):
    Article.objects.filter(pk=published_article.pk).update(next_review_due="2000-01-01")
    client.force_login(editor)
    response = client.get(reverse("admin:healthlib_reviewdates_changelist"))
    assert response.status_code == 200
    sections = {s["code"]: [row.pk for row, _ in s["rows"]] for s in response.context["sections"]}
    assert sections["overdue"] == [published_article.pk]
    assert sections["recently_reviewed"] == [published_article.pk]
    assert sections["due_soon"] == [] and sections["scheduled"] == []
    assert change_url(published_article) in response.content.decode()


@pytest.mark.parametrize("n", [3, 25])
def test_review_dates_query_count_does_not_grow(
    client, editor, reviewer, n, django_assert_max_num_queries, monkeypatch
):
    REVIEW_DATES_ROWS = SMALL_PAGE
    monkeypatch.setattr("healthlib.admin.review.REVIEW_DATES_ROWS", REVIEW_DATES_ROWS)
    make_articles(editor, n, submit=True)
    for article in Article.objects.all():
        workflow.approve(article, reviewer)
        workflow.publish(article, editor)
    client.force_login(editor)
    # 11: the reviewers whose credential verification is due are one more query (healthlib.credentials).
    with django_assert_max_num_queries(11):
        response = client.get(reverse("admin:healthlib_reviewdates_changelist"))
    recent = response.context["sections"][2]
    assert len(recent["rows"]) == min(n, REVIEW_DATES_ROWS) and recent["total"] == n
    if n > REVIEW_DATES_ROWS:
        assert f"Showing the first {REVIEW_DATES_ROWS} of {n}." in response.content.decode()


def test_review_dates_needs_a_role(client, db):
    client.force_login(make_user("plainstaff"))
    assert client.get(reverse("admin:healthlib_reviewdates_changelist")).status_code == 403
