"""One preview renderer (:mod:`healthlib.previews`): every preview of a revision shows what publishing it would."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from healthlib import preview_links, workflow
from healthlib.models import Article
from healthlib.previews import preview_item
from tests.conftest import ARTICLE_CONTENT, edited

GLOSSARY_LINK = 'class="glossary-term" href="/health/glossary/t-cell/"'


@pytest.fixture
def linked_draft(editor, reviewer):
    """A draft whose body names a published glossary term, so the publish pipeline links it."""
    term = workflow.create_glossary_term(
        editor,
        slug="t-cell",
        content={"term": "T cell", "short_definition": "A white blood cell.", "aliases": [], "related_terms": []},
    )
    workflow.submit(term, editor)
    workflow.approve(term, reviewer)
    workflow.publish(term, editor)
    article = workflow.create_article(
        editor,
        slug="car-t",
        article_type="treatment",
        content=edited(ARTICLE_CONTENT, body="## How it works\n\nA T cell is changed to find cancer."),
    )
    workflow.submit(article, editor)
    article.refresh_from_db()
    return article


def test_the_preview_is_the_publish_rendering_on_an_unsaved_copy(linked_draft, editor, reviewer):
    revision = linked_draft.latest_revision
    shown = preview_item(revision)
    assert GLOSSARY_LINK in shown.live_body_html and shown.live_title == ARTICLE_CONTENT["title"]
    stored = Article.objects.get(pk=linked_draft.pk)
    assert (stored.live_body_html, stored.live_revision_id) == ("", None)  # the copy was never saved
    workflow.approve(linked_draft, reviewer)
    workflow.publish(linked_draft, editor)
    linked_draft.refresh_from_db()
    assert linked_draft.live_body_html == shown.live_body_html
    assert linked_draft.live_toc_html == shown.live_toc_html


def test_admin_shared_link_and_staff_preview_all_show_it(client, linked_draft, editor, reviewer):
    body = preview_item(linked_draft.latest_revision).live_body_html
    client.force_login(reviewer)
    review_page = client.get(reverse("admin:healthlib_reviewqueue_review", args=[linked_draft.pk]))
    staff_page = client.get(f"/health/preview/revision/{linked_draft.latest_revision_id}/")
    token = preview_links.create_link(editor, linked_draft.latest_revision, datetime.timedelta(days=1))
    client.logout()
    shared_page = client.get(preview_links.url_for(token))
    for page in (review_page, staff_page, shared_page):
        assert page.status_code == 200
        assert GLOSSARY_LINK in page.content.decode()
    assert body in review_page.context["preview"]
    assert body in shared_page.content.decode()
