"""healthlib.admin.history: an item's revisions, the diff of any two, and restoring an old one."""

from __future__ import annotations

from django.urls import reverse

from healthlib import workflow
from healthlib.models import Revision
from tests.admin_pages import (
    _clear_cache,  # noqa: F401 (an autouse fixture: the presence notices live in the cache)
    action_url,
    messages_of,
    snapshot,
)
from tests.conftest import ARTICLE_CONTENT, edited


def test_history_lists_revisions_and_diffs_any_two(client, published_article, editor, reviewer):
    first = published_article.latest_revision
    second = workflow.save_draft(
        published_article, editor, edited(ARTICLE_CONTENT, title="Second title"), based_on=first
    )
    client.force_login(editor)
    url = reverse("admin:healthlib_article_history", args=[published_article.pk])
    page = client.get(url).content.decode()
    assert 'id="revision-1"' in page and 'id="revision-2"' in page
    assert first.content_hash[:12] in page
    assert "Approved — Reviewer, MD" in page
    assert "healthlib.publish" in page
    page = client.get(url, {"a": first.pk, "b": second.pk}).content.decode()
    assert "Changes from revision 1 to revision 2" in page
    assert "<del>Checkpoint inhibitors</del> <ins>Second title</ins>" in page


def test_history_query_count_does_not_grow(client, article, editor, django_assert_max_num_queries):
    for i in range(15):
        workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, title=f"T{i}"), based_on=article.latest_revision)
    client.force_login(editor)
    with django_assert_max_num_queries(15):
        client.get(reverse("admin:healthlib_article_history", args=[article.pk]))


def test_restore_an_old_revision_from_history(client, article, editor):
    first = article.latest_revision
    workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, title="Worse title"), based_on=first)
    article.refresh_from_db()
    client.force_login(editor)
    page = client.get(reverse("admin:healthlib_article_history", args=[article.pk])).content.decode()
    assert "Restore this revision as a new draft" in page
    response = client.post(
        action_url(article, "restore"), {"revision": first.pk, "based_on": article.latest_revision_id}
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.latest_revision.number == 3
    assert article.latest_revision.content == first.content
    assert Revision.objects.filter(item=article).count() == 3  # history is never rewritten


def test_restore_based_on_a_stale_revision_is_refused(client, article, editor):
    first = article.latest_revision
    workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, title="Worse title"), based_on=first)
    before = snapshot(article)
    client.force_login(editor)
    response = client.post(action_url(article, "restore"), {"revision": first.pk, "based_on": first.pk}, follow=True)
    assert any("changed while you were looking" in m for m in messages_of(response))
    assert snapshot(article) == before


def test_history_needs_view_permission(client, article, nobody):
    nobody.is_staff = True
    nobody.save()
    client.force_login(nobody)
    assert client.get(reverse("admin:healthlib_article_history", args=[article.pk])).status_code == 403
