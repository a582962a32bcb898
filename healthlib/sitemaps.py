"""Sitemaps of live articles, glossary terms and topic pages, with ``lastmod`` from review dates."""

from __future__ import annotations

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from healthlib.models import Article, GlossaryTerm, Topic


def _lastmod(item):
    return max(filter(None, [item.last_published_at, item.last_reviewed_at]), default=None)


class ArticleSitemap(Sitemap):
    changefreq = "monthly"

    def items(self):
        return (
            Article.objects.filter(live_revision__isnull=False)
            .order_by("slug")
            .only("slug", "last_published_at", "last_reviewed_at")
        )

    def lastmod(self, item):
        return _lastmod(item)


class GlossarySitemap(ArticleSitemap):
    def items(self):
        return (
            GlossaryTerm.objects.filter(live_revision__isnull=False)
            .order_by("slug")
            .only("slug", "last_published_at", "last_reviewed_at")
        )


class TopicSitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        return Topic.objects.filter(articles__live_revision__isnull=False).distinct().order_by("slug")

    def location(self, item) -> str:
        return reverse("healthlib:topic_detail", args=[item.slug])


class PageSitemap(Sitemap):
    changefreq = "daily"

    def items(self) -> list[str]:
        return ["healthlib:home", "healthlib:article_index", "healthlib:glossary"]

    def location(self, item: str) -> str:
        return reverse(item)


SITEMAPS = {"pages": PageSitemap, "articles": ArticleSitemap, "glossary": GlossarySitemap, "topics": TopicSitemap}
