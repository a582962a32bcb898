"""The readers' page cache, and how it is retired: per page, by cache tag.

A cached page is stored under a key of its address (scheme, host, path, and only the query
parameters its view declares, ``reader_page(query={...})``, normalised; any other query string maps
to the same entry, so a flood of junk query strings creates no entries), together with the
*generations* of its two tags: the site-wide tag (``hl``) and its own tag
(:func:`healthlib.cache_tags.own`, from its URL alone: ``hl-a-<slug>`` for an article's pages,
``hl-g-<slug>`` for a term's, ``hl-home``...). A generation is a value kept in the cache itself, one
key per tag; a page is served only while both generations are what they were when it was rendered.

A change retires pages by deleting generations (:func:`retire`): it names the tags the HTTP cache
in front is purged by (:mod:`healthlib.cache_tags`: :func:`~healthlib.cache_tags.for_transition`,
:func:`~healthlib.cache_tags.for_links`, :func:`~healthlib.cache_tags.for_topics`), and
:func:`~healthlib.cache_tags.pages_showing` turns them into the own tags of the pages that carry
them (an article's publish retires its pages, the listings it appears in, its topics' pages and the
pages of its topic-mates, the pages of the terms it links), once, in the writer's request, so a
reader's miss costs no query for tags. Every other cached page stays valid. Because generations
live in the cache, this holds across processes and servers that share it (a file-based, database,
Redis or memcached cache; not the per-process local-memory cache). :func:`invalidate` retires every
page (the site-wide tag).

The generations are read *before* the view renders: a change that commits after that read
retires its generations after the commit, hence after the page was stored with the old ones, so a
page rendered from the old data is never served after its change was retired. A generation that is
missing (never created, evicted, the cache cleared) is created anew, so pages stored under the old
one are never read again. Retiring runs after the change commits (a reader's request in between
would store the old page under the new generation), and for what a change removes from the
indexes :func:`~healthlib.cache_tags.pages_showing` reads (a term mention), when the row goes.

Only anonymous GET and HEAD requests are served from and stored in the cache; responses to
logged-in users are marked ``private``. ETags are computed from the page bytes, so a
conditional GET answered from the cache costs no database query at all. ``Last-Modified`` is the
time a page's current bytes were first served (remembered per page), so it moves whenever the
bytes do, even when they change because of *another* item (a re-linked term, a new related
article), and stays put across changes that leave the page as it was.

:class:`PageCacheMiddleware`, placed first in ``MIDDLEWARE``, answers those requests from the
cache before sessions, authentication, CSRF and the view run (a cached page then costs a
small fraction of a rendered one). When it is installed it alone writes pages to the cache, always
with the headers the rest of the middleware added (security headers, CSP, X-Frame-Options), and it
replays only pages stored that way, 304s included: a page served by the fast path carries the same
headers as one served by the full stack, whichever request (anonymous, with a stale session cookie,
with an ``Authorization`` header, HEAD, conditional) filled the cache. A response the stack changed
beyond adding headers (compressed, or varying on more than the cookie) is not stored for it.
Each process also keeps recently served pages in memory (:data:`LOCAL_PAGES`), checked against the
shared generations on every request, and :class:`CachedPagesWSGI` answers those before Django builds
a request; ``docs/benchmarks.md`` says what each of these layers buys.

Anonymous readers' pages also carry the headers of the HTTP cache in front (:mod:`healthlib.cache_tags`:
the cache-tag header and ``Surrogate-Control``/``CDN-Cache-Control``), stored with the page, so a
page served from any layer carries the same tags. A shared cache that fails (Redis down or slow) is
logged and treated as a miss: the page is rendered and served, never a 5xx.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache, partial, wraps

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.filebased import FileBasedCache
from django.core.exceptions import DisallowedHost, SuspiciousOperation
from django.core.handlers.wsgi import get_path_info, get_script_name
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save, pre_save
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import Resolver404, get_urlconf, resolve
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date, urlencode

from healthlib import cache_tags, signals
from healthlib.conf import healthlib_settings

logger = logging.getLogger(__name__)

PAGE_KEY = "healthlib:page:{digest}"
#: One generation per tag (see the module's docstring); see :func:`tag_key`.
TAG_KEY = "healthlib:tag:{tag}"
#: Longest tag kept as written in its key: a page's own tag comes from its URL, which a reader may make
#: as long as the server accepts, and memcached refuses keys over 250 characters.
TAG_IN_KEY_MAX = 120
#: Per page, across its renders: (ETag, Last-Modified) of the bytes it was last served with.
VALIDATORS_KEY = "healthlib:validators:{digest}"
#: A declared query parameter's normaliser: the raw value in, its canonical form (or None: ignored) out.
Normaliser = Callable[[str], "str | None"]
#: A page: (body, content type, Last-Modified timestamp or None, ETag, edge headers, the other headers
#: of the full response when stored by :class:`PageCacheMiddleware`, else None).
CachedPage = tuple
#: Stored as (tags, their generations, page).
Entry = tuple
#: The layout of Entry, part of every key: entries stored in an older layout are never read.
PAGE_FORMAT = 3
#: Headers that :func:`_respond` sets itself, or that must never be replayed from the cache.
_OWN_HEADERS = (
    frozenset(
        {"content-type", "content-length", "etag", "last-modified", "cache-control", "vary", "set-cookie", "expires"}
    )
    | cache_tags.edge_header_names()
)
#: Entries kept in each process's memory (checked against the shared generations on every use).
LOCAL_PAGES = 256
_local_pages: dict[str, Entry] = {}


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


def _bookkeeping():
    """The cache holding the generations: one the page cache's culling cannot reach.

    Pages may outnumber a cache's ``MAX_ENTRIES`` in normal use. FileBasedCache then deletes random
    files of its directory, which would retire pages at random and let ``Last-Modified`` step back. It
    never looks into subdirectories, so the generations live in one (which is never culled: one small
    file per tag). Redis, memcached and the local-memory cache evict least-recently-used keys first,
    and generations are read on every request. ``CACHE_BOOKKEEPING_ALIAS`` names another cache (for
    a DatabaseCache, whose culling deletes keys in key order).
    """
    alias = healthlib_settings.CACHE_BOOKKEEPING_ALIAS
    if alias:
        return caches[alias]
    cache = _cache()
    if isinstance(cache, FileBasedCache):
        return _file_bookkeeping(cache)
    return cache


class _UnculledFileCache(FileBasedCache):
    """A FileBasedCache that never culls: its files are the generations, one per tag."""

    def _cull(self) -> None:
        pass  # also spares listing the directory on every write


def _file_bookkeeping(cache: FileBasedCache) -> FileBasedCache:
    # The page cache's key prefix, version and key function: sites sharing a directory stay apart.
    return _file_bookkeeping_at(cache._dir, cache.key_prefix, cache.version, cache.key_func)


@lru_cache(maxsize=8)
def _file_bookkeeping_at(directory: str, key_prefix: str, version: int, key_func: Callable) -> FileBasedCache:
    params = {"TIMEOUT": None, "KEY_PREFIX": key_prefix, "VERSION": version, "KEY_FUNCTION": key_func}
    return _UnculledFileCache(os.path.join(directory, "healthlib"), params)


def _new_generation() -> int:
    # A time in nanoseconds (a lower bound of Last-Modified); the random part keeps two generations of
    # one tag, written by two servers in the same nanosecond or with clocks that disagree, apart.
    return time.time_ns() + random.randrange(1000)


def tag_key(tag: str) -> str:
    """The cache key of a tag's generation: the tag itself, or its digest when it is long."""
    if len(tag) > TAG_IN_KEY_MAX:
        tag = "sha256-" + hashlib.sha256(tag.encode(errors="surrogatepass")).hexdigest()
    return TAG_KEY.format(tag=tag)


def generations(tags: Iterable[str], *, create: bool = False) -> tuple[int, ...] | None:
    """The current generations of ``tags``, or None if one is missing (``create``: made anew) or the
    cache cannot be read (logged)."""
    cache = _bookkeeping()
    keys = [tag_key(tag) for tag in tags]
    try:
        found = _read(cache, keys)
        missing = [key for key in keys if key not in found]
        if missing and create:
            for key in missing:
                cache.add(key, _new_generation(), timeout=None)
            found.update(_read(cache, missing))
    except Exception:
        logger.exception("healthlib's page cache could not be read; serving without it")
        return None
    if len(found) < len(keys):
        return None
    return tuple(found[key] for key in keys)


def _read(cache, keys: list[str]) -> dict[str, int]:
    if not isinstance(cache, FileBasedCache):
        return cache.get_many(keys)
    found = {}
    for key in keys:
        value = _file_value(cache, key)
        if value is not None:
            found[key] = value
    return found


#: FileBasedCache only: generation file path -> ((path, inode, mtime, size), value) as last read.
_file_memo: dict[str, tuple[tuple, int]] = {}


def _file_value(cache: FileBasedCache, key: str) -> int | None:
    """A generation from its file, read again only when one ``stat()`` shows another file there.

    Every ``set()``/``add()`` of that backend writes a new file and renames it into place, and a
    retired generation's file is deleted, so an unchanged (inode, mtime, size) means an unchanged
    value: one ``stat()`` instead of opening, unpickling and decompressing the file per request.
    """
    path = cache._key_to_file(key)
    try:
        st = os.stat(path)
    except OSError:
        return None
    stamp = (path, st.st_ino, st.st_mtime_ns, st.st_size)
    memo = _file_memo.get(path)
    if memo is not None and memo[0] == stamp:
        return memo[1]
    value = cache.get(key)
    if value is not None:
        if len(_file_memo) >= 65_536:
            _file_memo.clear()
        # Taken before the read: if the file was replaced meanwhile, the next stat() differs and re-reads.
        _file_memo[path] = (stamp, value)
    return value


def content_version() -> int:
    """The generation of the site-wide tag: it changes when every page is retired (:func:`invalidate`)."""
    found = generations([healthlib_settings.CACHE_TAG_PREFIX], create=True)
    return found[0] if found else 0


def retire(tags: Iterable[str], *, moved: cache_tags.Moved | None = None) -> None:
    """Retire the cached reader pages that carry any of ``tags`` (:mod:`healthlib.cache_tags`; ``moved``:
    see :func:`~healthlib.cache_tags.pages_showing`).

    Call it after the change commits (:func:`retire_on_commit`). A cache that fails is logged: its
    pages then live until ``CACHE_TIMEOUT``.
    """
    tags = list(dict.fromkeys(tags))
    if tags:
        retire_pages(cache_tags.pages_showing(tags, moved=moved))


def retire_pages(own_tags: Iterable[str]) -> None:
    """Retire the cached pages known by these own tags (:func:`healthlib.cache_tags.own`), and the
    pages healthlib does not know."""
    keys = [tag_key(tag) for tag in dict.fromkeys([*own_tags, _UNKNOWN_PAGES])]
    try:
        _bookkeeping().delete_many(keys)
    except Exception:
        logger.exception("healthlib's page cache could not retire %d page tag(s)", len(keys))


def retire_on_commit(tags: Iterable[str], *, own: bool = False, moved: cache_tags.Moved | None = None) -> None:
    """:func:`retire` (``own``: :func:`retire_pages`) once the current transaction commits (at once
    outside one)."""
    transaction.on_commit(partial(retire_pages, list(tags)) if own else partial(retire, list(tags), moved=moved))


def page_stored(article, gained: Iterable[str]) -> None:
    """An article's stored page changed (in the current transaction), linking ``gained`` terms anew:
    its pages, and the pages of those terms (they list it now), are retired after the commit."""
    retire_on_commit([cache_tags.article(article.slug), *map(cache_tags.term, gained)], own=True)


def invalidate(**kwargs) -> int:
    """Retire every cached reader page (after changing what readers see by means healthlib does not
    see, or after a deploy). Returns the new :func:`content_version`."""
    retire([healthlib_settings.CACHE_TAG_PREFIX])
    return content_version()


#: The own tag of reader pages healthlib does not know (a site's views): every change retires them.
_UNKNOWN_PAGES = "healthlib-page-cache-unknown"


def connect() -> None:
    """Retire cached pages whenever what readers see changes: the workflow's transitions, topics, and
    (from :mod:`healthlib.purge`'s hook where the term-mention index is written) each stored page."""
    for signal in (signals.published, signals.reaffirmed, signals.archived, signals.details_changed):
        signal.connect(_transition_done, dispatch_uid=f"healthlib.cache.{id(signal)}")
    # Imported here, not at the top: a site's wsgi.py imports this module (CachedPagesWSGI) before
    # Django is set up, when models cannot be imported yet.
    from healthlib.models import Article, TermMention, Topic

    setting_changed.connect(_forget_stack_digest, dispatch_uid="healthlib.cache.stack_digest")
    post_init.connect(_article_loaded, sender=Article, dispatch_uid="healthlib.cache.article_loaded")
    m2m_changed.connect(_topics_changed, sender=Article.topics.through, dispatch_uid="healthlib.cache.topics")
    pre_save.connect(_topic_saving, sender=Topic, dispatch_uid="healthlib.cache.topic_saving")
    post_save.connect(_topic_saved, sender=Topic, dispatch_uid="healthlib.cache.topic_saved")
    post_delete.connect(_topic_deleted, sender=Topic, dispatch_uid="healthlib.cache.topic_deleted")
    post_delete.connect(_mention_deleted, sender=TermMention, dispatch_uid="healthlib.cache.mention_deleted")


#: What lists show of an article (its title and summary; policy pages are never listed).
_LISTED = ("live_title", "live_summary", "article_type")


def _article_loaded(sender, instance, **kwargs) -> None:
    """Remember how lists showed an article when it was loaded (the workflow loads it afresh, under its
    row lock, before each transition), to know after the change whether they show it differently."""
    fields = instance.__dict__
    if all(name in fields for name in _LISTED) and "live_revision_id" in fields:
        live = fields["live_revision_id"] is not None
        instance._healthlib_listed = tuple(fields[name] for name in _LISTED) if live else None


def _moved(article) -> cache_tags.Moved:
    before = getattr(article, "_healthlib_listed", False)
    after = tuple(getattr(article, name) for name in _LISTED) if article.live_revision_id is not None else None
    return cache_tags.Moved(article.pk, article.slug, before or None, after, before_known=before is not False)


def _transition_done(sender, item, event=None, **kwargs) -> None:
    """After a transition's commit (the workflow sends its signals then)."""
    from healthlib.models import Article

    action = event.action.removeprefix("healthlib.") if event is not None else "publish"
    tags = cache_tags.for_transition(item, action)
    moved = None
    if isinstance(item, Article):
        moved = _moved(item)
        if action == "set_details":  # a new type may put it in or take it out of its topic-mates' lists
            tags += [cache_tags.topic(slug) for slug in item.topics.values_list("slug", flat=True)]
    # What the edge waits for (pages being re-linked or stored again) is retired again, page by page,
    # as each stored page commits.
    retire([*tags, *tags.later], moved=moved)


def _topics_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """An article's topics changed: their pages list it or not, its page shows them."""
    if reverse or not getattr(instance, "is_live", False):
        return
    from healthlib.models import Topic

    if action in ("pre_remove", "post_add") and pk_set:
        slugs = list(Topic.objects.filter(pk__in=pk_set).values_list("slug", flat=True))
    elif action == "pre_clear":
        slugs = list(instance.topics.values_list("slug", flat=True))
    else:
        return
    # Lists show it as before; it comes into or leaves these topics' lists.
    shown = tuple(getattr(instance, name) for name in _LISTED)
    moved = cache_tags.Moved(instance.pk, instance.slug, None, shown)
    retire_on_commit([cache_tags.article(instance.slug), *cache_tags.for_topics(slugs, later=False)], moved=moved)


def _topic_saving(sender, instance, **kwargs) -> None:
    old = sender.objects.filter(pk=instance.pk).values_list("slug", flat=True).first() if instance.pk else None
    instance._healthlib_cache_slug = old


def _topic_saved(sender, instance, **kwargs) -> None:
    # Its articles' pages are stored again after commit (healthlib.derived_work), each retired as it is.
    slugs = {instance.slug, getattr(instance, "_healthlib_cache_slug", None) or instance.slug}
    tags = cache_tags.for_topics(slugs, later=True)
    retire_on_commit([*tags, *tags.later])


def _topic_deleted(sender, instance, **kwargs) -> None:
    tags = cache_tags.for_topics([instance.slug], later=True)
    retire_on_commit([*tags, *tags.later])


def _mention_deleted(sender, instance, **kwargs) -> None:
    """The term's page listed the article; after the commit the index no longer says so."""
    retire_on_commit([cache_tags.term(instance.slug)], own=True)


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
    body, content_type, last_modified, etag, edge_headers, stack_headers = page
    stack_headers = stack_headers or ()
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


@lru_cache(maxsize=4096)
def _reader_page_at(path_info: str, urlconf: str) -> tuple[Mapping[str, Normaliser], tuple[str, str]] | None:
    """The query parameters and the page-cache tags (the site-wide tag, its own) of the reader page at
    this path, or None if it is not one."""
    try:
        match = resolve(path_info, urlconf)
    except Resolver404:
        return None
    declared = getattr(match.func, "healthlib_query", None)
    if declared is None:
        return None
    own = cache_tags.own(match.url_name, match.kwargs) or _UNKNOWN_PAGES
    return declared, (healthlib_settings.CACHE_TAG_PREFIX, own)


def _reader_page_of(path_info: str) -> tuple[Mapping[str, Normaliser], tuple[str, str]] | None:
    return _reader_page_at(path_info, get_urlconf() or settings.ROOT_URLCONF)


def _tags_of(path_info: str) -> tuple[str, str]:
    found = _reader_page_of(path_info)
    return found[1] if found is not None else (healthlib_settings.CACHE_TAG_PREFIX, _UNKNOWN_PAGES)


def _query_of(path_info: str) -> Mapping[str, Normaliser] | None:
    found = _reader_page_of(path_info)
    return found[0] if found is not None else None


def _normalised_query(query: QueryDict, declared: Mapping[str, Normaliser]) -> str:
    pairs = []
    for name in sorted(declared):
        value = query.get(name)
        if value is not None and (value := declared[name](value)) is not None:
            pairs.append((name, value))
    return urlencode(pairs)


def page_key(request: HttpRequest) -> str:
    """The cache key of the page at this request's address.

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
    return PAGE_KEY.format(digest=digest)


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
    _reader_page_at.cache_clear()  # the tag prefix


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


def _valid(entry: Entry | None) -> bool:
    """Whether a stored entry's generations are still the current ones."""
    return entry is not None and generations(entry[0]) == entry[1]


def _get_page(key: str) -> CachedPage | None:
    """A valid page stored by :class:`PageCacheMiddleware`, with the full stack's headers, or None."""
    entry = _local_pages.get(key)
    if entry is None:
        entry = _get(_cache(), key)
        if entry is None or entry[2][5] is None:
            return None  # a page without the full stack's headers is never replayed without the stack
        _remember(key, entry)
    if not _valid(entry):
        _local_pages.pop(key, None)
        _wsgi_pages.pop(key, None)
        return None
    return entry[2]


def _remember(key: str, entry: Entry) -> None:
    if len(_local_pages) >= LOCAL_PAGES:
        _local_pages.clear()  # starting over is cheap
        _wsgi_pages.clear()
    _local_pages[key] = entry
    _wsgi_pages.pop(key, None)


#: WSGI-ready (entry, headers, body) of pages in _local_pages that carry the full stack's headers.
_wsgi_pages: dict[str, tuple[Entry, list[tuple[str, str]], bytes]] = {}


def _wsgi_page(key: str) -> tuple[list[tuple[str, str]], bytes] | None:
    ready = _wsgi_pages.get(key)
    if ready is None:
        entry = _local_pages.get(key)
        if entry is None or entry[2][5] is None:
            return None
        response = _respond(HttpRequest(), entry[2])  # an unconditional request: always the 200
        ready = (entry, [(k, v) for k, v in response.items()], entry[2][0])
        _wsgi_pages[key] = ready
    if not _valid(ready[0]):
        _local_pages.pop(key, None)
        _wsgi_pages.pop(key, None)
        return None
    return ready[1], ready[2]


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
    that :class:`PageCacheMiddleware` has already served in this process is sent with the same bytes
    and headers, without building a Django request or response; its generations are still checked
    against the shared cache on every request, so a change in any process retires the page at once.
    Everything else goes to the application unchanged.
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
        if pending is not None and _replayable(response, pending[1][2]):
            key, (tags, found, page) = pending
            headers = tuple((k, v) for k, v in response.items() if k.lower() not in _OWN_HEADERS)
            entry = (tags, found, (*page[:5], headers))
            _set(_cache(), key, entry, healthlib_settings.CACHE_TIMEOUT)
            _remember(key, entry)
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
            cache = _cache()
            if store and fast_path_key is None:
                entry = _get(cache, key)
                if _valid(entry):
                    return _respond(request, entry[2])
            tags = _tags_of(request.path_info)
            # Read before the view reads the database: see the module's docstring.
            found = generations(tags, create=True) if store else None
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
            not_before = max(max(found or (0,)) // 10**9, int(modified.timestamp()) if modified is not None else 0)
            etag, last_modified = _validators(key, response.content, not_before, remember=store)
            page = (
                response.content,
                response["Content-Type"],
                last_modified,
                etag,
                cache_tags.edge_headers(request, response),
                None,
            )
            response = _respond(request, page)
            if found is None:
                return response  # not stored: search results, or a cache that cannot be read
            entry = (tags, found, page)
            if getattr(request, "healthlib_page_cache", False):
                # Stored by the middleware, with the headers the rest of the stack adds on the way out.
                response.healthlib_page = (key, entry)
            else:
                # No PageCacheMiddleware: only this decorator reads the page, inside the full stack.
                _set(cache, key, entry, healthlib_settings.CACHE_TIMEOUT)
            return response

        wrapper.healthlib_query = declared  # type: ignore[attr-defined]
        return wrapper

    if view is not None:
        return decorator(view)
    return decorator
