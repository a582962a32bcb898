"""Every reader response served from any cache layer carries the same headers as a fresh one.

The class of defect: a page cached without the headers that middleware adds on the way out
(SecurityMiddleware, CSP, X-Frame-Options) and replayed by a layer that answers before that
middleware runs. So every reader URL is filled in every way a request can reach the view (anonymous,
a stale session cookie, an ``Authorization`` header, HEAD, conditional, junk query strings) and
read back from every layer (the middleware from the shared cache and from process memory, the
decorator inside the full stack, the WSGI wrapper), and each answer's headers are compared with
those of a fresh response; under the test settings and under the production settings (CSP, HSTS).
"""

from __future__ import annotations

import runpy
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, override_settings
from django.urls import resolve

from healthlib import cache as page_cache
from healthlib import urls as healthlib_urls
from healthlib.models import Article
from immunotherapy import csp
from tests import reader_fixtures
from tests.test_cache_fast_path import FAST_MIDDLEWARE, call, environ

clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

pytestmark = pytest.mark.page_cache

READER_URLS = [
    "/health/",
    "/health/articles/",
    "/health/articles/checkpoint-inhibitors/",
    "/health/articles/editorial-process/",
    "/health/articles/checkpoint-inhibitors/reviews/",
    "/health/articles/checkpoint-inhibitors/reviews/live.json",
    "/health/topics/treatment-types/",
    "/health/types/treatment/",
    "/health/glossary/",
    "/health/glossary/t-cell/",
    "/health/search/",
    "/health/search/?q=checkpoint",
    "/health/feeds/rss/",
    "/health/feeds/atom/",
    "/health/sitemap.xml",
]
SECURITY_HEADERS = ["X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy"]
BOGUS_SESSION = {"cookie": f"{settings.SESSION_COOKIE_NAME}=not-a-session"}
AUTHORIZATION = {"authorization": "Basic Zm9vOmJhcg=="}

STALE_STORED_PAGES = "rendered, not the stored article page"

#: Ways a request can reach the view while the page is not cached: (method, extra query, headers).
FILLS = {
    "anonymous": ("get", "", {}),
    "stale session cookie": ("get", "", BOGUS_SESSION),
    "authorization header": ("get", "", AUTHORIZATION),
    "head": ("head", "", {}),
    "if-none-match": ("get", "", {"if-none-match": '"stale"'}),
    "if-modified-since": ("get", "", {"if-modified-since": "Mon, 01 Jan 2001 00:00:00 GMT"}),
    "junk query string": ("get", "utm_source=x&fbclid=y", {}),
    STALE_STORED_PAGES: ("get", "", {}),
}


def forget_process_memory() -> None:
    page_cache._local_pages.clear()
    page_cache._wsgi_pages.clear()


def forget_every_page() -> None:
    """Retire every cached page (a new content version); each page keeps its validators' record."""
    forget_process_memory()
    page_cache.invalidate()


def with_query(url: str, query: str) -> str:
    if not query:
        return url
    return f"{url}{'&' if '?' in url else '?'}{query}"


def fetch(url: str, *, method: str = "get", secure: bool, **headers):
    # A new client each time: a cookie jar would keep the session cookie a response deleted, and
    # every later request would then bypass the fast path.
    return getattr(Client(), method)(url, headers=headers, secure=secure)


def fill(url: str, how: str, secure: bool):
    method, query, headers = FILLS[how]
    with stale_stored_pages(how == STALE_STORED_PAGES):
        return fetch(with_query(url, query), method=method, secure=secure, **headers)


@contextmanager
def stale_stored_pages(stale: bool):
    """Article pages stored at publish time look built for other templates: the view renders them."""
    if not stale:
        yield
        return
    keys = dict(Article.objects.values_list("pk", "live_page_key"))
    Article.objects.update(live_page_key="stale")
    yield
    for pk, key in keys.items():
        Article.objects.filter(pk=pk).update(live_page_key=key)


def reads(url: str, wsgi_app, secure: bool, conditional: dict):
    """Each cache layer's answer to the page, as (layer, status, headers); ``conditional``: 304s expected."""

    def get(**headers):
        response = fetch(url, secure=secure, **headers, **conditional)
        return response.status_code, dict(response.items())

    def from_the_fast_path():
        before = STACK_RUNS[0]
        answer = get()
        # The premise: pages the cache stores are answered before the rest of the stack runs.
        assert STACK_RUNS[0] == before or url.startswith("/health/search/"), (url, "not answered by the fast path")
        return answer

    forget_process_memory()
    yield "middleware, shared cache", *from_the_fast_path()
    yield "middleware, process memory", *from_the_fast_path()
    yield "decorator, stale session cookie", *get(**BOGUS_SESSION)
    yield "decorator, authorization header", *get(**AUTHORIZATION)
    if not conditional:  # the WSGI wrapper leaves conditional requests to Django
        path, _, query = url.partition("?")
        scheme = {"wsgi.url_scheme": "https"} if secure else {}
        with connection_kept():
            status, headers, _ = call(wsgi_app, environ(path, QUERY_STRING=query, **scheme))
        yield "WSGI wrapper, process memory", int(status[:3]), headers


def assert_every_layer_serves_fresh_headers(how: str, wsgi_app, *, secure: bool = False):
    for url in READER_URLS:
        forget_every_page()
        fresh = fetch(url, secure=secure)
        assert fresh.status_code == 200, url
        expected = dict(fresh.items())
        for name in SECURITY_HEADERS:
            assert name in expected, (url, name)
        revalidate = {"if-none-match": fresh["ETag"]}
        forget_every_page()
        fresh_304 = fetch(url, secure=secure, **revalidate)
        assert fresh_304.status_code == 304, url
        # CommonMiddleware gives the stack's 304 a "Content-Length: 0"; a 304 has no body either way.
        expected_304 = without_length(fresh_304.items())
        for name in SECURITY_HEADERS:
            assert name in expected_304, (url, name, 304)
        for conditional, status, headers_wanted in (({}, 200, expected), (revalidate, 304, expected_304)):
            forget_every_page()
            filled = fill(url, how, secure)
            assert filled.status_code in (200, 304), (url, how)
            if filled.status_code == 200:
                assert dict(filled.items()) == expected, (url, how, "the filling response")
            for layer, got_status, headers in reads(url, wsgi_app, secure, conditional):
                if got_status == 304:
                    headers = without_length(headers.items())
                assert (got_status, headers) == (status, headers_wanted), (url, how, layer)


def without_length(headers) -> dict:
    return {name: value for name, value in headers if name != "Content-Length"}


def test_the_reader_urls_cover_every_cached_view():
    cached = {p.name for p in healthlib_urls.urlpatterns if hasattr(p.callback, "healthlib_query")}
    assert {resolve(url.partition("?")[0]).url_name for url in READER_URLS} == cached


#: How often the stack inside PageCacheMiddleware ran (counted by the fixture below).
STACK_RUNS = [0]


@pytest.fixture(autouse=True)
def count_stack_runs(monkeypatch):
    inner = BaseHandler._get_response

    def counted(self, request):
        STACK_RUNS[0] += 1
        return inner(self, request)

    monkeypatch.setattr(BaseHandler, "_get_response", counted)


@pytest.fixture
def fast_stack():
    forget_process_memory()
    with override_settings(MIDDLEWARE=FAST_MIDDLEWARE):
        yield
    forget_process_memory()


@pytest.fixture
def wsgi_app():
    return page_cache.CachedPagesWSGI(WSGIHandler())


@contextmanager
def connection_kept():
    """A real WSGIHandler closes the test's connection when a request starts and ends.

    Disconnected around each call, not once: the test client's handler connects the receiver
    again after each of its own requests.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize("how", list(FILLS))
def test_every_cache_layer_serves_the_headers_of_a_fresh_response(library, fast_stack, wsgi_app, how):
    assert_every_layer_serves_fresh_headers(how, wsgi_app)


# ---------------------------------------------------------------- under the production settings


@pytest.fixture
def production(monkeypatch):
    """The header-related settings of immunotherapy.settings_production (CSP, HSTS, HTTPS only)."""
    monkeypatch.setenv("SECRET_KEY", "p" * 64)
    monkeypatch.setenv("ALLOWED_HOSTS", "testserver")
    values = runpy.run_module("immunotherapy.settings_production")
    names = [name for name in values if name.startswith(("SECURE_", "CONTENT_SECURITY_POLICY", "X_FRAME"))]
    forget_process_memory()
    with override_settings(MIDDLEWARE=values["MIDDLEWARE"], **{name: values[name] for name in names}):
        yield
    forget_process_memory()


@pytest.mark.parametrize("how", list(FILLS))
def test_every_cache_layer_serves_csp_and_hsts_under_the_production_settings(library, production, wsgi_app, how):
    response = fetch(READER_URLS[0], secure=True)
    assert "Content-Security-Policy" in response and "Strict-Transport-Security" in response
    assert_every_layer_serves_fresh_headers(how, wsgi_app, secure=True)


def test_production_middleware_puts_the_page_cache_first(production):
    # The premise of the tests above: the fast path answers before every header-adding middleware.
    assert settings.MIDDLEWARE[0] == "healthlib.cache.PageCacheMiddleware"
    assert csp.MIDDLEWARE in settings.MIDDLEWARE  # django-csp on 5.2, Django's own on 6.x


def test_a_body_the_stack_transformed_is_not_replayed(library):
    # GZipMiddleware compresses for this client only: the page and the stack's headers no longer match.
    with override_settings(
        MIDDLEWARE=[*FAST_MIDDLEWARE[:1], "django.middleware.gzip.GZipMiddleware", *FAST_MIDDLEWARE[1:]]
    ):
        client = Client()
        page = client.get(READER_URLS[2], headers={"accept-encoding": "gzip"})
        assert page["Content-Encoding"] == "gzip"
        for _ in range(2):  # from the shared cache, then from process memory
            plain = client.get(READER_URLS[2])
            assert not plain.has_header("Content-Encoding") and b"</html>" in plain.content


def test_pages_stored_under_other_header_settings_are_not_replayed(library, fast_stack):
    # A deploy that changes the headers (a new CSP, HSTS turned on) while the shared cache keeps pages.
    url = READER_URLS[2]
    assert fetch(url, secure=False)["X-Frame-Options"] == "DENY"
    with override_settings(X_FRAME_OPTIONS="SAMEORIGIN", SECURE_REFERRER_POLICY="no-referrer"):
        for _ in range(2):  # rendered, then from the cache
            response = fetch(url, secure=False)
            assert (response["X-Frame-Options"], response["Referrer-Policy"]) == ("SAMEORIGIN", "no-referrer")
    assert fetch(url, secure=False)["X-Frame-Options"] == "DENY"
