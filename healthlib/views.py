"""The readers' side: published content only. Anything not live is a 404.

Pages serve the HTML stored at publish time; no markdown or glossary work happens per
request. Every reader view is wrapped in :func:`healthlib.cache.reader_page` (page cache,
ETag/Last-Modified, Cache-Control). Templates are looked up most-specific-first, so a site
can override ``healthlib/<page>.html`` or, for articles, ``healthlib/article_detail_<type>.html``.
"""

from __future__ import annotations

import unicodedata
from string import ascii_uppercase
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from healthlib import problem_reports, reader_pages, structured_data
from healthlib.cache import positive_int, reader_page
from healthlib.conf import healthlib_settings
from healthlib.exceptions import TransitionNotAllowed
from healthlib.forms import ProblemReportForm
from healthlib.models import Article, ArticleType, Decision, GlossaryTerm, Kind, Review, Revision, Topic
from healthlib.previews import preview_item
from healthlib.roles import is_editor_or_reviewer
from healthlib.search import search as run_search

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


@reader_page
def article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    # Anonymous readers get the page stored at publish time (healthlib.reader_pages) unless it is stale.
    if not request.user.is_authenticated and (stored := reader_pages.stored_response(request, slug)):
        return stored
    article = Article.objects.filter(slug=slug).first()
    if article is None or not article.is_live:
        return retired(request, article)
    context = reader_pages.page_context(
        article,
        list(article.topics.all()),
        origin=reader_pages.request_origin(request),
        mentions=reader_pages.mentioned_terms(article.live_body_html),
        related_html=reader_pages.render_related(article.pk),
    )
    response = TemplateResponse(request, reader_pages.page_templates(article.article_type), context)
    response.healthlib_last_modified = max(filter(None, [article.last_published_at, article.last_reviewed_at]))
    return response


def retired(request: HttpRequest, item: Article | GlossaryTerm | None) -> HttpResponse:
    """A page that is not live: 301 to its live replacement, 410 if readers once saw it, else 404.

    Never stored in the page cache (:func:`healthlib.cache.reader_page` stores only 200s), so a
    page archived or restored later is answered from the database at once.
    """
    if item is None or not item.is_retired:
        raise Http404(_("No such page."))
    replacement = item.replaced_by
    if replacement is not None and replacement.is_live:
        response = HttpResponsePermanentRedirect(replacement.specific().get_absolute_url())
        # Browsers keep a 301 without a lifetime for good; bounded, a page restored later is reachable again.
        patch_cache_control(response, max_age=healthlib_settings.CACHE_MAX_AGE)
        return response
    is_article = isinstance(item, Article)
    context = {
        "item": item,
        "library_url": reverse("healthlib:article_index" if is_article else "healthlib:glossary"),
        "search_url": reverse("healthlib:search"),
    }
    return TemplateResponse(request, ["healthlib/retired.html"], context, status=410)


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
    term = GlossaryTerm.objects.filter(slug=slug).first()
    if term is None or not term.is_live:
        return retired(request, term)
    related_terms = GlossaryTerm.objects.filter(live_revision__isnull=False, slug__in=term.live_related_slugs).only(
        "slug", "live_term", "live_short_definition"
    )
    path = term.get_absolute_url()
    # The term-mention index is rewritten whenever an article's live body is (healthlib.reader_pages).
    articles = (
        live_articles()
        .filter(term_mentions__slug=term.slug)
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
        **reader_pages.policy_links(),
    }
    response = TemplateResponse(request, ["healthlib/term_detail.html"], context)
    response.healthlib_last_modified = max(filter(None, [term.last_published_at, term.last_reviewed_at]))
    return response


# ---------------------------------------------------------------- search


def _search_text(value: str) -> str | None:
    return value.strip()[:200] or None


@reader_page(store=False, query={"q": _search_text, "page": positive_int})
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    page_size = healthlib_settings.SEARCH_PAGE_SIZE
    page_number = int(request.GET.get("page", "1"))  # normalised by reader_page
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


# ---------------------------------------------------------------- reader error reports
# Their own pages, never cached: the article page is stored and cached for every reader, so it can
# carry no CSRF token; it links here, and this page sets the CSRF cookie and carries the token.


def _report_templates(article: Article, page: str) -> list[str]:
    return [f"healthlib/{page}_{article.article_type}.html", f"healthlib/{page}.html"]


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def report_problem(request: HttpRequest, slug: str) -> HttpResponse:
    """ "Report a problem with this page": a short form whose report lands in the editors' workspace."""
    article = get_object_or_404(Article.objects.filter(live_revision__isnull=False), slug=slug)
    status = 200
    form = ProblemReportForm()
    if request.method == "POST":
        retry_after = problem_reports.throttle(request)
        if retry_after is not None:
            context = {"article": article, "retry_minutes": max(1, retry_after // 60)}
            response = TemplateResponse(request, _report_templates(article, "report_limited"), context, status=429)
            response["Retry-After"] = str(retry_after)
            return response
        form = ProblemReportForm(request.POST)
        if form.is_valid():
            if not form.from_a_bot:
                try:
                    problem_reports.send_report(
                        article, message=form.cleaned_data["message"], email=form.cleaned_data["email"]
                    )
                except TransitionNotAllowed:  # archived between the page load and now
                    raise Http404(_("This page is no longer published.")) from None
            return HttpResponseRedirect(reverse("healthlib:report_sent", args=[article.slug]))
        status = 400
    context = {"article": article, "form": form}
    return TemplateResponse(request, _report_templates(article, "report_problem"), context, status=status)


@never_cache
@require_http_methods(["GET", "HEAD"])
def report_sent(request: HttpRequest, slug: str) -> HttpResponse:
    article = get_object_or_404(Article.objects.filter(live_revision__isnull=False), slug=slug)
    return TemplateResponse(request, _report_templates(article, "report_sent"), {"article": article})


# ---------------------------------------------------------------- staff preview


def preview_revision(request: HttpRequest, pk: int) -> HttpResponse:
    """Any revision as readers would see it, for staff only: bannered, noindex, never cached."""
    if not is_editor_or_reviewer(request.user):
        raise PermissionDenied(_("Only editors and medical reviewers may preview revisions."))
    revision = get_object_or_404(Revision.objects.select_related("item"), pk=pk)
    item = revision.item
    # An unsaved copy of the item showing the revision in its live fields (the one preview renderer).
    specific = preview_item(revision)
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
        context = reader_pages.page_context(
            specific,
            list(specific.topics.all()),
            origin=reader_pages.request_origin(request),
            mentions=reader_pages.mentioned_terms(specific.live_body_html),
            related_html=reader_pages.render_related(item.pk),
        )
        templates = reader_pages.page_templates(specific.article_type)
    else:
        context = {
            "term": specific,
            "related_terms": GlossaryTerm.objects.filter(
                live_revision__isnull=False, slug__in=specific.live_related_slugs
            ),
            "articles_using_term": [],
            **reader_pages.policy_links(),
        }
        templates = ["healthlib/term_detail.html"]
    context.update(preview=preview, canonical_url="", json_ld="")
    response = TemplateResponse(request, templates, context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    add_never_cache_headers(response)
    return response
