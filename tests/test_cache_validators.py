"""``Last-Modified`` and ``ETag`` move whenever a page's bytes do, also when another item changed them.

A client revalidating with ``If-Modified-Since`` alone must never get a 304 for changed bytes: not
when a new glossary term re-links an article's body, not when a related article appears, not when a
new article starts using a term. Bytes that did not change keep their date.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.cache import caches
from django.http import HttpResponse
from django.test import override_settings
from django.utils.http import parse_http_date

from healthlib import cache as page_cache
from tests import reader_fixtures
from tests.conftest import ARTICLE_CONTENT, edited
from tests.reader_fixtures import TERM_CONTENT, publish

clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

pytestmark = pytest.mark.page_cache

ARTICLE_URL = "/health/articles/checkpoint-inhibitors/"
TERM_URL = "/health/glossary/t-cell/"


def assert_revalidation_sees_the_change(client, url: str, change) -> None:
    before = client.get(url)
    assert before.status_code == 200
    change()
    by_date = client.get(url, headers={"if-modified-since": before["Last-Modified"]})
    assert by_date.status_code == 200, "304 for a page whose bytes changed"
    assert by_date.content != before.content
    assert parse_http_date(by_date["Last-Modified"]) > parse_http_date(before["Last-Modified"])
    by_etag = client.get(url, headers={"if-none-match": before["ETag"]})
    assert by_etag.status_code == 200 and by_etag["ETag"] != before["ETag"]
    # The new validators hold: the changed page is now answered with a 304.
    assert client.get(url, headers={"if-modified-since": by_date["Last-Modified"]}).status_code == 304
    assert client.get(url, headers={"if-none-match": by_date["ETag"]}).status_code == 304


def test_a_new_term_relinking_the_body_moves_the_validators(wf, client, library, editor, reviewer):
    def publish_a_term_the_body_uses():
        content = {**TERM_CONTENT, "term": "rash", "aliases": [], "short_definition": "Red, itchy skin."}
        publish(wf, wf.create_glossary_term(editor, slug="rash", content=content), editor, reviewer)

    assert_revalidation_sees_the_change(client, ARTICLE_URL, publish_a_term_the_body_uses)
    assert "/health/glossary/rash/" in client.get(ARTICLE_URL).content.decode()


def test_a_new_related_article_moves_the_validators(wf, client, library, editor, reviewer, topic):
    def publish_a_related_article():
        content = edited(ARTICLE_CONTENT, title="Biomarker testing", body="## Overview\n\nA test.")
        article = wf.create_article(editor, slug="biomarker-testing", article_type="treatment", content=content)
        article.topics.add(topic)
        publish(wf, article, editor, reviewer)

    assert_revalidation_sees_the_change(client, ARTICLE_URL, publish_a_related_article)
    assert "Biomarker testing" in client.get(ARTICLE_URL).content.decode()


def test_a_new_article_using_the_term_moves_the_term_pages_validators(wf, client, library, editor, reviewer):
    def publish_an_article_using_the_term():
        content = edited(ARTICLE_CONTENT, title="Tumor vaccines", body="## Overview\n\nVaccines train T cells.")
        publish(
            wf,
            wf.create_article(editor, slug="tumor-vaccines", article_type="treatment", content=content),
            editor,
            reviewer,
        )

    assert_revalidation_sees_the_change(client, TERM_URL, publish_an_article_using_the_term)
    assert "Tumor vaccines" in client.get(TERM_URL).content.decode()


def test_unchanged_bytes_keep_their_date_across_other_publishes(wf, client, library, editor, reviewer):
    before = client.get(TERM_URL)
    # An article that does not use the term and shares no topic: the term page stays as it was.
    content = edited(ARTICLE_CONTENT, title="Paying for care", body="## Overview\n\nAsk about costs.")
    publish(
        wf,
        wf.create_article(editor, slug="paying-for-care", article_type="treatment", content=content),
        editor,
        reviewer,
    )
    after = client.get(TERM_URL, headers={"if-modified-since": before["Last-Modified"]})
    assert after.status_code == 304
    assert after["Last-Modified"] == before["Last-Modified"]


def test_bytes_changed_without_a_publish_move_the_date_even_after_the_record_is_culled(tmp_path, monkeypatch, rf):
    # A deploy's new templates change the bytes without a new content version; the file cache's
    # culling may meanwhile have dropped the page's record of the date it last served.
    now = [1_800_000_000.0]
    monkeypatch.setattr(page_cache, "time", SimpleNamespace(time=lambda: now[0], time_ns=lambda: int(now[0] * 1e9)))
    body = [b"first"]

    @page_cache.reader_page
    def view(request):
        return HttpResponse(body[0])

    location = str(tmp_path / "cache")
    backend = "django.core.cache.backends.filebased.FileBasedCache"
    with override_settings(CACHES={"default": {"BACKEND": backend, "LOCATION": location}}):
        page_cache.invalidate()
        dates = []
        for text in (b"first", b"second", b"third"):
            now[0] += 100
            body[0] = text
            caches["default"].clear()  # pages and records go; the version lives out of the culled space
            response = view(rf.get("/page/", headers={"if-modified-since": dates[-1]} if dates else {}))
            assert response.status_code == 200 and response.content == text
            dates.append(response["Last-Modified"])
        assert [parse_http_date(date) for date in dates] == sorted({parse_http_date(date) for date in dates})


def test_search_results_are_revalidated_by_etag_only(client, library):
    # Not stored, so no record of when their bytes changed: a Last-Modified could only be a guess.
    response = client.get("/health/search/", {"q": "checkpoint"})
    assert response.status_code == 200 and "Last-Modified" not in response
    assert (
        client.get("/health/search/", {"q": "checkpoint"}, headers={"if-none-match": response["ETag"]}).status_code
        == 304
    )
