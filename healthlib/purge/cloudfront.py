"""CloudFront: invalidations by path, since CloudFront invalidates paths, not tags.

Each tag is mapped to the paths of the pages that carry it (:func:`paths_for`), from the URL
configuration and the database: an article's tag to its page, review trail and ``live.json``; a
topic's to the topic page and its articles' pages; a term's mentions to the pages of the articles
that link it (the term-mention index); listings to their page (the sitemap and search with a
trailing ``*``, which CloudFront applies to every query string). When one batch names more article
pages than ``WILDCARD_OVER`` (default 300), they become one ``<articles>/*`` path: CloudFront bills
per path and allows few wildcard invalidations in progress, so a wildcard is kept for large changes.
Options: ``DISTRIBUTION_ID``; ``MAX_PATHS`` (paths per invalidation, default 1000; CloudFront allows
3,000 in progress); ``WILDCARD_OVER``; ``ENDPOINT_URL`` (tests); ``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY`` (default: boto3's usual chain: environment, instance role); ``TIMEOUT``.
Needs boto3 (``pip install boto3``; checked at start-up, ``healthlib.E047``).

One ``CreateInvalidation`` per batch, with a fresh ``CallerReference``; CloudFront signs requests with
AWS Signature Version 4, so the request is made by boto3 rather than by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from django.urls import reverse

from healthlib.conf import healthlib_settings
from healthlib.models import Article, TermMention
from healthlib.purge.backends import DEPENDENCY, PurgeBackend, PurgeFailed


def _article_paths(slug: str) -> list[str]:
    return [
        reverse("healthlib:article_detail", args=[slug]),
        reverse("healthlib:article_reviews", args=[slug]),
        reverse("healthlib:article_live_json", args=[slug]),
    ]


def paths_for(tags: Iterable[str], *, wildcard_over: int = 300) -> list[str]:
    """The paths of the pages carrying any of ``tags`` (see the module's docstring)."""
    prefix = healthlib_settings.CACHE_TAG_PREFIX
    listings = {
        "home": [reverse("healthlib:home")],
        "articles": [reverse("healthlib:article_index")],
        "glossary": [reverse("healthlib:glossary")],
        "feeds": [reverse("healthlib:feed_rss"), reverse("healthlib:feed_atom")],
        "sitemap": [reverse("healthlib:sitemap") + "*"],
        "search": [reverse("healthlib:search") + "*"],
    }
    paths: list[str] = []
    articles: set[str] = set()
    for tag in tags:
        if tag == prefix:
            return [reverse("healthlib:home") + "*"]
        kind, _, value = tag[len(prefix) + 1 :].partition("-")
        if kind in listings and not value:
            paths += listings[kind]
        elif kind == "a":
            articles.add(value)
            paths += _article_paths(value)[1:]  # the page itself is added below, or by the wildcard
        elif kind == "g":
            paths.append(reverse("healthlib:term_detail", args=[value]))
        elif kind == "m":
            articles.update(TermMention.objects.filter(slug=value).values_list("article__slug", flat=True))
        elif kind == "t":
            paths.append(reverse("healthlib:topic_detail", args=[value]))
            articles.update(
                Article.objects.filter(topics__slug=value, live_revision__isnull=False).values_list("slug", flat=True)
            )
        elif kind == "type":
            paths.append(reverse("healthlib:article_type_detail", args=[value]))
    if len(articles) > wildcard_over:
        page = reverse("healthlib:article_detail", args=["x"])[:-2]
        paths = [p for p in paths if not p.startswith(page)] + [page + "*"]
    else:
        paths += [reverse("healthlib:article_detail", args=[slug]) for slug in sorted(articles)]
    return list(dict.fromkeys(paths))


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class CloudFrontBackend(PurgeBackend):
    max_tags = 50
    required = ("DISTRIBUTION_ID",)

    @classmethod
    def problems(cls, options) -> list[tuple[str, str]]:
        problems = super().problems(options)
        try:
            import boto3  # type: ignore[import-untyped]  # noqa: F401
        except ImportError:
            problems.append((DEPENDENCY, "boto3 is not installed (pip install boto3)"))
        return problems

    def _client(self):
        import boto3
        from botocore.config import Config  # type: ignore[import-untyped]

        config = Config(
            retries={"max_attempts": 1, "mode": "standard"},  # healthlib retries, with backoff, durably
            connect_timeout=self.timeout,
            read_timeout=self.timeout,
        )
        credentials = {
            key.lower(): self.options[key]
            for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
            if key in self.options
        }
        return boto3.client(
            "cloudfront",
            endpoint_url=self.options.get("ENDPOINT_URL"),
            region_name="us-east-1",
            config=config,
            **credentials,
        )

    def purge(self, tags: Sequence[str]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

        paths = paths_for(tags, wildcard_over=self.options.get("WILDCARD_OVER", 300))
        client = self._client()
        for chunk in _chunks(paths, self.options.get("MAX_PATHS", 1000)):
            try:
                client.create_invalidation(
                    DistributionId=self.options["DISTRIBUTION_ID"],
                    InvalidationBatch={
                        "Paths": {"Quantity": len(chunk), "Items": list(chunk)},
                        "CallerReference": f"healthlib-{uuid.uuid4()}",
                    },
                )
            except (BotoCoreError, ClientError) as error:
                raise PurgeFailed(f"CloudFront CreateInvalidation failed: {error}") from None
