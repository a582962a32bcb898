"""The reader fast path: PageCacheMiddleware and the CachedPagesWSGI wrapper.

Both must serve exactly what the full stack serves (bytes and headers), only to anonymous
visitors, and never a page retired by a publish, reaffirm or archive.
"""

from __future__ import annotations

import io
import sys

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, override_settings

from healthlib import cache as page_cache
from tests import reader_fixtures
from tests.conftest import ARTICLE_CONTENT, edited
from tests.reader_fixtures import republish

clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

pytestmark = pytest.mark.page_cache

ARTICLE_URL = "/health/articles/checkpoint-inhibitors/"
FAST_MIDDLEWARE = [
    "healthlib.cache.PageCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    *settings.MIDDLEWARE,
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


@pytest.fixture(autouse=True)
def fast_path():
    page_cache._local_pages.clear()
    page_cache._wsgi_pages.clear()
    with override_settings(MIDDLEWARE=FAST_MIDDLEWARE):
        yield
    page_cache._local_pages.clear()
    page_cache._wsgi_pages.clear()


# ---------------------------------------------------------------- the middleware


def test_second_anonymous_request_is_served_without_queries_and_with_the_same_headers(
    client, library, django_assert_num_queries
):
    first = client.get(ARTICLE_URL)
    assert first.status_code == 200 and first["X-Frame-Options"] == "DENY"
    with django_assert_num_queries(0):
        second = client.get(ARTICLE_URL)
    assert second.status_code == 200
    assert second.content == first.content
    assert dict(second.items()) == dict(first.items())
    assert "public" in second["Cache-Control"] and second["Vary"] == "Cookie"
    assert second["Content-Length"] == str(len(second.content))


def test_conditional_request_on_the_fast_path_gets_304(client, library, django_assert_num_queries):
    etag = client.get(ARTICLE_URL)["ETag"]
    with django_assert_num_queries(0):
        response = client.get(ARTICLE_URL, headers={"if-none-match": etag})
    assert response.status_code == 304


def test_logged_in_editor_never_gets_the_cached_anonymous_page(client, library, editor):
    client.get(ARTICLE_URL)  # cached for anonymous visitors
    client.force_login(editor)
    response = client.get(ARTICLE_URL)
    assert response.status_code == 200
    assert "private" in response["Cache-Control"] and "public" not in response["Cache-Control"]


def test_authorization_header_bypasses_the_fast_path(client, library, django_assert_max_num_queries):
    client.get(ARTICLE_URL)
    # Not served from the cache by the middleware: goes through the stack (where the view's
    # decorator may still serve it), so it is never answered before authentication runs.
    page_cache._local_pages.clear()
    response = client.get(ARTICLE_URL, headers={"authorization": "Basic Zm9vOmJhcg=="})
    assert response.status_code == 200
    assert not page_cache._local_pages


def test_publish_retires_the_fast_path_page(wf, client, library, editor, reviewer):
    assert "Checkpoint inhibitors" in client.get(ARTICLE_URL).content.decode()
    client.get(ARTICLE_URL)
    republish(wf, library["article"], editor, reviewer, edited(ARTICLE_CONTENT, title="Immune checkpoint inhibitors"))
    assert "Immune checkpoint inhibitors" in client.get(ARTICLE_URL).content.decode()


def test_archive_makes_the_page_410_despite_the_fast_path(wf, client, library, editor):
    client.get(ARTICLE_URL)
    client.get(ARTICLE_URL)
    wf.archive(library["article"], editor)
    assert client.get(ARTICLE_URL).status_code == 410


def test_unknown_host_is_refused_even_when_the_page_is_cached(client, library):
    client.get(ARTICLE_URL)
    client.get(ARTICLE_URL)
    assert client.get(ARTICLE_URL, headers={"host": "evil.example"}).status_code == 400


@override_settings(SECURE_SSL_REDIRECT=True)
def test_https_redirect_is_not_skipped(library):
    client = Client()  # its middleware is built with the setting above
    client.get(ARTICLE_URL, secure=True)
    assert client.get(ARTICLE_URL, secure=True).status_code == 200
    response = client.get(ARTICLE_URL)
    assert response.status_code == 301 and response["Location"].startswith("https://")


def test_pages_are_cached_per_host(client, library):
    # Pages hold absolute URLs, so one host's page is never served to another.
    page = client.get(ARTICLE_URL).content.decode()
    assert "http://testserver/" in page
    other = client.get(ARTICLE_URL, headers={"host": "localhost"}).content.decode()
    assert "http://localhost/" in other and "http://testserver/" not in other


def test_search_results_are_not_stored(client, library):
    client.get("/health/search/", {"q": "checkpoint"})
    assert not any(len(page) > 4 for page in page_cache._local_pages.values())


def test_post_is_never_answered_from_the_cache(client, library):
    client.get(ARTICLE_URL)
    client.get(ARTICLE_URL)
    response = client.post(ARTICLE_URL)
    # Rendered by the view (which marks it private), not replayed from the cache.
    assert "private" in response["Cache-Control"] and "public" not in response["Cache-Control"]


# ---------------------------------------------------------------- the WSGI wrapper


def environ(path: str, **extra) -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        **extra,
    }


def call(app, env: dict) -> tuple[str, dict, bytes]:
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(headers)

    result = app(env, start_response)
    body = b"".join(result)
    getattr(result, "close", lambda: None)()
    return seen["status"], seen["headers"], body


class CountingApp:
    def __init__(self, app) -> None:
        self.app, self.calls = app, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.app(environ, start_response)


@pytest.fixture
def wsgi():
    # As Django's test Client does: a real WSGIHandler would close the test's database connection
    # (inside its transaction) at the end of every request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    django_app = CountingApp(WSGIHandler())
    yield page_cache.CachedPagesWSGI(django_app), django_app
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_wsgi_wrapper_serves_the_same_bytes_and_headers_without_django(library, wsgi, django_assert_num_queries):
    app, django_app = wsgi
    status, headers, body = call(app, environ(ARTICLE_URL))  # rendered and stored
    assert status.startswith("200")
    call(app, environ(ARTICLE_URL))  # served by the middleware, now in this process's memory
    calls = django_app.calls
    with django_assert_num_queries(0):
        status2, headers2, body2 = call(app, environ(ARTICLE_URL))
    assert django_app.calls == calls  # Django was not called
    assert status2 == "200 OK" and body2 == body and headers2 == headers
    _, head_headers, head_body = call(app, environ(ARTICLE_URL, REQUEST_METHOD="HEAD"))
    assert head_body == b"" and head_headers["Content-Length"] == str(len(body))


@pytest.mark.parametrize(
    "extra",
    [
        {"HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}=abc"},
        {"HTTP_AUTHORIZATION": "Basic Zm9vOmJhcg=="},
        {"HTTP_IF_NONE_MATCH": '"x"'},
        {"REQUEST_METHOD": "POST"},
    ],
)
def test_wsgi_wrapper_hands_other_requests_to_django(library, wsgi, extra):
    app, django_app = wsgi
    call(app, environ(ARTICLE_URL))
    call(app, environ(ARTICLE_URL))
    calls = django_app.calls
    call(app, environ(ARTICLE_URL, **extra))
    assert django_app.calls == calls + 1


def test_wsgi_wrapper_never_serves_a_retired_page(wf, library, wsgi, editor):
    app, django_app = wsgi
    call(app, environ(ARTICLE_URL))
    call(app, environ(ARTICLE_URL))
    wf.archive(library["article"], editor)
    status, _, _ = call(app, environ(ARTICLE_URL))
    assert status.startswith("410")


def test_wsgi_wrapper_refuses_unknown_hosts_and_keeps_the_https_redirect(library, wsgi):
    app, django_app = wsgi
    call(app, environ(ARTICLE_URL))
    call(app, environ(ARTICLE_URL))
    status, _, _ = call(app, environ(ARTICLE_URL, HTTP_HOST="evil.example"))
    assert status.startswith("400")
    with override_settings(SECURE_SSL_REDIRECT=True):
        app = page_cache.CachedPagesWSGI(WSGIHandler())  # middleware built with the setting
        call(app, environ(ARTICLE_URL, **{"wsgi.url_scheme": "https"}))
        call(app, environ(ARTICLE_URL, **{"wsgi.url_scheme": "https"}))
        status, headers, _ = call(app, environ(ARTICLE_URL))
        assert status.startswith("301") and headers["Location"].startswith("https://")


def test_wsgi_wrapper_ignores_query_strings_the_page_does_not_read(library, wsgi):
    app, django_app = wsgi
    _, _, body = call(app, environ(ARTICLE_URL))
    calls = django_app.calls
    _, _, junk = call(app, environ(ARTICLE_URL, QUERY_STRING="utm=1"))
    assert django_app.calls == calls and junk == body


def test_wsgi_wrapper_keys_the_parameters_a_page_declares(library, wsgi):
    app, django_app = wsgi
    call(app, environ("/health/sitemap.xml"))
    calls = django_app.calls
    call(app, environ("/health/sitemap.xml", QUERY_STRING="p=001&utm=x"))  # the same page, normalised
    assert django_app.calls == calls
    call(app, environ("/health/sitemap.xml", QUERY_STRING="p=2"))
    assert django_app.calls == calls + 1


# ---------------------------------------------------------------- generations with a file-based cache


def test_file_cache_generation_is_reread_when_another_process_changes_it(tmp_path):
    from django.core.cache.backends.filebased import FileBasedCache

    location = str(tmp_path / "cache")
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": location}}
    ):
        tags = ["hl", "hl-a-flu"]
        first = page_cache.generations(tags, create=True)
        assert page_cache.generations(tags) == first  # served from the stat()-validated memo
        # Generations live in a subdirectory, out of reach of the page cache's culling.
        other_process = FileBasedCache(f"{location}/healthlib", {})
        key = page_cache.TAG_KEY.format(tag="hl-a-flu")
        other_process.set(key, first[1] + 10, timeout=None)
        assert page_cache.generations(tags) == (first[0], first[1] + 10)
        other_process.delete(key)  # another process retired the page
        assert page_cache.generations(tags) is None
        again = page_cache.generations(tags, create=True)
        assert again[0] == first[0] and again[1] not in (first[1], first[1] + 10)
