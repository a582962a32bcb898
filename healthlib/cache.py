"""The readers' page cache, and how it is invalidated.

Every cached page is stored under a key that contains the library's *content version*, a
value kept in the cache itself. Publishing, reaffirming or archiving anything (articles and
glossary terms alike) writes a new content version, so every page cached before it is simply
never read again and expires on its own. Because the version lives in the cache, this holds
across processes and servers as long as they share the cache (a file-based, database, Redis
or memcached cache; not the per-process local-memory cache).

The version is the time of the change in nanoseconds, a lower bound of every page's
``Last-Modified``.

Only anonymous GET and HEAD requests are served from and stored in the cache; responses to
logged-in users are marked ``private``. ETags are computed from the page bytes, so a
conditional GET answered from the cache costs no database query at all. ``Last-Modified`` is the
time a page's current bytes were first served (remembered per page), so it moves whenever the
bytes do, even when they change because of *another* item (a re-linked term, a new related
article), and stays put across publishes that leave the page as it was.

A page's key holds the scheme, host and path and only the query parameters its view declares
(``reader_page(query={...})``), normalised; the view sees only those. Any other query string
maps to the same entry, so a flood of junk query strings creates no entries. The content version
lives outside the space the page cache culls (see :func:`_bookkeeping`).

:class:`PageCacheMiddleware`, placed first in ``MIDDLEWARE``, answers those requests from the
cache before sessions, authentication, CSRF and the view run (a cached page then costs a
small fraction of a rendered one). When it is installed it alone writes pages to the cache, always
with the headers the rest of the middleware added (security headers, CSP, X-Frame-Options), and it
replays only pages stored that way, 304s included: a page served by the fast path carries the same
headers as one served by the full stack, whichever request (anonymous, with a stale session cookie,
with an ``Authorization`` header, HEAD, conditional) filled the cache. A response the stack changed
beyond adding headers (compressed, or varying on more than the cookie) is not stored for it.
Each process also keeps recently served pages in memory, keyed like the shared cache (content
version included), so only the version is read from the shared cache per request and a publish
in any process still retires every page at once.

Anonymous readers' pages also carry the headers of the HTTP cache in front (:mod:`healthlib.cache_tags`:
the cache-tag header and ``Surrogate-Control``/``CDN-Cache-Control``), stored with the page, so a
page served from any layer carries the same tags. A shared cache that fails (Redis down or slow) is
logged and treated as a miss: the page is rendered and served, never a 5xx.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from functools import lru_cache, wraps

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.filebased import FileBasedCache
from django.core.exceptions import DisallowedHost, SuspiciousOperation
from django.core.handlers.wsgi import get_path_info, get_script_name
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models.signals import m2m_changed
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import Resolver404, get_urlconf, resolve
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date, urlencode

from healthlib import cache_tags, signals
from healthlib.conf import healthlib_settings

logger = logging.getLogger(__name__)

VERSION_KEY = "healthlib:content-version"
PAGE_KEY = "healthlib:page:{version}:{digest}"
#: Per page, across content versions: (ETag, Last-Modified) of the bytes it was last served with.
VALIDATORS_KEY = "healthlib:validators:{digest}"
#: A declared query parameter's normaliser: the raw value in, its canonical form (or None: ignored) out.
Normaliser = Callable[[str], "str | None"]
#: Responses are stored as (body, content type, Last-Modified timestamp or None, ETag, edge headers),
#: plus, when stored by :class:`PageCacheMiddleware`, the other headers of the full response.
CachedPage = tuple
#: The layout of CachedPage, part of every key: pages stored in an older layout are never read.
PAGE_FORMAT = 2
#: Headers that :func:`_respond` sets itself, or that must never be replayed from the cache.
_OWN_HEADERS = (
    frozenset(
        {"content-type", "content-length", "etag", "last-modified", "cache-control", "vary", "set-cookie", "expires"}
    )
    | cache_tags.edge_header_names()
)
#: Pages kept in each process's memory (keys include the content version, so never stale).
LOCAL_PAGES = 256
_local_pages: dict[str, CachedPage] = {}


def _cache():
    return caches[healthlib_settings.CACHE_ALIAS]


def _get(cache, key: str, default=None):
    """``cache.get``, a failing cache (a Redis server down or too slow) read as a miss and logged."""
    try:
        return cache.get(key, default)
    except Exception:
        logger.exception("healthlib's page cache could not be read; serving without it")
        return default


def _set(cache, key: str, value, timeout) -> None:
    try:
        cache.set(key, value, timeout=timeout)
    except Exception:
        logger.exception("healthlib's page cache could not be written; serving without it")


def _add(cache, key: str, value, timeout) -> None:
    try:
        cache.add(key, value, timeout=timeout)
    except Exception:
        logger.exception("healthlib's page cache could not be written; serving without it")


def _bookkeeping():
    """The cache holding the content version: one the page cache's culling cannot reach.

    Pages may outnumber a cache's ``MAX_ENTRIES`` in normal use. FileBasedCache then deletes random
    files of its directory, the version's among them, which retires every page at once and lets
    ``Last-Modified`` step back. It never looks into subdirectories, so the version lives in one.
    Redis, memcached and the local-memory cache evict least-recently-used keys first, and the
    version is read on every request. ``CACHE_BOOKKEEPING_ALIAS`` names another cache (for a
    DatabaseCache, whose culling deletes keys in key order).
    """
    alias = healthlib_settings.CACHE_BOOKKEEPING_ALIAS
    if alias:
        return caches[alias]
    cache = _cache()
    if isinstance(cache, FileBasedCache):
        return _file_bookkeeping(cache)
    return cache


def _file_bookkeeping(cache: FileBasedCache) -> FileBasedCache:
    # The page cache's key prefix, version and key function: sites sharing a directory stay apart.
    return _file_bookkeeping_at(cache._dir, cache.key_prefix, cache.version, cache.key_func)


@lru_cache(maxsize=8)
def _file_bookkeeping_at(directory: str, key_prefix: str, version: int, key_func: Callable) -> FileBasedCache:
    params = {"TIMEOUT": None, "KEY_PREFIX": key_prefix, "VERSION": version, "KEY_FUNCTION": key_func}
    return FileBasedCache(os.path.join(directory, "healthlib"), params)


def content_version() -> int:
    """The current content version; created on first use (or after the cache was cleared)."""
    cache = _bookkeeping()
    stamp = _version_file_stamp(cache)
    if stamp is not None and _version_memo.get(stamp[0], (None,))[0] == stamp:
        return _version_memo[stamp[0]][1]
    version = _get(cache, VERSION_KEY)
    if version is None:
        _add(cache, VERSION_KEY, time.time_ns(), timeout=None)
        version = _get(cache, VERSION_KEY, time.time_ns())
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
    cache = _bookkeeping()
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
    # Imported here, not at the top: a site's wsgi.py imports this module (CachedPagesWSGI) before
    # Django is set up, when models cannot be imported yet.
    from healthlib.models import Article

    setting_changed.connect(_forget_stack_digest, dispatch_uid="healthlib.cache.stack_digest")
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
    body, content_type, last_modified, etag, edge_headers = page[:5]
    stack_headers = page[5] if len(page) > 5 else ()
    response = HttpResponse(body, content_type=content_type)
    response.headers["Content-Length"] = str(len(body))
    for name, value in (*stack_headers, *edge_headers):
        response.headers[name] = value
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified)
    _public_cache_control(response)
    patch_vary_headers(response, ["Cookie"])
    response = get_conditional_response(request, etag=etag, last_modified=last_modified, response=response)
    if response.status_code == 304:
        # The rest of the stack adds its headers to a 304 too; a 304 built here keeps only the validators.
        for name, value in stack_headers:
            response.headers.setdefault(name, value)
    return response


def positive_int(value: str) -> str | None:
    """Normaliser of a page number: ``"007"`` is ``"7"``; page 1, and anything not a page number, is no parameter."""
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 9 or int(value) <= 1:
        return None
    return str(int(value))


@lru_cache(maxsize=1024)
def _declared_query(path_info: str, urlconf: str) -> Mapping[str, Normaliser] | None:
    """The query parameters of the reader page at this path, or None if it is not one."""
    try:
        match = resolve(path_info, urlconf)
    except Resolver404:
        return None
    return getattr(match.func, "healthlib_query", None)


def _query_of(path_info: str) -> Mapping[str, Normaliser] | None:
    return _declared_query(path_info, get_urlconf() or settings.ROOT_URLCONF)


def _normalised_query(query: QueryDict, declared: Mapping[str, Normaliser]) -> str:
    pairs = []
    for name in sorted(declared):
        value = query.get(name)
        if value is not None and (value := declared[name](value)) is not None:
            pairs.append((name, value))
    return urlencode(pairs)


def page_key(request: HttpRequest) -> str:
    """The cache key of the page at this request's address, under the current content version.

    Scheme and host are part of it because pages hold absolute URLs (canonical link, structured
    data) and HTTPS responses carry HSTS; of the query string, only the parameters the page's view
    declares, normalised.
    """
    declared = _query_of(request.path_info) or {}
    query = _normalised_query(request.GET, declared) if declared else ""
    return _key_for(request.scheme, request.get_host(), request.path, query)


def _key_for(scheme: str, host: str, path: str, query: str) -> str:
    address = repr((PAGE_FORMAT, scheme, host, path, query, _stack_digest()))
    digest = hashlib.sha256(address.encode(errors="surrogatepass")).hexdigest()
    return PAGE_KEY.format(version=content_version(), digest=digest)


#: Settings the rest of the stack adds response headers by (Django's security middleware, its
#: clickjacking middleware, django-csp and Django's own CSP).
HEADER_SETTINGS = ("SECURE_", "X_FRAME_OPTIONS", "CONTENT_SECURITY_POLICY", "CSP_")


@lru_cache(maxsize=1)
def _stack_digest() -> str:
    """The middleware and the header settings (Django's and the edge's), part of every key.

    Pages are stored with the headers the stack added; after a deploy that changes them (a new
    CSP, HSTS turned on) the pages stored before it are never replayed.
    """
    names = sorted(name for name in dir(settings) if name.startswith(HEADER_SETTINGS))
    values = [("MIDDLEWARE", list(settings.MIDDLEWARE))] + [(name, getattr(settings, name)) for name in names]
    # The headers of the HTTP cache in front are stored with each page too.
    values += [
        (name, getattr(healthlib_settings, name)) for name in ("CACHE_TAG_HEADER", "CACHE_TAG_PREFIX", "EDGE_MAX_AGE")
    ]
    return hashlib.sha256(repr(values).encode()).hexdigest()


def _forget_stack_digest(**kwargs) -> None:
    """Receiver of ``setting_changed`` (tests change settings within one process)."""
    _stack_digest.cache_clear()


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
    """A page stored by :class:`PageCacheMiddleware`, with the full stack's headers, or None."""
    page = _local_pages.get(key)
    if page is None:
        page = _get(_cache(), key)
        if page is None or len(page) < 6:
            return None  # a page without the full stack's headers is never replayed without the stack
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
        if page is None or len(page) < 6:
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
            # The same path_info, path and query as WSGIRequest's, hence the same key.
            path_info = get_path_info(environ) or "/"
            path = f"{get_script_name(environ).rstrip('/')}/{path_info.replace('/', '', 1)}"
            ready = None
            if (declared := _query_of(path_info)) is not None:
                try:
                    query = _normalised_query(QueryDict(environ.get("QUERY_STRING", "")), declared) if declared else ""
                except SuspiciousOperation:
                    query = None  # too many fields: Django answers that
                if query is not None:
                    ready = _wsgi_page(_key_for(request.scheme, request.get_host(), path, query))
            if ready is not None:
                headers, body = ready
                start_response("200 OK", list(headers))
                return [b"" if method == "HEAD" else body]
        return self.application(environ, start_response)


class PageCacheMiddleware:
    """Serve cached reader pages to anonymous GET and HEAD requests before any other middleware runs.

    Put it first in ``MIDDLEWARE``. A request with a session cookie or an ``Authorization``
    header may belong to a logged-in user and goes through the full stack (where
    :func:`reader_page` still serves anonymous visitors from the cache). Every page that
    :func:`reader_page` renders for an anonymous visitor, whichever way the request came, is
    stored here, on the way out, with the headers the rest of the stack added.
    """

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.healthlib_page_cache = True  # reader_page leaves storing to this middleware
        if _may_skip_the_stack(request) and _query_of(request.path_info) is not None:
            key = page_key(request)
            page = _get_page(key)
            if page is not None:
                return _respond(request, page)
            request.healthlib_page_key = key
        response = self.get_response(request)
        pending = getattr(response, "healthlib_page", None)
        if pending is not None and _replayable(response, pending[1]):
            key, page = pending
            headers = tuple((k, v) for k, v in response.items() if k.lower() not in _OWN_HEADERS)
            page = (*page[:5], headers)
            _set(_cache(), key, page, healthlib_settings.CACHE_TIMEOUT)
            _remember(key, page)
        return response


def _replayable(response: HttpResponse, page: CachedPage) -> bool:
    """Whether the stack sent the page as :func:`reader_page` made it, give or take headers.

    Only then can the page plus the headers the stack added be replayed as what the stack would
    send: not a 304 (fewer headers), nor a body the stack transformed (``GZipMiddleware``), nor a
    response that varies on more than the cookie the fast path checks for (``Accept-Language``).
    Anything else is left to the full stack, which :func:`reader_page` still answers from its cache.
    """
    if response.status_code != 200 or response.streaming or response.content != page[0]:
        return False
    if response.has_header("Content-Encoding") or response.get("ETag") != page[3]:
        return False
    return {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()} <= {"cookie"}


def _validators(key: str, body: bytes, not_before: int, *, remember: bool) -> tuple[str, int | None]:
    """The page's ETag (from its bytes) and Last-Modified (when these bytes were first served).

    A page's bytes depend on other items too (the terms its body links, its related articles, the
    articles that use a term) and on the site's templates, so no date of its own item bounds them.
    Instead each page remembers the ETag and date it was last served with: the same bytes keep
    their date; new bytes are dated now, and after the previous date, so a client revalidating with
    ``If-Modified-Since`` alone never gets a 304 for changed bytes, even within one second. Without
    a record (never served, expired or culled) the date is now: never older than a date served
    before, unless that one was pushed ahead by several changes within the same second. Pages not
    stored (``remember=False``: search results, unbounded keys) keep no record and get no date:
    clients revalidate them by ETag.
    """
    etag = _etag(body)
    if not remember:
        return etag, None
    record_key = VALIDATORS_KEY.format(digest=key.rsplit(":", 1)[1])
    cache = _cache()
    known = _get(cache, record_key)
    if known is not None and known[0] == etag:
        return etag, known[1]
    last_modified = max(not_before, int(time.time()), known[1] + 1 if known is not None else 0)
    _set(cache, record_key, (etag, last_modified), healthlib_settings.CACHE_TIMEOUT)
    return etag, last_modified


def _declared_only(request: HttpRequest, declared: Mapping[str, Normaliser]) -> None:
    """Show the view only the declared query parameters, normalised: its page is then a function of its key."""
    request.GET = QueryDict(_normalised_query(request.GET, declared) if declared else "")


def reader_page(
    view: Callable | None = None, *, store: bool = True, query: Mapping[str, Normaliser] | None = None
) -> Callable:
    """Decorate a reader view: page cache, ETag/Last-Modified, 304s and CDN-friendly Cache-Control.

    ``query`` maps the query parameters the view reads to their normalisers (e.g.
    :func:`positive_int`); the view sees only those, normalised, and every other query string is
    served the same page. The view may set ``response.healthlib_last_modified`` (a datetime), an
    earliest ``Last-Modified``. With ``store=False`` (search results: unbounded keys) pages get
    the headers but are not stored.
    """
    declared = dict(query or {})

    def decorator(view_func: Callable) -> Callable:
        @wraps(view_func)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            _declared_only(request, declared)
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
            page = _get(cache, key) if store and fast_path_key is None else None
            if page is not None:
                return _respond(request, page)
            response = view_func(request, *args, **kwargs)
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
            if response.status_code in (301, 410) and not response.cookies:
                # A retired page the edge may keep: tagged, so that a restore purges it.
                for name, value in cache_tags.edge_headers(request, response):
                    response.headers[name] = value
            if response.status_code != 200 or response.streaming or response.cookies:
                return response
            modified = getattr(response, "healthlib_last_modified", None)
            not_before = max(version // 10**9, int(modified.timestamp()) if modified is not None else 0)
            etag, last_modified = _validators(key, response.content, not_before, remember=store)
            page = (
                response.content,
                response["Content-Type"],
                last_modified,
                etag,
                cache_tags.edge_headers(request, response),
            )
            response = _respond(request, page)
            if store and getattr(request, "healthlib_page_cache", False):
                # Stored by the middleware, with the headers the rest of the stack adds on the way out.
                response.healthlib_page = (key, page)
            elif store:
                # No PageCacheMiddleware: only this decorator reads the page, inside the full stack.
                _set(cache, key, page, healthlib_settings.CACHE_TIMEOUT)
            return response

        wrapper.healthlib_query = declared  # type: ignore[attr-defined]
        return wrapper

    if view is not None:
        return decorator(view)
    return decorator
