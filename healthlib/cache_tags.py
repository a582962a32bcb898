"""Cache tags: which reader pages show what, named so that an HTTP cache in front can purge them.

Every cacheable reader response carries, in one header (``HEALTHLIB["CACHE_TAG_HEADER"]``:
Fastly's ``Surrogate-Key`` and Varnish's ``xkey`` space-separated, Cloudflare's ``Cache-Tag``
comma-separated), the tags of everything it shows:

================  ==============================================================================
tag               pages that carry it
================  ==============================================================================
``hl``            every reader page (a full purge, after a deploy; never sent by a transition)
``hl-a-<slug>``   the article's page, review trail and ``live.json``; the glossary pages that list
                  it among "articles that use this term"
``hl-g-<slug>``   the glossary term's page; the pages of terms that list it as related
``hl-m-<slug>``   the article pages that link the term (its definition is in their metadata)
``hl-t-<slug>``   the topic's page; the pages of its articles (breadcrumbs, related articles)
``hl-type-<t>``   the listing of one article type
``hl-home``, ``hl-articles``, ``hl-glossary``, ``hl-feeds``, ``hl-sitemap``, ``hl-search``: those pages
================  ==============================================================================

A change then purges the tags of what it changed (:func:`for_transition`, :func:`for_links`,
:func:`for_topics`): an article's publish purges its own tag and the listings it appears in, never
"everything". ``hl`` is ``HEALTHLIB["CACHE_TAG_PREFIX"]``. Only anonymous readers' responses are
tagged (:func:`healthlib.cache.reader_page`); signed-in users, previews and review links never are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from django.http import HttpRequest, HttpResponse

from healthlib.conf import healthlib_settings

# The models are imported where they are used: healthlib.cache imports this module, and a site's
# wsgi.py imports healthlib.cache (CachedPagesWSGI) before Django is set up.

#: Header name -> separator of the tags in it.
HEADERS = {"Surrogate-Key": " ", "Cache-Tag": ",", "xkey": " "}
#: Headers that let the edge keep a page longer than browsers (Fastly and Varnish read
#: Surrogate-Control and strip it; Cloudflare and RFC 9213 CDNs read CDN-Cache-Control).
EDGE_CONTROL_HEADERS = ("Surrogate-Control", "CDN-Cache-Control")
#: The largest header value sent: Fastly and Cloudflare accept 16 KB. Beyond it, the per-term tags
#: of an article are left out (a change of one of those terms re-stores the article, which purges
#: the article's own tag: see :func:`for_links`).
MAX_HEADER_BYTES = 16_000
#: Listings every live article may appear in.
LISTINGS = ("home", "articles", "feeds", "sitemap", "search")


def tag(*parts: str) -> str:
    """``tag("a", "flu")`` -> ``"hl-a-flu"`` (with the site's prefix)."""
    return "-".join([healthlib_settings.CACHE_TAG_PREFIX, *parts])


def article(slug: str) -> str:
    return tag("a", slug)


def term(slug: str) -> str:
    return tag("g", slug)


def mentions(slug: str) -> str:
    return tag("m", slug)


def topic(slug: str) -> str:
    return tag("t", slug)


def article_type(value: str) -> str:
    return tag("type", value)


# ---------------------------------------------------------------- the tags of a page


def _article_page(slug: str) -> list[str]:
    from healthlib.models import TermMention, Topic

    terms = TermMention.objects.filter(article__slug=slug).order_by("slug").values_list("slug", flat=True)
    topics = Topic.objects.filter(articles__slug=slug).order_by("slug").values_list("slug", flat=True)
    return [article(slug), *(topic(s) for s in topics), *(mentions(s) for s in terms)]


def _term_page(slug: str) -> list[str]:
    from healthlib.models import Article, ArticleType, GlossaryTerm

    related = GlossaryTerm.objects.filter(slug=slug).values_list("live_related_slugs", flat=True).first() or []
    listed = (
        Article.objects.filter(live_revision__isnull=False, term_mentions__slug=slug)
        .exclude(article_type=ArticleType.POLICY)  # as the page lists them (healthlib.views.live_articles)
        .order_by("slug")
        .values_list("slug", flat=True)
    )
    return [term(slug), *(term(s) for s in related), *(article(s) for s in listed)]


def own(url_name: str | None, kwargs) -> str | None:
    """The tag naming the reader page at an address itself, from its URL alone (no query): the key of
    healthlib's own page cache (:mod:`healthlib.cache`). None for pages healthlib does not know."""
    if url_name in ("article_detail", "article_reviews", "article_live_json"):
        return article(kwargs["slug"])
    if url_name == "term_detail":
        return term(kwargs["slug"])
    if url_name == "topic_detail":
        return topic(kwargs["slug"])
    if url_name == "article_type_detail":
        return article_type(kwargs["article_type"])
    if url_name in ("feed_rss", "feed_atom"):
        return tag("feeds")
    if url_name in ("home", "articles", "glossary", "sitemap", "search"):
        return tag(url_name)
    if url_name == "article_index":
        return tag("articles")
    return None


def page_tags(request: HttpRequest) -> list[str]:
    """The tags of the reader page at this request's address (healthlib's URL names; other views get
    the site-wide tag only)."""
    match = request.resolver_match
    tags = [healthlib_settings.CACHE_TAG_PREFIX]
    if match is None:
        return tags
    name, kwargs = match.url_name, match.kwargs
    if name == "article_detail":
        return tags + _article_page(kwargs["slug"])
    if name == "term_detail":
        return tags + _term_page(kwargs["slug"])
    if (mine := own(name, kwargs)) is not None:  # the pages that show nothing but themselves
        tags.append(mine)
    return tags


def header_value(tags: Iterable[str], separator: str) -> str:
    """The tags joined for the header, unique and in order, within :data:`MAX_HEADER_BYTES`."""
    unique = list(dict.fromkeys(tags))
    value = separator.join(unique)
    if len(value.encode()) > MAX_HEADER_BYTES:
        mention_prefix = mentions("")
        value = separator.join(t for t in unique if not t.startswith(mention_prefix))[:MAX_HEADER_BYTES]
        value = value.rsplit(separator, 1)[0] if len(value) == MAX_HEADER_BYTES else value
    return value


def edge_headers(request: HttpRequest, response: HttpResponse) -> tuple[tuple[str, str], ...]:
    """The cache-tag and edge-lifetime headers of an anonymous reader's cacheable response."""
    headers: list[tuple[str, str]] = []
    name = healthlib_settings.CACHE_TAG_HEADER
    if name:
        headers.append((name, header_value(page_tags(request), HEADERS[name])))
    max_age = healthlib_settings.EDGE_MAX_AGE
    if max_age is not None and response.status_code == 200:
        headers += [(header, f"max-age={max_age}") for header in EDGE_CONTROL_HEADERS]
    return tuple(headers)


def edge_header_names() -> frozenset[str]:
    """Lower-case names of every header :func:`edge_headers` may set."""
    return frozenset(name.lower() for name in (*HEADERS, *EDGE_CONTROL_HEADERS))


# ---------------------------------------------------------------- the tags a change purges


class ChangeTags(list):
    """Tags to purge at once, and (``later``) tags to purge once the pages being stored again are stored."""

    def __init__(self, now: Iterable[str] = (), later: Iterable[str] = ()) -> None:
        super().__init__(dict.fromkeys(now))
        self.later = list(dict.fromkeys(later))


def for_transition(item, action: str) -> ChangeTags:
    """What a workflow action on a live (or just archived) item changes for readers.

    Called inside the action's transaction, after the item and its term mentions are saved.
    Actions that readers cannot see (drafts, reviews in progress) change nothing.
    """
    from healthlib.models import Article, ArticleType, GlossaryTerm

    if isinstance(item, Article):
        own = article(item.slug)
        if action in ("publish", "archive"):
            topics = item.topics.values_list("slug", flat=True)
            return ChangeTags(
                [own, article_type(item.article_type), *(topic(s) for s in topics), *(tag(n) for n in LISTINGS)]
            )
        if action == "reaffirm":  # the review date: the page and the lists ordered or dated by it
            return ChangeTags([own, tag("home"), tag("feeds"), tag("sitemap")])
        if action == "set_review_interval":
            return ChangeTags([own])
        if action == "set_details":  # topics are purged by for_topics (before and after)
            return ChangeTags([own, tag("home"), *(article_type(value) for value in ArticleType.values)])
        return ChangeTags()
    if isinstance(item, GlossaryTerm):
        own = term(item.slug)
        if action in ("publish", "archive"):
            # The articles that link the term are re-linked after commit (healthlib.derived_work);
            # their pages are purged once that is done.
            return ChangeTags([own, tag("glossary"), tag("sitemap"), tag("search")], later=[mentions(item.slug)])
        if action in ("reaffirm", "set_review_interval"):
            return ChangeTags([own])
    return ChangeTags()


def for_links(article_slug: str, gained: Iterable[str]) -> ChangeTags:
    """An article's page now links terms it did not: its page at the edge lacks their ``m-`` tags, and
    their pages now list it."""
    return ChangeTags([article(article_slug), *(term(slug) for slug in sorted(gained))])


def for_topics(slugs: Iterable[str], *, later: bool) -> ChangeTags:
    """Topics whose page or articles changed (``later``: their articles' pages are being stored again)."""
    tags = [*(topic(slug) for slug in sorted(set(slugs))), tag("home"), tag("sitemap")]
    return ChangeTags([] if later else tags, later=tags if later else [])


# ---------------------------------------------------------------- healthlib's own page cache: the pages a change retires


def _split(tags: Iterable[str]) -> dict[str, set[str]]:
    """Tags by kind (``a``, ``g``, ``m``, ``t``; anything else under ``""``)."""
    kinds: dict[str, set[str]] = {"a": set(), "g": set(), "m": set(), "t": set(), "": set()}
    prefixes = [(kind, tag(kind, "")) for kind in ("a", "g", "m", "t")]
    for value in tags:
        for kind, prefix in prefixes:
            if value.startswith(prefix):
                kinds[kind].add(value.removeprefix(prefix))
                break
        else:
            kinds[""].add(value)
    return kinds


def pages_showing(tags: Iterable[str], *, moved: Moved | None = None) -> list[str]:
    """The :func:`own` tags of the pages that carry any of ``tags`` in :func:`page_tags`.

    healthlib's page cache knows each page by its own tag only (no query when a reader's request
    misses), so the question "which pages show this?" is asked here, once per change, of the same
    indexes :func:`page_tags` reads: an article is shown by its own pages and by the pages of the
    terms it links (they list it); a term by its page and the pages of the terms that list it as
    related; a term's mentions by the pages of the articles that link it; a topic by its page and
    its articles' pages (breadcrumbs, related articles). Asked after the change commits, except for
    what a change removes from the index: see :mod:`healthlib.cache`.

    ``moved``: the tags stand for a change of this article (a publish, archive, new type or topics).
    The pages that list it (its terms' pages, its topic-mates' related articles) show its title and
    summary only: they change only if those did, or it came or went; and a topic-mate's page lists it
    only if it ranks, before or after, among the first few articles of the topic (:func:`_ranks_in`).
    """
    from django.db.models import Q

    from healthlib.models import Article, GlossaryTerm, TermMention

    kinds = _split(tags)
    pages = dict.fromkeys([*kinds[""], *map(article, kinds["a"]), *map(term, kinds["g"]), *map(topic, kinds["t"])])
    listed = kinds["a"] - ({moved.slug} if moved is not None and not moved.listed_differently else set())
    if listed:
        listed_by = TermMention.objects.filter(article__slug__in=sorted(listed)).values_list("slug", flat=True)
        pages.update(dict.fromkeys(term(slug) for slug in sorted(set(listed_by))))
    if kinds["g"]:
        related = Q()
        for slug in sorted(kinds["g"]):
            related |= Q(live_related_slugs__icontains=f'"{slug}"')  # a JSON list of slugs
        listing = GlossaryTerm.objects.filter(related).values_list("slug", flat=True)
        pages.update(dict.fromkeys(term(slug) for slug in sorted(listing)))
    topics = kinds["t"]
    if moved is not None:
        topics = {slug for slug in topics if moved.listed_differently and _ranks_in(slug, moved)}
    if kinds["m"] or topics:
        showing = Article.objects.filter(
            Q(term_mentions__slug__in=sorted(kinds["m"])) | Q(topics__slug__in=sorted(topics))
        )
        pages.update(dict.fromkeys(article(slug) for slug in sorted(set(showing.values_list("slug", flat=True)))))
    return list(pages)


class Moved(NamedTuple):
    """An article as lists showed it before a change and as they show it after: (live title, live
    summary, article type), None when not live."""

    pk: int
    slug: str
    before: tuple[str, str, str] | None
    after: tuple[str, str, str] | None
    #: False: how it was shown before is not known (every list it may be in is retired).
    before_known: bool = True

    @property
    def listed_differently(self) -> bool:
        return not self.before_known or self.before != self.after


def _ranks_in(topic_slug: str, moved: Moved) -> bool:
    """Whether ``moved`` may be, before or after its change, among the related articles that a page of
    this topic shows (:func:`healthlib.reader_pages.related_articles`: the first few live, non-policy
    articles sharing a topic, by title).

    A page's list holds the first N of the union of its topics' articles, so an article it shows is
    among the first N + 1 of their shared topic (the page's own article may be one of them). One
    indexed count per title, stopped at N + 1. Unknown before-state: may rank.
    """
    from healthlib.models import Article, ArticleType
    from healthlib.reader_pages import RELATED_ARTICLES

    if not moved.before_known:
        return True
    for shown in (moved.before, moved.after):
        if shown is None or not shown[0] or shown[2] == ArticleType.POLICY:
            continue
        ahead = (
            Article.objects.filter(topics__slug=topic_slug, live_revision__isnull=False, live_title__lte=shown[0])
            .exclude(article_type=ArticleType.POLICY)
            .exclude(pk=moved.pk)
            .values("pk")[: RELATED_ARTICLES + 1]
        )
        if ahead.count() <= RELATED_ARTICLES:
            return True
    return False
