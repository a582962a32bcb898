"""The readers' page cache, and how it is invalidated.

Every cached page is stored under a key that contains the library's *content version*, a
value kept in the cache itself. Publishing, reaffirming or archiving anything (articles and
glossary terms alike) writes a new content version, so every page cached before it is simply
never read again and expires on its own. Because the version lives in the cache, this holds
across processes and servers as long as they share the cache (a file-based, database, Redis
or memcached cache; not the per-process local-memory cache).

The version is the time of the change in nanoseconds, so it doubles as ``Last-Modified`` for
listing pages without a database query.

Only anonymous GET and HEAD requests are served from and stored in the cache; responses to
logged-in users are marked ``private``. ETags are computed from the page bytes, so a
conditional GET answered from the cache costs no database query at all.

:class:`PageCacheMiddleware`, placed first in ``MIDDLEWARE``, answers those requests from the
cache before sessions, authentication, CSRF and URL resolution run (a cached page then costs a
small fraction of a rendered one). It stores the page with the headers the rest of the middleware
added, so a page served by the fast path carries the same headers as one served by the full stack.
Each process also keeps recently served pages in memory, keyed like the shared cache (content
version included), so only the version is read from the shared cache per request and a publish
in any process still retires every page at once.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.filebased import FileBasedCache
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import get_path_info, get_script_name
from django.db import transaction
from django.db.models.signals import m2m_changed
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.encoding import escape_uri_path, iri_to_uri
from django.utils.http import http_date

from healthlib import signals
from healthlib.conf import healthlib_settings

VERSION_KEY = "healthlib:content-version"
PAGE_KEY = "healthlib:page:{version}:{digest}"
#: Responses are stored as (body, content type, Last-Modified timestamp or None, ETag), plus, when
#: stored by :class:`PageCacheMiddleware`, the other headers of the full response.
CachedPage = tuple
#: Headers that :func:`_respond` sets itself, or that must never be replayed from the cache.
_OWN_HEADERS = frozenset(
    {"content-type", "content-length", "etag", "last-modified", "cache-control", "vary", "set-cookie", "expires"}
)
#: Pages kept in each process's memory (keys include the content version, so never stale).
LOCAL_PAGES = 256
_local_pages: dict[str, CachedPage] = {}


def _cache():
    return caches[healthlib_settings.CACHE_ALIAS]


def content_version() -> int:
    """The current content version; created on first use (or after the cache was cleared)."""
    cache = _cache()
    stamp = _version_file_stamp(cache)
    if stamp is not None and _version_memo.get(stamp[0], (None,))[0] == stamp:
        return _version_memo[stamp[0]][1]
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(VERSION_KEY, time.time_ns())
    if stamp is not None:
        # Taken before the read: if the file was replaced meanwhile, the next stat() differs and re-reads.
        _version_memo[stamp[0]] = (stamp, int(version))
    return int(version)


#: FileBasedCache only: version file path -> ((path, inode, mtime, size), version) as last read.
_version_memo: dict[str, tuple[tuple, int]] = {}


def _version_file_stamp(cache) -> tuple | None:
    """For a FileBasedCache, the identity of the file holding the version.

    Every ``set()`` of that backend writes a new file and renames it into place, so an unchanged
    (inode, mtime, size) means an unchanged version: one ``stat()`` instead of reading, unpickling
    and decompressing the file on every request.
    """
    if not isinstance(cache, FileBasedCache):
        return None
    path = cache._key_to_file(VERSION_KEY)
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (path, st.st_ino, st.st_mtime_ns, st.st_size)


def invalidate(**kwargs) -> int:
    """Retire every cached reader page by writing a new content version. Returns the new version.

    Connected to ``healthlib.signals.published``, ``reaffirmed`` and ``archived``, and called by
    :mod:`healthlib.derived_work` after topic changes; call it yourself after changing what readers see by other means.
    """
    cache = _cache()
    old = cache.get(VERSION_KEY) or 0
    # Strictly increasing even if two bumps land in the same nanosecond or clocks disagree.
    version = max(time.time_ns(), int(old) + 1)
    cache.set(VERSION_KEY, version, timeout=None)
    return version


def connect() -> None:
    """Invalidate the page cache whenever what readers see changes."""
    for signal in (signals.published, signals.reaffirmed, signals.archived, signals.details_changed):
        signal.connect(invalidate, dispatch_uid=f"healthlib.cache.{id(signal)}")
    # Topic changes retire pages through healthlib.derived_work, after commit and after the pages of
    # a renamed topic's articles are stored again.
    from healthlib.models import Article

    m2m_changed.connect(_invalidate_on_commit, sender=Article.topics.through, dispatch_uid="healthlib.cache.topics")


def _invalidate_on_commit(**kwargs) -> None:
    # Not before the commit: a reader's request in between would cache the old page again.
    transaction.on_commit(invalidate)


def _is_anonymous(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return user is None or not user.is_authenticated


def _public_cache_control(response: HttpResponse) -> None:
    patch_cache_control(
        response,
        public=True,
        max_age=healthlib_settings.CACHE_MAX_AGE,
        stale_while_revalidate=healthlib_settings.CACHE_STALE_WHILE_REVALIDATE,
    )


def _etag(body: bytes) -> str:
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def _respond(request: HttpRequest, page: CachedPage) -> HttpResponse:
    body, content_type, last_modified, etag = page[:4]
    response = HttpResponse(body, content_type=content_type)
    response.headers["Content-Length"] = str(len(body))
    for name, value in page[4] if len(page) > 4 else ():
        response.headers[name] = value
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified)
    _public_cache_control(response)
    patch_vary_headers(response, ["Cookie"])
    return get_conditional_response(request, etag=etag, last_modified=last_modified, response=response)


def page_key(request: HttpRequest) -> str:
    """The cache key of the page at this request's host and path, under the current content version.

    The host is part of it because pages hold absolute URLs (canonical link, structured data).
    """
    return _key_for(request.get_host(), request.get_full_path())


def _key_for(host: str, full_path: str) -> str:
    digest = hashlib.sha256(f"{host}{full_path}".encode()).hexdigest()
    return PAGE_KEY.format(version=content_version(), digest=digest)


def _may_skip_the_stack(request: HttpRequest) -> bool:
    """Whether an answer from the cache skips no check the rest of the stack would make for this request.

    Anonymous GET/HEAD only (no session cookie, no ``Authorization``), from an allowed host, and not
    one that SecurityMiddleware would redirect to HTTPS or CommonMiddleware refuse by user agent.
    """
    if request.method not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in request.META:
        return False
    if settings.SESSION_COOKIE_NAME in request.COOKIES or settings.DISALLOWED_USER_AGENTS:
        return False
    try:
        request.get_host()
    except DisallowedHost:
        return False  # the full stack answers 400
    return not (settings.SECURE_SSL_REDIRECT and not request.is_secure())


def _get_page(key: str) -> CachedPage | None:
    page = _local_pages.get(key)
    if page is None:
        page = _cache().get(key)
        if page is not None:
            _remember(key, page)
    return page


def _remember(key: str, page: CachedPage) -> None:
    if len(_local_pages) >= LOCAL_PAGES:
        _local_pages.clear()  # keys of old content versions accumulate; starting over is cheap
        _wsgi_pages.clear()
    _local_pages[key] = page


#: WSGI-ready (status, headers, body) of pages in _local_pages that carry the full stack's headers.
_wsgi_pages: dict[str, tuple[list[tuple[str, str]], bytes]] = {}


def _wsgi_page(key: str) -> tuple[list[tuple[str, str]], bytes] | None:
    ready = _wsgi_pages.get(key)
    if ready is None:
        page = _local_pages.get(key)
        if page is None or len(page) < 5:
            return None
        response = _respond(HttpRequest(), page)  # an unconditional request: always the 200
        ready = ([(k, v) for k, v in response.items()], page[0])
        _wsgi_pages[key] = ready
    return ready


class _EnvironRequest(HttpRequest):
    """Just enough of a WSGIRequest for get_host(), is_secure() and COOKIES, built from the environ."""

    def __init__(self, environ: dict) -> None:
        super().__init__()
        self.META = environ
        self.method = environ.get("REQUEST_METHOD")

    def _get_scheme(self) -> str:
        return self.META.get("wsgi.url_scheme", "http")


class CachedPagesWSGI:
    """Wrap a site's WSGI application: answer anonymous reader-page requests from this process's memory.

    ``application = CachedPagesWSGI(get_wsgi_application())`` in the site's ``wsgi.py``. For an
    unconditional GET or HEAD without cookies of the session or an ``Authorization`` header, a page
    that :class:`PageCacheMiddleware` has already served in this process under the current content
    version is sent with the same bytes and headers, without building a Django request or response;
    the content version is still read from the shared cache on every request, so a publish in any
    process retires the page at once. Everything else goes to the application unchanged.
    """

    def __init__(self, application: Callable) -> None:
        self.application = application

    def __call__(self, environ: dict, start_response: Callable):
        method = environ.get("REQUEST_METHOD")
        if (
            _local_pages
            and (method == "GET" or method == "HEAD")
            and "HTTP_IF_NONE_MATCH" not in environ
            and "HTTP_IF_MODIFIED_SINCE" not in environ
            and settings.SESSION_COOKIE_NAME not in environ.get("HTTP_COOKIE", "")
            and _may_skip_the_stack(request := _EnvironRequest(environ))
        ):
            # The same full path as WSGIRequest.get_full_path(), hence the same key.
            path_info = (get_path_info(environ) or "/").replace("/", "", 1)
            path = escape_uri_path(f"{get_script_name(environ).rstrip('/')}/{path_info}")
            query = environ.get("QUERY_STRING", "")
            ready = _wsgi_page(_key_for(request.get_host(), f"{path}?{iri_to_uri(query)}" if query else path))
            if ready is not None:
                headers, body = ready
                start_response("200 OK", list(headers))
                return [b"" if method == "HEAD" else body]
        return self.application(environ, start_response)


class PageCacheMiddleware:
    """Serve cached reader pages to anonymous GET and HEAD requests before any other middleware runs.

    Put it first in ``MIDDLEWARE``. A request with a session cookie or an ``Authorization``
    header may belong to a logged-in user and goes through the full stack (where
    :func:`reader_page` still serves anonymous visitors from the cache).
    """

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _may_skip_the_stack(request):
            key = page_key(request)
            page = _get_page(key)
            if page is not None:
                return _respond(request, page)
            request.healthlib_page_key = key
        response = self.get_response(request)
        pending = getattr(response, "healthlib_page", None)
        if pending is not None:
            key, page = pending
            headers = tuple((k, v) for k, v in response.items() if k.lower() not in _OWN_HEADERS)
            page = (*page[:4], headers)
            _cache().set(key, page, timeout=healthlib_settings.CACHE_TIMEOUT)
            _remember(key, page)
        return response


def reader_page(view: Callable | None = None, *, store: bool = True) -> Callable:
    """Decorate a reader view: page cache, ETag/Last-Modified, 304s and CDN-friendly Cache-Control.

    The view may set ``response.healthlib_last_modified`` (a datetime) for a precise
    ``Last-Modified``; otherwise the time of the last content change is used. With
    ``store=False`` (search results: unbounded keys) pages get the headers but are not stored.
    """

    def decorator(view_func: Callable) -> Callable:
        @wraps(view_func)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in ("GET", "HEAD") or not _is_anonymous(request):
                response = view_func(request, *args, **kwargs)
                patch_cache_control(response, private=True, no_cache=True)
                patch_vary_headers(response, ["Cookie"])
                return response
            # PageCacheMiddleware already looked this page up (and missed) under this key.
            fast_path_key = getattr(request, "healthlib_page_key", None)
            key = fast_path_key or page_key(request)
            version = int(key.split(":")[2])
            cache = _cache()
            page = cache.get(key) if store and fast_path_key is None else None
            if page is not None:
                return _respond(request, page)
            response = view_func(request, *args, **kwargs)
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
            if response.status_code != 200 or response.streaming or response.cookies:
                return response
            modified = getattr(response, "healthlib_last_modified", None)
            last_modified = modified.timestamp() if modified is not None else version / 1e9
            page = (response.content, response["Content-Type"], int(last_modified), _etag(response.content))
            response = _respond(request, page)
            if store and fast_path_key is not None:
                # Stored by the middleware, with the headers the rest of the stack adds.
                response.healthlib_page = (key, page)
            elif store:
                cache.set(key, page, timeout=healthlib_settings.CACHE_TIMEOUT)
            return response

        return wrapper

    if view is not None:
        return decorator(view)
    return decorator
