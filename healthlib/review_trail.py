"""The public review trail of an article, and the live text's canonical bytes.

Readers can check what healthlib claims: the trail lists every approving or reaffirming review of
each revision that has been published (who, with which verified credentials, when, and the content
hash they approved), and ``live.json`` serves the exact bytes the live revision's hash is computed
over, so ``curl …/live.json | sha256sum`` prints the hash shown. Revisions never published, and
reviews that sent a revision back, are internal and never shown. Both views go through
:func:`healthlib.cache.reader_page`, so they are cached and retired exactly like the article
(they carry its own tag, ``hl-a-<slug>``).
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from healthlib import structured_data
from healthlib.cache import reader_page
from healthlib.models import Article, Decision, Review, WorkflowEvent
from healthlib.models.revisions import canonical_json
from healthlib.views import retired

#: Decisions that vouch for a text readers were shown.
VOUCHING = (Decision.APPROVED, Decision.REAFFIRMED)


def published_reviews(article: Article) -> QuerySet:
    """Approving and reaffirming reviews of every revision of ``article`` that was ever published, newest first."""
    published = WorkflowEvent.objects.filter(item=article, action="healthlib.publish").values("revision_id")
    return (
        Review.objects.filter(revision__item=article, revision_id__in=published, decision__in=VOUCHING)
        .select_related("revision", "credential_check")
        .defer("revision__content", "comment")
        .order_by("-reviewed_at", "-pk")
    )


def _live_article(request: HttpRequest, slug: str) -> Article | HttpResponse:
    """The live article, or the answer for one that is not: 301 or 410 once retired (as its page), else 404."""
    article = Article.objects.filter(slug=slug).select_related("live_revision").first()
    if article is None or not article.is_live:
        return retired(request, article)
    return article


@reader_page
def article_reviews(request: HttpRequest, slug: str) -> HttpResponse:
    article = _live_article(request, slug)
    if isinstance(article, HttpResponse):
        return article
    reviews = list(published_reviews(article))
    url = request.build_absolute_uri(reverse("healthlib:article_reviews", args=[slug]))
    article_url = request.build_absolute_uri(article.get_absolute_url())
    live_json_url = request.build_absolute_uri(reverse("healthlib:article_live_json", args=[slug]))
    json_ld = structured_data.review_trail(
        article,
        reviews,
        url=url,
        article_url=article_url,
        home_url=request.build_absolute_uri(reverse("healthlib:home")),
    )
    context = {
        "article": article,
        "live": article.live_revision,
        "reviews": reviews,
        "canonical_url": url,
        "article_url": article.get_absolute_url(),
        "live_json_url": live_json_url,
        "json_ld": structured_data.json_ld_script(json_ld),
    }
    response = TemplateResponse(
        request, [f"healthlib/review_trail_{article.article_type}.html", "healthlib/review_trail.html"], context
    )
    response.healthlib_last_modified = max(filter(None, [article.last_published_at, article.last_reviewed_at]))
    return response


@reader_page
def article_live_json(request: HttpRequest, slug: str) -> HttpResponse:
    """The live revision's content as the canonical JSON its content hash is computed over, byte for byte."""
    article = _live_article(request, slug)
    if isinstance(article, HttpResponse):
        return article
    response = HttpResponse(
        canonical_json(article.live_revision.content), content_type="application/json; charset=utf-8"
    )
    response.healthlib_last_modified = article.last_published_at
    return response
