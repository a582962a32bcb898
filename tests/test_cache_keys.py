"""Cache keys are bounded: query strings a page does not read make no entries, bookkeeping is never culled.

A page's key holds only the query parameters its view declares, normalised, and the view sees
only those; so a flood of distinct junk query strings is served the one cached page and adds
nothing to the shared cache or to process memory. The content version lives where the page
cache's culling never reaches.
"""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from healthlib import cache as page_cache
from tests import reader_fixtures
from tests.test_cache_fast_path import FAST_MIDDLEWARE

clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

pytestmark = pytest.mark.page_cache

STORED_URLS = [
    "/health/",
    "/health/articles/",
    "/health/articles/checkpoint-inhibitors/",
    "/health/topics/treatment-types/",
    "/health/types/treatment/",
    "/health/glossary/",
    "/health/glossary/t-cell/",
    "/health/feeds/rss/",
    "/health/feeds/atom/",
    "/health/sitemap.xml",
]
JUNK = ["utm_source={}", "x={}&y=2", "{}", "q={}", "page={}", "p=1&utm={}", "%ff%fe={}", "a=%00{}"]


def entries() -> int:
    cache = caches["default"]
    if isinstance(cache, RedisCache):  # make test-redis (tests/settings_redis.py): one database per worker
        return cache._cache.get_client().dbsize()
    return len(cache._cache)  # LocMemCache, as tests/settings.py configures


@pytest.fixture(autouse=True)
def fast_stack():
    page_cache._local_pages.clear()
    page_cache._wsgi_pages.clear()
    with override_settings(MIDDLEWARE=FAST_MIDDLEWARE):
        yield
    page_cache._local_pages.clear()
    page_cache._wsgi_pages.clear()


@pytest.mark.parametrize("url", STORED_URLS)
def test_a_flood_of_junk_query_strings_makes_no_entries(client, library, url):
    page = client.get(url).content
    client.get(url)
    stored, in_memory, version = entries(), len(page_cache._local_pages), page_cache.content_version()
    for n in range(60):
        response = client.get(f"{url}?{JUNK[n % len(JUNK)].format(n)}")
        assert response.status_code == 200 and response.content == page
    assert entries() == stored and len(page_cache._local_pages) == in_memory
    assert page_cache.content_version() == version


def test_declared_parameters_are_normalised(client, library):
    client.get("/health/sitemap.xml?p=1")
    stored = entries()
    for variant in ("p=01", "p=0001", "p=%201%20", "p=1&p=1", "p=1&utm=x"):
        assert client.get(f"/health/sitemap.xml?{variant}").status_code == 200
    assert entries() == stored


def test_the_view_sees_only_the_declared_parameters_normalised(rf: RequestFactory):
    @page_cache.reader_page(store=False, query={"page": page_cache.positive_int})
    def view(request):
        return HttpResponse(request.GET.urlencode())

    assert view(rf.get("/", {"page": "007", "secret": "x", "utm": "y"})).content == b"page=7"
    assert view(rf.get("/", {"page": "-3"})).content == b""
    assert view(rf.get("/", {"page": "١٢"})).content == b""  # non-ASCII digits: not a page number
    assert view(rf.get("/", {"other": "1"})).content == b""


def test_search_query_is_normalised(client, library):
    padded = client.get("/health/search/", {"q": "  checkpoint  ", "page": "01", "utm": "x"})
    plain = client.get("/health/search/", {"q": "checkpoint"})
    assert padded.status_code == 200 and padded.content == plain.content


@pytest.mark.parametrize("cull_frequency", [0, 2])
def test_culling_the_page_cache_never_takes_a_generation(tmp_path, cull_frequency):
    location = str(tmp_path / "cache")
    backend = "django.core.cache.backends.filebased.FileBasedCache"
    options = {"MAX_ENTRIES": 10, "CULL_FREQUENCY": cull_frequency}
    with override_settings(CACHES={"default": {"BACKEND": backend, "LOCATION": location, "OPTIONS": options}}):
        tags = [f"hl-a-{n}" for n in range(30)]  # more generations than the page cache may hold entries
        found = page_cache.generations(tags, create=True)
        cache = caches["default"]
        for n in range(200):  # a flood of pages: the cache culls (0: empties itself) again and again
            cache.set(page_cache.PAGE_KEY.format(digest=n), b"page")
        assert len(cache._list_cache_files()) <= 10
        assert page_cache.generations(tags) == found
        page_cache._file_memo.clear()  # read the files again, not the memo
        assert page_cache.generations(tags) == found


@pytest.mark.parametrize("path", ["/health/articles/{}/", "/health/glossary/{}/", "/health/topics/{}/"])
def test_a_very_long_address_makes_no_key_memcached_would_refuse(client, library, path):
    """A page's own tag comes from its URL; the generation's key holds a digest of a long one
    (Django warns of keys memcached refuses, and its memcached backends raise on them)."""
    import warnings

    from django.core.cache.backends.base import CacheKeyWarning

    url = path.format("a" * 3000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert client.get(url).status_code == 404
        assert client.get(url).status_code == 404
    assert not [w for w in caught if issubclass(w.category, CacheKeyWarning)]


def test_tag_keys_are_the_tag_or_a_digest_of_a_long_one():
    assert page_cache.tag_key("hl-a-checkpoint-inhibitors") == "healthlib:tag:hl-a-checkpoint-inhibitors"
    long_a, long_b = "hl-a-" + "a" * 2000, "hl-a-" + "a" * 1999 + "b"
    assert len(page_cache.tag_key(long_a)) <= 250
    assert page_cache.tag_key(long_a) != page_cache.tag_key(long_b)
    assert page_cache.tag_key(long_a) == page_cache.tag_key(long_a)
