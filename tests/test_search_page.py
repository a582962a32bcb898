"""The search page (/health/search/), over healthlib.search."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests import reader_fixtures
from tests.conftest import ARTICLE_CONTENT, edited

clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf


def text(response) -> str:
    return response.content.decode()


def test_empty_search_shows_the_form_only(client, db):
    response = client.get("/health/search/")
    page = text(response)
    assert response.status_code == 200
    assert '<input type="search" id="healthlib-q" name="q" value=""' in page
    assert "result" not in page.split("</form>", 1)[1]


def test_results_link_articles_and_terms_with_highlighted_snippets(client, library):
    page = text(client.get("/health/search/", {"q": "T cells"}))
    assert 'href="/health/glossary/t-cell/"' in page
    assert 'href="/health/articles/checkpoint-inhibitors/"' in page
    assert "<mark>" in page
    assert "Glossary term" in page and "Article" in page


def test_drafts_and_archived_articles_are_not_found(wf, client, library, editor):
    wf.create_article(
        editor, slug="secret-draft", article_type="guide", content=edited(ARTICLE_CONTENT, title="Zebrafish draft")
    )
    assert "secret-draft" not in text(client.get("/health/search/", {"q": "Zebrafish"}))
    wf.archive(library["other"], editor)
    assert "car-t-cell-therapy" not in text(client.get("/health/search/", {"q": "CAR"}))


@pytest.mark.parametrize(
    "query",
    ['<script>alert("x")</script>', '"unbalanced', "AND OR NOT (", "NEAR(a b", "*", "-", "'; DROP TABLE x; --"],
)
def test_any_query_is_echoed_safely_and_never_errors(client, library, query):
    response = client.get("/health/search/", {"q": query})
    page = text(response)
    assert response.status_code == 200
    assert "<script>alert" not in page
    if "<script>" in query:
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


@override_settings(HEALTHLIB={"SEARCH_PAGE_SIZE": 1})
def test_results_are_paginated(client, library):
    first = text(client.get("/health/search/", {"q": "cancer"}))
    assert "Page 1 of" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert first.count('class="healthlib-result ') == 1
    second = text(client.get("/health/search/", {"q": "cancer", "page": "2"}))
    assert "Page 2 of" in second and 'rel="prev"' in second
    assert second.count('class="healthlib-result ') == 1
    assert client.get("/health/search/", {"q": "cancer", "page": "99"}).status_code == 404
    assert "Page 1 of" in text(client.get("/health/search/", {"q": "cancer", "page": "nope"}))


def test_search_pages_are_public_but_not_stored(client, library, django_assert_max_num_queries):
    response = client.get("/health/search/", {"q": "cancer"})
    assert "public" in response["Cache-Control"]
    # Not served from the page cache: unbounded query strings would crowd out real pages.
    with django_assert_max_num_queries(8) as captured:
        client.get("/health/search/", {"q": "cancer"})
    assert len(captured) >= 1


@override_settings(HEALTHLIB={"SEARCH_PAGE_SIZE": 1})
def test_a_capped_count_says_more_than_and_pages_up_to_the_cap(client, library, monkeypatch):
    from healthlib import search

    assert search.search("cancer").total >= 3
    monkeypatch.setattr(search.query, "RESULT_CAP", 2)
    first = text(client.get("/health/search/", {"q": "cancer"}))
    assert "More than 2 results for “cancer”" in first
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = text(client.get("/health/search/", {"q": "cancer", "page": "2"}))
    assert "Page 2 of 2" in second and 'rel="next"' not in second
    assert second.count('class="healthlib-result ') == 1
    assert first.split('class="healthlib-results"')[1] != second.split('class="healthlib-results"')[1]
    assert client.get("/health/search/", {"q": "cancer", "page": "3"}).status_code == 404


def test_below_the_cap_the_count_is_exact_and_the_cap_shows_with_thousands_grouped(client, library, monkeypatch):
    page = text(client.get("/health/search/", {"q": "cancer"}))
    assert "More than" not in page
    from healthlib.search import SearchResults

    monkeypatch.setattr("healthlib.views.run_search", lambda *a, **k: SearchResults(total=1000, hits=[], capped=True))
    assert "More than 1,000 results" in text(client.get("/health/search/", {"q": "cancer"}))
