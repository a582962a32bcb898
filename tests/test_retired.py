"""Retired pages: an article or glossary term that readers saw and that was archived answers 410 Gone
(or 301 to the live page chosen to replace it), never a bare 404, and leaves sitemaps and feeds.
Never-published content stays 404. No cache layer keeps serving the old page."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from healthlib import cache as page_cache
from healthlib.exceptions import InvalidContent
from healthlib.models import State, WorkflowEvent
from tests import reader_fixtures
from tests.conftest import ARTICLE_CONTENT, edited
from tests.reader_fixtures import TERM_CONTENT, publish

clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

ARTICLE_URL = "/health/articles/checkpoint-inhibitors/"
OTHER_URL = "/health/articles/car-t-cell-therapy/"
TERM_URL = "/health/glossary/t-cell/"
FAST_MIDDLEWARE = ["healthlib.cache.PageCacheMiddleware", *settings.MIDDLEWARE]


def text(response) -> str:
    return response.content.decode()


def _snapshot(item):
    item.refresh_from_db()
    return (item.state, item.live_revision_id, item.replaced_by_id, WorkflowEvent.objects.count())


def test_archived_article_is_gone_with_a_way_back_to_the_library(wf, client, library, editor):
    wf.archive(library["article"], editor, comment="Merged into another page.")
    response = client.get(ARTICLE_URL)
    assert response.status_code == 410
    page = text(response)
    assert reverse("healthlib:article_index") in page and reverse("healthlib:search") in page
    assert "Merged into another page." not in page  # the editors' comment is not for readers
    assert 'name="robots" content="noindex"' in page


def test_retired_page_never_shows_a_draft_title(wf, client, library, editor):
    article = library["article"]
    wf.save_draft(
        article, editor, edited(ARTICLE_CONTENT, title="Unreviewed draft title"), based_on=article.latest_revision
    )
    wf.archive(article, editor)
    response = client.get(ARTICLE_URL)
    assert response.status_code == 410
    assert "Unreviewed draft title" not in text(response)


def test_archived_article_with_a_replacement_redirects_permanently(wf, client, library, editor):
    article, other = library["article"], library["other"]
    wf.archive(article, editor, replacement=other)
    article.refresh_from_db()
    assert article.replaced_by_id == other.pk
    response = client.get(ARTICLE_URL)
    assert response.status_code == 301
    assert response["Location"] == OTHER_URL
    # A lifetime, so browsers do not keep the redirect for ever (the page may be restored).
    assert "max-age=300" in response["Cache-Control"]
    event = WorkflowEvent.objects.filter(item=article).latest("pk")
    assert event.action == "healthlib.archive" and OTHER_URL in event.comment and "CAR T-cell therapy" in event.comment


def test_replacement_archived_later_makes_the_page_gone(wf, client, library, editor):
    wf.archive(library["article"], editor, replacement=library["other"])
    wf.archive(library["other"], editor)
    assert client.get(ARTICLE_URL).status_code == 410
    assert client.get(OTHER_URL).status_code == 410


@pytest.mark.parametrize("which", ["draft", "itself", "term", "missing", "archived"])
def test_replacement_must_be_another_live_item_of_the_same_kind(wf, library, editor, which):
    article = library["article"]
    if which == "draft":
        replacement = wf.create_article(editor, slug="a-draft", article_type="treatment", content=ARTICLE_CONTENT)
    elif which == "itself":
        replacement = article
    elif which == "term":
        replacement = library["term"]
    elif which == "archived":
        replacement = library["other"]
        wf.archive(replacement, editor)
    else:
        replacement = 987654
    before = _snapshot(article)
    with pytest.raises(InvalidContent, match="replacement must be another live article"):
        wf.archive(article, editor, replacement=replacement)
    assert _snapshot(article) == before


def test_never_published_content_stays_404(wf, client, editor):
    article = wf.create_article(editor, slug="never-live", article_type="treatment", content=ARTICLE_CONTENT)
    wf.archive(article, editor)
    assert client.get("/health/articles/never-live/").status_code == 404
    item = wf.create_glossary_term(editor, slug="never-live", content=edited(TERM_CONTENT, term="Never live"))
    wf.archive(item, editor)
    assert client.get("/health/glossary/never-live/").status_code == 404


def test_restored_article_is_a_draft_again_so_404(wf, client, library, editor):
    article = library["article"]
    wf.archive(article, editor, replacement=library["other"])
    article.refresh_from_db()
    wf.restore(article, editor, revision=article.latest_revision, based_on=article.latest_revision)
    article.refresh_from_db()
    assert article.state == State.DRAFT and article.replaced_by_id is None
    assert client.get(ARTICLE_URL).status_code == 404


def test_archived_term_is_gone_or_redirects(wf, client, library, editor, reviewer):
    antigen = wf.create_glossary_term(editor, slug="antigen", content=edited(TERM_CONTENT, term="Antigen"))
    publish(wf, antigen, editor, reviewer)
    wf.archive(library["term"], editor, replacement=antigen)
    response = client.get(TERM_URL)
    assert response.status_code == 301 and response["Location"] == "/health/glossary/antigen/"
    wf.archive(antigen, editor)
    response = client.get("/health/glossary/antigen/")
    assert response.status_code == 410
    assert reverse("healthlib:glossary") in text(response)
    other_term = wf.create_glossary_term(editor, slug="other-term", content=edited(TERM_CONTENT, term="Other"))
    with pytest.raises(InvalidContent, match="live glossary term"):
        wf.archive(other_term, editor, replacement=library["article"])


@pytest.mark.parametrize("replaced", [False, True])
def test_sitemap_and_feeds_drop_retired_pages(wf, client, library, editor, replaced):
    for url in ("/health/sitemap.xml", "/health/feeds/rss/", "/health/feeds/atom/"):
        assert "checkpoint-inhibitors" in text(client.get(url))  # cached now
    wf.archive(library["article"], editor, replacement=library["other"] if replaced else None)
    wf.archive(library["term"], editor)
    for url in ("/health/sitemap.xml", "/health/feeds/rss/", "/health/feeds/atom/"):
        page = text(client.get(url))
        assert "checkpoint-inhibitors" not in page, url
        assert "/glossary/t-cell/" not in page, url
    assert "car-t-cell-therapy" in text(client.get("/health/sitemap.xml"))


@pytest.mark.page_cache
@pytest.mark.parametrize("middleware", ["decorator", "fast_path"])
def test_no_cache_layer_keeps_serving_the_archived_page(wf, client, library, editor, middleware):
    page_cache._local_pages.clear()
    stack = FAST_MIDDLEWARE if middleware == "fast_path" else settings.MIDDLEWARE
    with override_settings(MIDDLEWARE=stack):
        for url in (ARTICLE_URL, TERM_URL):
            assert client.get(url).status_code == 200
            assert client.get(url).status_code == 200  # from the cache
        wf.archive(library["article"], editor, replacement=library["other"])
        wf.archive(library["term"], editor)
        assert client.get(ARTICLE_URL).status_code == 301
        assert client.get(TERM_URL).status_code == 410
        # Neither answer is stored: restoring and republishing is seen at once.
        assert client.get(TERM_URL).status_code == 410
    page_cache._local_pages.clear()


def test_admin_archive_with_a_replacement(client, library, editor):
    article = library["article"]
    client.force_login(editor)
    url = reverse("admin:healthlib_article_workflow", args=[article.pk, "archive"])
    change = client.get(reverse("admin:healthlib_article_change", args=[article.pk]))
    assert 'name="replacement"' in text(change)
    before = _snapshot(article)
    for bad in ("no-such-article", "t-cell", "checkpoint-inhibitors"):
        response = client.post(url, {"replacement": bad}, follow=True)
        assert response.status_code == 200
        assert any("replacement must be another live article" in str(m) for m in response.context["messages"])
        assert _snapshot(article) == before
    response = client.post(url, {"replacement": "bad slug!"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and _snapshot(article) == before
    client.post(url, {"replacement": "car-t-cell-therapy"})
    article.refresh_from_db()
    assert article.state == State.ARCHIVED and article.replaced_by_id == library["other"].pk
    client.logout()
    assert client.get(ARTICLE_URL)["Location"] == OTHER_URL
