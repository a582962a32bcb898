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
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from functools import wraps

from django.core.cache import caches
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date

from healthlib import signals
from healthlib.conf import healthlib_settings

VERSION_KEY = "healthlib:content-version"
PAGE_KEY = "healthlib:page:{version}:{digest}"
#: Responses are stored as (body, content type, Last-Modified timestamp or None, ETag).
CachedPage = tuple[bytes, str, float | None, str]


def _cache():
    return caches[healthlib_settings.CACHE_ALIAS]


def content_version() -> int:
    """The current content version; created on first use (or after the cache was cleared)."""
    cache = _cache()
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(VERSION_KEY, time.time_ns())
    return int(version)


def invalidate(**kwargs) -> int:
    """Retire every cached reader page by writing a new content version. Returns the new version.

    Connected to ``healthlib.signals.published``, ``reaffirmed`` and ``archived`` and to topic
    changes; call it yourself after changing what readers see by other means.
    """
    cache = _cache()
    old = cache.get(VERSION_KEY) or 0
    # Strictly increasing even if two bumps land in the same nanosecond or clocks disagree.
    version = max(time.time_ns(), int(old) + 1)
    cache.set(VERSION_KEY, version, timeout=None)
    return version


def connect() -> None:
    """Invalidate the page cache whenever what readers see changes."""
    for signal in (signals.published, signals.reaffirmed, signals.archived):
        signal.connect(invalidate, dispatch_uid=f"healthlib.cache.{id(signal)}")
    from healthlib.models import Article, Topic

    post_save.connect(invalidate, sender=Topic, dispatch_uid="healthlib.cache.topic_saved")
    post_delete.connect(invalidate, sender=Topic, dispatch_uid="healthlib.cache.topic_deleted")
    m2m_changed.connect(invalidate, sender=Article.topics.through, dispatch_uid="healthlib.cache.article_topics")


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
    body, content_type, last_modified, etag = page
    response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified)
    _public_cache_control(response)
    patch_vary_headers(response, ["Cookie"])
    return get_conditional_response(request, etag=etag, last_modified=last_modified, response=response)


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
            version = content_version()
            digest = hashlib.sha256(request.get_full_path().encode()).hexdigest()
            key = PAGE_KEY.format(version=version, digest=digest)
            cache = _cache()
            page = cache.get(key) if store else None
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
            if store:
                cache.set(key, page, timeout=healthlib_settings.CACHE_TIMEOUT)
            return _respond(request, page)

        return wrapper

    if view is not None:
        return decorator(view)
    return decorator
