"""healthlib.cache_tags: every cacheable reader response carries the tags of what it shows, in the
configured header, from every cache layer; nothing private is ever tagged."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from healthlib import cache as page_cache
from healthlib import cache_tags, preview_links
from tests import reader_fixtures
from tests.conftest import ARTICLE_CONTENT, edited
from tests.test_cache_fast_path import FAST_MIDDLEWARE

clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

pytestmark = pytest.mark.page_cache

EDGE = {"CACHE_TAG_HEADER": "Surrogate-Key", "EDGE_MAX_AGE": 86400}


@pytest.fixture(autouse=True)
def _edge_settings(settings):
    settings.HEALTHLIB = EDGE
    yield
    page_cache._local_pages.clear()
    page_cache._wsgi_pages.clear()


def tags_of(response, header="Surrogate-Key", separator=" ") -> set[str]:
    return set(response[header].split(separator))


def test_an_article_page_carries_itself_its_topics_and_the_terms_it_links(client, library):
    response = client.get(library["article"].get_absolute_url())
    assert response.status_code == 200
    assert tags_of(response) == {"hl", "hl-a-checkpoint-inhibitors", "hl-t-treatment-types", "hl-m-t-cell"}
    # The edge keeps the page a day; browsers and other shared caches keep the Cache-Control they had.
    assert response["Surrogate-Control"] == "max-age=86400"
    assert response["CDN-Cache-Control"] == "max-age=86400"
    assert "max-age=300" in response["Cache-Control"]


def test_the_review_trail_and_live_json_are_tagged_like_their_article(client, library):
    slug = library["article"].slug
    for name in ("healthlib:article_reviews", "healthlib:article_live_json"):
        response = client.get(reverse(name, args=[slug]))
        assert response.status_code == 200
        assert tags_of(response) == {"hl", "hl-a-checkpoint-inhibitors"}


def test_a_term_page_carries_itself_and_the_articles_it_lists(client, library):
    response = client.get(library["term"].get_absolute_url())
    assert tags_of(response) == {"hl", "hl-g-t-cell", "hl-a-checkpoint-inhibitors", "hl-a-car-t-cell-therapy"}


@pytest.mark.parametrize(
    "name, args, tag",
    [
        ("healthlib:home", [], "hl-home"),
        ("healthlib:article_index", [], "hl-articles"),
        ("healthlib:glossary", [], "hl-glossary"),
        ("healthlib:topic_detail", ["treatment-types"], "hl-t-treatment-types"),
        ("healthlib:article_type_detail", ["treatment"], "hl-type-treatment"),
        ("healthlib:search", [], "hl-search"),
        ("healthlib:feed_rss", [], "hl-feeds"),
        ("healthlib:feed_atom", [], "hl-feeds"),
        ("healthlib:sitemap", [], "hl-sitemap"),
    ],
)
def test_listings_carry_their_own_tag(client, library, name, args, tag):
    response = client.get(reverse(name, args=args), {"q": "cancer"} if name == "healthlib:search" else {})
    assert response.status_code == 200
    assert tags_of(response) == {"hl", tag}


@pytest.mark.parametrize(
    "header, separator",
    [("Surrogate-Key", " "), ("Cache-Tag", ","), ("xkey", " ")],
    ids=["fastly", "cloudflare", "varnish"],
)
def test_one_configurable_header(client, library, settings, header, separator):
    settings.HEALTHLIB = {"CACHE_TAG_HEADER": header, "CACHE_TAG_PREFIX": "onco"}
    response = client.get(library["article"].get_absolute_url())
    assert tags_of(response, header, separator) == {
        "onco",
        "onco-a-checkpoint-inhibitors",
        "onco-t-treatment-types",
        "onco-m-t-cell",
    }
    for other in {"Surrogate-Key", "Cache-Tag", "xkey"} - {header}:
        assert other not in response
    assert "Surrogate-Control" not in response  # EDGE_MAX_AGE unset: the edge follows Cache-Control


def test_without_settings_nothing_changes(client, library, settings):
    settings.HEALTHLIB = {}
    response = client.get(library["article"].get_absolute_url())
    for header in ("Surrogate-Key", "Cache-Tag", "xkey", "Surrogate-Control", "CDN-Cache-Control"):
        assert header not in response


def test_a_page_from_the_cache_carries_the_same_tags(client, library):
    url = library["article"].get_absolute_url()
    first = client.get(url)
    again = client.get(url)
    assert again["ETag"] == first["ETag"]
    assert again["Surrogate-Key"] == first["Surrogate-Key"]
    assert again["Surrogate-Control"] == first["Surrogate-Control"]


def test_every_layer_serves_the_same_tags(library):
    """Through PageCacheMiddleware: the first request stores the page, the second is the fast path."""
    url = library["article"].get_absolute_url()
    with override_settings(MIDDLEWARE=FAST_MIDDLEWARE):
        client = Client()
        first = client.get(url)
        key = page_cache.page_key(first.wsgi_request)
        assert page_cache._get_page(key) is not None  # stored by the middleware
        again = client.get(url)
    assert again["Surrogate-Key"] == first["Surrogate-Key"]
    assert again["Surrogate-Key"].count("hl-a-checkpoint-inhibitors") == 1  # not duplicated by the replay
    assert again["Surrogate-Control"] == "max-age=86400"


def test_an_archived_page_answers_410_with_its_tag(client, library, wf, editor):
    wf.archive(library["other"], editor)
    response = client.get(library["other"].get_absolute_url())
    assert response.status_code == 410
    assert "hl-a-car-t-cell-therapy" in tags_of(response)  # so a restore and publish purges the 410
    assert "Surrogate-Control" not in response


# ---------------------------------------------------------------- nothing private is tagged


PRIVATE_HEADERS = ("Surrogate-Key", "Cache-Tag", "xkey", "Surrogate-Control", "CDN-Cache-Control")


def assert_untagged(response):
    for header in PRIVATE_HEADERS:
        assert header not in response, header


@pytest.mark.parametrize("header", ["Surrogate-Key", "Cache-Tag", "xkey"])
def test_signed_in_readers_get_no_tags(client, library, editor, settings, header):
    settings.HEALTHLIB = {**EDGE, "CACHE_TAG_HEADER": header}
    client.force_login(editor)
    for url in (library["article"].get_absolute_url(), reverse("healthlib:home"), library["term"].get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 200
        assert "private" in response["Cache-Control"]
        assert_untagged(response)


def test_staff_previews_and_review_links_get_no_tags(client, library, editor, reviewer, wf):
    article = library["article"]
    wf.save_draft(article, editor, edited(ARTICLE_CONTENT, title="A draft"), based_on=article.latest_revision)
    article.refresh_from_db()
    draft = article.latest_revision
    client.force_login(editor)
    response = client.get(reverse("healthlib:preview_revision", args=[draft.pk]))
    assert response.status_code == 200
    assert_untagged(response)
    link = preview_links.url_for(preview_links.create_link(editor, draft))
    anonymous = Client()
    response = anonymous.get(link)
    assert response.status_code == 200
    assert_untagged(response)


def test_the_header_stays_within_the_providers_limit():
    tags = ["hl", "hl-a-x", *(cache_tags.mentions(f"term-{n:05d}-with-a-long-slug") for n in range(2000))]
    value = cache_tags.header_value(tags, " ")
    assert len(value.encode()) <= cache_tags.MAX_HEADER_BYTES
    assert value.split(" ") == ["hl", "hl-a-x"]  # the term tags go; the article's own tag covers a re-link
