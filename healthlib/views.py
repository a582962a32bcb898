"""The readers' side: published content only. Anything not live is a 404.

Pages serve the HTML stored at publish time; no markdown or glossary work happens per
request. Every reader view is wrapped in :func:`healthlib.cache.reader_page` (page cache,
ETag/Last-Modified, Cache-Control). Templates are looked up most-specific-first, so a site
can override ``healthlib/<page>.html`` or, for articles, ``healthlib/article_detail_<type>.html``.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from dataclasses import dataclass
from string import ascii_uppercase
from typing import Any, NamedTuple

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from healthlib import structured_data
from healthlib.cache import reader_page
from healthlib.conf import healthlib_settings
from healthlib.models import Article, ArticleType, Decision, GlossaryTerm, Kind, Review, Revision, Topic

RELATED_ARTICLES = 5
LETTERS = list(ascii_uppercase)
OTHER = "#"


def live_articles():
    """Published articles readers may list (policy pages are served but never listed)."""
    return Article.objects.filter(live_revision__isnull=False).exclude(article_type=ArticleType.POLICY)


def _absolute(request: HttpRequest, path: str) -> str:
    return request.build_absolute_uri(path)


def _letter(text: str) -> str:
    first = unicodedata.normalize("NFKD", text.strip()[:1]).encode("ascii", "ignore").decode().upper()
    return first if first in ascii_uppercase else OTHER


def _by_letter(items: list[Any], title: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Group items by the first letter of ``title``: (letter navigation, groups)."""
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(_letter(getattr(item, title)), []).append(item)
    letters = LETTERS + ([OTHER] if OTHER in groups else [])
    navigation = [{"letter": letter, "anchor": _anchor(letter), "present": letter in groups} for letter in letters]
    ordered = [
        {"letter": letter, "anchor": _anchor(letter), "items": groups[letter]} for letter in letters if letter in groups
    ]
    return navigation, ordered


def _anchor(letter: str) -> str:
    return "letter-other" if letter == OTHER else f"letter-{letter.lower()}"


# ---------------------------------------------------------------- advertising slots

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>")
_VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass(frozen=True)
class BodyPart:
    html: str
    slot: str = ""


def top_level_h2_offsets(html: str) -> list[int]:
    """Offsets of the ``<h2`` tags that are not nested in any other element.

    The stored body is sanitizer output (well-formed), so tracking depth over tags is enough.
    """
    offsets: list[int] = []
    depth = 0
    for match in _TAG.finditer(html):
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if closing:
            depth = max(depth - 1, 0)
        elif name in _VOID or self_closing:
            continue
        else:
            if name == "h2" and depth == 0:
                offsets.append(match.start())
            depth += 1
    return offsets


def split_for_ads(html: str, slots: list[str]) -> list[BodyPart]:
    """Cut the body at top-level ``<h2>`` boundaries where ``slots`` ask for an advertisement.

    Sections are numbered from the first ``<h2>``; text before it is the intro. Slots are
    placed only *between* sections (never inside one): "after_intro", "after_section_N"
    (only if section N+1 exists) and "end" (after the last section).
    """
    if not slots:
        return [BodyPart(html)]
    offsets = top_level_h2_offsets(html)
    cuts: dict[int, str] = {}
    for slot in slots:
        if slot == "after_intro" and offsets and offsets[0] > 0 and html[: offsets[0]].strip():
            cuts.setdefault(offsets[0], slot)
        elif slot.startswith("after_section_") and slot[len("after_section_") :].isdigit():
            number = int(slot[len("after_section_") :])
            if 1 <= number < len(offsets):
                cuts.setdefault(offsets[number], slot)
    parts: list[BodyPart] = []
    start = 0
    for offset in sorted(cuts):
        parts.append(BodyPart(html[start:offset], cuts[offset]))
        start = offset
    parts.append(BodyPart(html[start:], "end" if "end" in slots else ""))
    return parts


# ---------------------------------------------------------------- library pages


@reader_page
def home(request: HttpRequest) -> HttpResponse:
    articles = live_articles()
    topics = Topic.objects.annotate(
        article_count=Count(
            "articles",
            filter=Q(articles__live_revision__isnull=False) & ~Q(articles__article_type=ArticleType.POLICY),
        )
    ).filter(article_count__gt=0)
    present = set(articles.values_list("article_type", flat=True).distinct())
    types = [{"value": value, "label": label} for value, label in ArticleType.choices if value in present]
    recent = articles.order_by("-last_reviewed_at", "live_title").only(
        "slug", "live_title", "live_summary", "last_reviewed_at"
    )[: healthlib_settings.RECENT_ARTICLES]
    context = {"topics": topics, "article_types": types, "recent_articles": recent}
    return TemplateResponse(request, ["healthlib/home.html"], context)


@reader_page
def topic_detail(request: HttpRequest, slug: str) -> HttpResponse:
    topic = get_object_or_404(Topic, slug=slug)
    articles = live_articles().filter(topics=topic).order_by("live_title").only("slug", "live_title", "live_summary")
    context = {"topic": topic, "articles": articles}
    return TemplateResponse(
        request, [f"healthlib/topic_detail_{topic.slug}.html", "healthlib/topic_detail.html"], context
    )


@reader_page
def article_type_detail(request: HttpRequest, article_type: str) -> HttpResponse:
    if article_type not in ArticleType.values or article_type == ArticleType.POLICY:
        raise Http404(_("No such kind of article."))
    label = ArticleType(article_type).label
    articles = (
        live_articles()
        .filter(article_type=article_type)
        .order_by("live_title")
        .only("slug", "live_title", "live_summary")
    )
    context = {"article_type": article_type, "article_type_label": label, "articles": articles}
    return TemplateResponse(request, ["healthlib/article_type_detail.html"], context)


@reader_page
def article_index(request: HttpRequest) -> HttpResponse:
    articles = list(live_articles().order_by("live_title").only("slug", "live_title", "live_summary"))
    navigation, groups = _by_letter(articles, "live_title")
    context = {"letters": navigation, "groups": groups, "article_count": len(articles)}
    return TemplateResponse(request, ["healthlib/article_index.html"], context)


# ---------------------------------------------------------------- articles

_GLOSSARY_HREF = re.compile(r'href="([^"]*)"')


def _term_path_prefix() -> str:
    """The glossary term URL without the slug: ``/health/glossary/`` (slugs are URL-safe ASCII)."""
    return reverse("healthlib:term_detail", kwargs={"slug": "x"})[:-2]


def _linked_term_slugs(body_html: str) -> list[str]:
    """Slugs of glossary terms the stored body links to, in order of first appearance."""
    prefix = _term_path_prefix()
    slugs: list[str] = []
    for href in _GLOSSARY_HREF.findall(body_html):
        path = href.split("#", 1)[0]
        if path.startswith(prefix) and path.endswith("/"):
            slug = path[len(prefix) : -1]
            if slug and "/" not in slug and slug not in slugs:
                slugs.append(slug)
    return slugs


class _MentionedTerm(NamedTuple):
    slug: str
    live_term: str
    live_short_definition: str
    live_aliases: list[str]


def article_context(request: HttpRequest, article: Article, topics: list[Topic]) -> dict[str, Any]:
    """Everything the article template needs beyond the article itself (at most two queries)."""
    # EXISTS rather than a join + DISTINCT, and live titles are never empty: the database walks the
    # live_title index and stops after a handful of rows instead of sorting every article of the topics.
    on_topics = Article.topics.through.objects.filter(article_id=OuterRef("pk"), topic_id__in=[t.pk for t in topics])
    related = (
        live_articles()
        .filter(Exists(on_topics), live_title__gt="")
        .exclude(pk=article.pk)
        .order_by("live_title")
        .only("slug", "live_title", "live_summary")[:RELATED_ARTICLES]
        if topics
        else []
    )
    slugs = _linked_term_slugs(article.live_body_html)
    # Plain rows, not model instances: an article mentions dozens of terms.
    terms = {
        row[0]: _MentionedTerm(*row)
        for row in GlossaryTerm.objects.filter(live_revision__isnull=False, slug__in=slugs).values_list(
            "slug", "live_term", "live_short_definition", "live_aliases"
        )
    } if slugs else {}  # fmt: skip
    mentions = [terms[slug] for slug in slugs if slug in terms]
    is_policy = article.article_type == ArticleType.POLICY
    url = _absolute(request, article.get_absolute_url())
    home_url = _absolute(request, reverse("healthlib:home"))
    glossary_url = _absolute(request, reverse("healthlib:glossary"))
    term_base = _absolute(request, _term_path_prefix())
    json_ld = structured_data.article_page(
        article,
        url=url,
        home_url=home_url,
        glossary_url=glossary_url,
        topics=[
            (topic.name, _absolute(request, reverse("healthlib:topic_detail", args=[topic.slug]))) for topic in topics
        ],
        # One reverse() for all mentions: an article links dozens of terms.
        mentions=[(term, f"{term_base}{term.slug}/") for term in mentions],
    )
    return {
        "article": article,
        "topics": topics,
        "related_articles": related,
        # Policy pages carry no advertising.
        "body_parts": split_for_ads(article.live_body_html, [] if is_policy else list(healthlib_settings.AD_SLOTS)),
        "canonical_url": url,
        "json_ld": structured_data.json_ld_script(json_ld),
        "crumbs": [
            {"url": reverse("healthlib:topic_detail", args=[topic.slug]), "label": topic.name} for topic in topics[:1]
        ],
        "is_policy": is_policy,
        "is_editorial_policy": article.slug == healthlib_settings.EDITORIAL_POLICY_SLUG,
        "ad_html": mark_safe(healthlib_settings.AD_HTML),  # trusted markup from the site's settings
        **policy_links(),
    }


def policy_links() -> dict[str, str]:
    return {
        "editorial_policy_url": reverse("healthlib:article_detail", args=[healthlib_settings.EDITORIAL_POLICY_SLUG]),
        "advertising_policy_url": reverse(
            "healthlib:article_detail", args=[healthlib_settings.ADVERTISING_POLICY_SLUG]
        ),
    }


def _article_templates(article: Article) -> list[str]:
    return [f"healthlib/article_detail_{article.article_type}.html", "healthlib/article_detail.html"]


@reader_page
def article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    article = get_object_or_404(Article.objects.filter(live_revision__isnull=False), slug=slug)
    topics = list(article.topics.all())
    response = TemplateResponse(request, _article_templates(article), article_context(request, article, topics))
    response.healthlib_last_modified = max(filter(None, [article.last_published_at, article.last_reviewed_at]))
    return response


# ---------------------------------------------------------------- glossary


@reader_page
def glossary(request: HttpRequest) -> HttpResponse:
    terms = list(
        GlossaryTerm.objects.filter(live_revision__isnull=False)
        .order_by("live_term")
        .only("slug", "live_term", "live_short_definition", "live_aliases")
    )
    terms.sort(key=lambda term: term.live_term.casefold())
    navigation, groups = _by_letter(terms, "live_term")
    url = _absolute(request, reverse("healthlib:glossary"))
    json_ld = structured_data.glossary_set(
        [(term, _absolute(request, term.get_absolute_url())) for term in terms],
        url=url,
        home_url=_absolute(request, reverse("healthlib:home")),
    )
    context = {
        "letters": navigation,
        "groups": groups,
        "term_count": len(terms),
        "canonical_url": url,
        "json_ld": structured_data.json_ld_script(json_ld),
    }
    return TemplateResponse(request, ["healthlib/glossary.html"], context)


@reader_page
def term_detail(request: HttpRequest, slug: str) -> HttpResponse:
    term = get_object_or_404(GlossaryTerm.objects.filter(live_revision__isnull=False), slug=slug)
    related_terms = GlossaryTerm.objects.filter(live_revision__isnull=False, slug__in=term.live_related_slugs).only(
        "slug", "live_term", "live_short_definition"
    )
    path = term.get_absolute_url()
    # Articles link to the term by its path; the trailing slash keeps "t-cell" from matching "t-cell-therapy".
    articles = (
        live_articles()
        .filter(live_body_html__icontains=f'{path}"')
        .order_by("live_title")
        .only("slug", "live_title", "live_summary")
    )
    url = _absolute(request, path)
    json_ld = structured_data.term_page(
        term,
        url=url,
        glossary_url=_absolute(request, reverse("healthlib:glossary")),
        home_url=_absolute(request, reverse("healthlib:home")),
    )
    context = {
        "term": term,
        "related_terms": related_terms,
        "articles_using_term": articles,
        "canonical_url": url,
        "json_ld": structured_data.json_ld_script(json_ld),
        **policy_links(),
    }
    response = TemplateResponse(request, ["healthlib/term_detail.html"], context)
    response.healthlib_last_modified = max(filter(None, [term.last_published_at, term.last_reviewed_at]))
    return response


# ---------------------------------------------------------------- search


@reader_page(store=False)
def search(request: HttpRequest) -> HttpResponse:
    from healthlib.search import search as run_search

    query = request.GET.get("q", "").strip()[:200]
    page_size = healthlib_settings.SEARCH_PAGE_SIZE
    try:
        page_number = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page_number = 1
    results = None
    page = None
    if query:
        results = run_search(query, limit=page_size, offset=(page_number - 1) * page_size)
        if page_number > 1 and not results.hits and results.total:
            raise Http404(_("That page of results does not exist."))
        # The paginator only needs the total; the hits for this page come from the search backend.
        paginator = Paginator(range(results.total), page_size, allow_empty_first_page=True)
        page = paginator.get_page(page_number)
    context = {"query": query, "results": results, "page_obj": page}
    return TemplateResponse(request, ["healthlib/search.html"], context)


# ---------------------------------------------------------------- staff preview


def _may_preview(user) -> bool:
    return user.is_authenticated and (
        user.has_perm("healthlib.edit_content") or user.has_perm("healthlib.review_content")
    )


def preview_revision(request: HttpRequest, pk: int) -> HttpResponse:
    """Any revision as readers would see it, for staff only: bannered, noindex, never cached."""
    if not _may_preview(request.user):
        raise PermissionDenied(_("Only editors and medical reviewers may preview revisions."))
    revision = get_object_or_404(Revision.objects.select_related("item"), pk=pk)
    item = revision.item
    # A copy of the item with the revision copied into its live fields, rendered by the publish
    # pipeline; the copy is never saved.
    specific = copy.copy(item.specific())
    specific.set_live_content(revision)
    reviews = list(
        Review.objects.filter(revision=revision, decision__in=[Decision.APPROVED, Decision.REAFFIRMED]).order_by(
            "reviewed_at"
        )
    )
    specific.live_reviewers = [{"name": r.reviewer_name, "credentials": r.reviewer_credentials} for r in reviews]
    specific.last_reviewed_at = reviews[-1].reviewed_at if reviews else None
    specific.next_review_due = specific.compute_next_review_due() if reviews else None
    preview = {
        "revision": revision,
        "state": item.get_state_display(),
        "is_live": item.live_revision_id == revision.pk,
        "is_reviewed": bool(reviews),
    }
    if item.kind == Kind.ARTICLE:
        topics = list(specific.topics.all())
        context = article_context(request, specific, topics)
        templates = _article_templates(specific)
    else:
        context = {
            "term": specific,
            "related_terms": GlossaryTerm.objects.filter(
                live_revision__isnull=False, slug__in=specific.live_related_slugs
            ),
            "articles_using_term": [],
            **policy_links(),
        }
        templates = ["healthlib/term_detail.html"]
    context.update(preview=preview, canonical_url="", json_ld="")
    response = TemplateResponse(request, templates, context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    add_never_cache_headers(response)
    return response
