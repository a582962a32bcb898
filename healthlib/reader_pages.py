"""Article pages rendered when the article changes, not on every request.

An article's page depends on the article's live fields, its topics and the site's templates and
settings, which change rarely, and on two things that change often or per request: the list of
related articles (other articles come and go) and the site's address (readers may reach it by
more than one host). :func:`derive` renders the whole page when the article changes (publish,
reaffirm, archive, a new review interval, new filing details, a glossary re-link, a topic
renamed), with a marker where the related articles go and a placeholder origin in absolute URLs,
and :mod:`healthlib.publishing` stores it with the glossary terms its body links to. An anonymous reader's request then costs
one query for the stored page and one for the related articles, and two string replacements: no
markdown, glossary, ORM-heavy or template work for the article.

The stored page carries a fingerprint (:func:`fingerprint`) of everything else it was rendered
with: the sources of every template that can take part (site overrides and their parents), the
HEALTHLIB settings, the static files' manifest, the language, the time zone and the URL prefix. A
request whose fingerprint differs (a deploy changed a template or a setting) renders the page
itself, so a reader never sees a page built for other settings; ``manage.py healthlib_relink``
stores fresh pages for every live article. Pages are stored as anonymous readers see them
(rendered without a request or context processors); signed-in users get a page rendered for them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from healthlib import structured_data
from healthlib.ad_slots import split_for_ads
from healthlib.conf import DEFAULTS, healthlib_settings
from healthlib.glossary_automaton import linked_term_slugs, term_path_prefix
from healthlib.models import Article, ArticleType, ContentItem, GlossaryTerm

#: Where the related articles go in a stored page (an HTML comment: the sanitizer removes comments
#: from article bodies and titles are escaped, so content cannot forge it).
RELATED_MARKER = "<!--healthlib:related-articles-->"
#: The origin written into a stored page's absolute URLs, replaced by the request's origin.
ORIGIN_PLACEHOLDER = "https://healthlib-origin.invalid"
#: HEALTHLIB settings that cannot change an article page (workflow, uploads, caching, e-mail, other
#: pages); every other setting is part of the fingerprint, including ones added later.
OFF_PAGE = frozenset(
    {
        "REQUIRED_APPROVALS", "READABILITY_TARGET_GRADE", "MAX_BODY_CHARS", "MAX_UPLOAD_BYTES", "EDITOR_GROUP",
        "REVIEWER_GROUP", "EMAIL_FROM", "CHECKLIST", "CACHE_ALIAS", "CACHE_BOOKKEEPING_ALIAS", "CACHE_TIMEOUT", "CACHE_MAX_AGE",
        "CACHE_STALE_WHILE_REVALIDATE", "SEARCH_PAGE_SIZE", "RECENT_ARTICLES", "FEED_ITEMS",
        "REPORT_RATE_LIMIT", "REPORT_RATE_WINDOW", "LINK_CHECK_TIMEOUT", "LINK_CHECK_WORKERS",
        "VERIFIER_GROUP", "CREDENTIALS_VALID_MONTHS", "CACHE_TAG_HEADER", "CACHE_TAG_PREFIX", "EDGE_MAX_AGE",
        "PURGE_BACKENDS",
    }
)  # fmt: skip
#: Bump when the way pages are built changes in code (templates and settings are fingerprinted).
FORMAT = "1"
RELATED_ARTICLES = 5


class MentionedTerm(NamedTuple):
    """A live glossary term an article links to (the page's JSON-LD ``mentions``)."""

    slug: str
    live_term: str
    live_short_definition: str
    live_aliases: list[str]


def page_templates(article_type: str) -> list[str]:
    """The article page's templates, most specific first (a site may add ``article_detail_<type>.html``)."""
    return [f"healthlib/article_detail_{article_type}.html", "healthlib/article_detail.html"]


def block_templates(article_type: str) -> list[str]:
    return [f"healthlib/article_block_{article_type}.html", "healthlib/article_block.html"]


# ---------------------------------------------------------------- fingerprint


@lru_cache(maxsize=1)
def _templates_digest() -> str:
    """SHA-256 over every template file the template engines can load (once per process).

    Every file rather than the article templates only: a site's base template may include others.
    """
    digest = hashlib.sha256()
    for engine in engines.all():
        for outer in getattr(getattr(engine, "engine", None), "template_loaders", []):
            for loader in getattr(outer, "loaders", [outer]):  # the cached loader wraps others
                for directory in getattr(loader, "get_dirs", list)():
                    root = Path(directory)
                    for path in sorted(p for p in root.rglob("*") if p.is_file()):
                        digest.update(f"{path.relative_to(root)}\0".encode())
                        digest.update(path.read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _settings_digest() -> str:
    from django.contrib.staticfiles.storage import staticfiles_storage

    values = [(name, repr(getattr(healthlib_settings, name))) for name in sorted(DEFAULTS) if name not in OFF_PAGE]
    values += [
        (name, repr(getattr(settings, name, None))) for name in ("STATIC_URL", "TIME_ZONE", "USE_TZ", "USE_I18N")
    ]
    values.append(("manifest", repr(getattr(staticfiles_storage, "manifest_hash", ""))))
    return hashlib.sha256(repr(values).encode()).hexdigest()


def fingerprint() -> str:
    """What a stored page was rendered with, besides the article and its topics."""
    parts = [FORMAT, _templates_digest(), _settings_digest(), translation.get_language() or "", get_script_prefix()]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def clear_fingerprint_cache(**kwargs) -> None:
    """Forget the digests (receiver of ``setting_changed``: tests change settings in one process)."""
    _templates_digest.cache_clear()
    _settings_digest.cache_clear()


# ---------------------------------------------------------------- glossary mentions


def live_terms(slugs: Collection[str]) -> dict[str, MentionedTerm]:
    """The live glossary terms among ``slugs``, by slug (one query; none for no slugs)."""
    if not slugs:
        return {}
    rows = GlossaryTerm.objects.filter(live_revision__isnull=False, slug__in=list(slugs)).values_list(
        "slug", "live_term", "live_short_definition", "live_aliases"
    )
    return {row[0]: MentionedTerm(*row) for row in rows}


def mentioned_terms(body_html: str) -> list[MentionedTerm]:
    """The live glossary terms the body links to, in order of first appearance."""
    slugs = linked_term_slugs(body_html)
    terms = live_terms(slugs)
    return [terms[slug] for slug in slugs if slug in terms]


# ---------------------------------------------------------------- rendering


def policy_links() -> dict[str, str]:
    return {
        "editorial_policy_url": reverse("healthlib:article_detail", args=[healthlib_settings.EDITORIAL_POLICY_SLUG]),
        "advertising_policy_url": reverse(
            "healthlib:article_detail", args=[healthlib_settings.ADVERTISING_POLICY_SLUG]
        ),
    }


def render_block(article) -> SafeString:
    """The ``<article>`` element: header, contents, body with advertising slots, references, review line."""
    is_policy = article.article_type == ArticleType.POLICY
    context: dict[str, Any] = {
        "article": article,
        # Policy pages carry no advertising.
        "body_parts": split_for_ads(article.live_body_html, [] if is_policy else list(healthlib_settings.AD_SLOTS)),
        "is_policy": is_policy,
        "is_editorial_policy": article.slug == healthlib_settings.EDITORIAL_POLICY_SLUG,
        "ad_html": mark_safe(healthlib_settings.AD_HTML),  # trusted markup from the site's settings
        **policy_links(),
    }
    return mark_safe(render_to_string(block_templates(article.article_type), context))


class RelatedArticle(NamedTuple):
    slug: str
    live_title: str
    live_summary: str
    url: str

    def get_absolute_url(self) -> str:
        return self.url


@lru_cache(maxsize=1)
def _related_sql() -> str:
    """Up to five other live, non-policy articles sharing a topic, by title.

    Hand-written SQL because it runs on every reader request and the ORM spends longer building
    this query (EXISTS over the topic link) than the database spends answering it. EXISTS rather
    than a join + DISTINCT, and live titles are never empty: the database walks the live_title index
    and stops after a handful of rows. ``tests/test_reader_pages.py`` checks it against the ORM.
    """
    q = connection.ops.quote_name
    article, item = Article._meta, ContentItem._meta
    through = Article.topics.through._meta
    pk = q(article.pk.column)
    link = q(through.db_table)
    link_article = q(through.get_field("article").column)
    link_topic = q(through.get_field("topic").column)
    return (
        f"SELECT a.{q('slug')}, a.{q('live_title')}, a.{q('live_summary')} "
        f"FROM {q(article.db_table)} a INNER JOIN {q(item.db_table)} c ON c.{q(item.pk.column)} = a.{pk} "
        f"WHERE c.{q('live_revision_id')} IS NOT NULL AND a.{q('live_title')} > '' "
        f"AND a.{q('article_type')} <> '{ArticleType.POLICY.value}' AND a.{pk} <> %s "
        f"AND EXISTS (SELECT 1 FROM {link} t WHERE t.{link_article} = a.{pk} AND t.{link_topic} IN "
        f"(SELECT mine.{link_topic} FROM {link} mine WHERE mine.{link_article} = %s)) "
        f"ORDER BY a.{q('live_title')} LIMIT {RELATED_ARTICLES}"
    )


def related_articles(article_id: int) -> list[RelatedArticle]:
    """Up to five live articles sharing a topic with the article, by title (one query)."""
    prefix = reverse("healthlib:article_detail", kwargs={"slug": "x"})[:-2]
    with connection.cursor() as cursor:
        cursor.execute(_related_sql(), [article_id, article_id])
        rows = cursor.fetchall()
    return [RelatedArticle(slug, title, summary, f"{prefix}{slug}/") for slug, title, summary in rows]


def render_related(article_id: int) -> SafeString:
    context = {"related_articles": related_articles(article_id)}
    return mark_safe(render_to_string("healthlib/related_articles.html", context))


def page_context(article, topics, *, origin: str, mentions: list[MentionedTerm], related_html: str) -> dict[str, Any]:
    """Everything the article page template needs; absolute URLs start with ``origin``."""
    url = origin + article.get_absolute_url()
    term_base = origin + term_path_prefix()
    topic_links = [(topic, reverse("healthlib:topic_detail", args=[topic.slug])) for topic in topics]
    json_ld = structured_data.article_page(
        article,
        url=url,
        home_url=origin + reverse("healthlib:home"),
        glossary_url=origin + reverse("healthlib:glossary"),
        topics=[(topic.name, origin + path) for topic, path in topic_links],
        # One reverse() for all mentions: an article links dozens of terms.
        mentions=[(term, f"{term_base}{term.slug}/") for term in mentions],
    )
    return {
        "article": article,
        "article_block": render_block(article),
        "topics": topics,
        "related_html": related_html,
        "canonical_url": url,
        "json_ld": structured_data.json_ld_script(json_ld),
        "crumbs": [{"url": path, "label": topic.name} for topic, path in topic_links[:1]],
    }


def request_origin(request: HttpRequest) -> str:
    """``scheme://host`` of the request (the host checked against ALLOWED_HOSTS)."""
    return request.build_absolute_uri("/")[:-1]


# ---------------------------------------------------------------- serving


@lru_cache(maxsize=1)
def _stored_page_sql() -> str:
    """The stored page of a live article by slug; hand-written for the reason given in :func:`_related_sql`."""
    q = connection.ops.quote_name
    article, item = Article._meta, ContentItem._meta
    return (
        f"SELECT a.{q(article.pk.column)}, a.{q('live_page_html')}, a.{q('live_page_key')}, "
        f"c.{q('last_published_at')}, c.{q('last_reviewed_at')} "
        f"FROM {q(article.db_table)} a INNER JOIN {q(item.db_table)} c ON c.{q(item.pk.column)} = a.{q(article.pk.column)} "
        f"WHERE a.{q('slug')} = %s AND c.{q('live_revision_id')} IS NOT NULL"
    )


def stored_response(request: HttpRequest, slug: str) -> HttpResponse | None:
    """The stored page of a live article for an anonymous reader, or ``None`` if it must be rendered.

    Raises nothing for a missing article: the caller's full render answers with the 404.
    """
    # raw(): no query building, but the database's values still go through the fields' converters.
    article = next(iter(Article.objects.raw(_stored_page_sql(), [slug])), None)
    if article is None or not article.live_page_html or article.live_page_key != fingerprint():
        return None
    html = article.live_page_html.replace(RELATED_MARKER, render_related(article.pk), 1)
    response = HttpResponse(html.replace(ORIGIN_PLACEHOLDER, request_origin(request)))
    # An attribute of ours, read by healthlib.cache for Last-Modified (HttpResponse has no such field).
    response.healthlib_last_modified = max(filter(None, [article.last_published_at, article.last_reviewed_at]))  # type: ignore[attr-defined]
    return response


# ---------------------------------------------------------------- deriving


def derive(article, *, topics: list | None = None, mentions: list[MentionedTerm] | None = None) -> None:
    """Set the article's stored page and fingerprint from its live fields (not saved; stored by
    :mod:`healthlib.publishing`). ``topics`` and ``mentions`` (:func:`mentioned_terms` of its body),
    when given, were read with many articles at once."""
    if article.live_revision_id is None:
        article.live_page_html = article.live_page_key = ""
        return
    context = page_context(
        article,
        list(article.topics.all()) if topics is None else topics,
        origin=ORIGIN_PLACEHOLDER,
        mentions=mentioned_terms(article.live_body_html) if mentions is None else mentions,
        related_html=mark_safe(RELATED_MARKER),
    )
    # No request: the page is rendered as an anonymous reader sees it, without context processors.
    article.live_page_html = render_to_string(page_templates(article.article_type), context)
    article.live_page_key = fingerprint()


def connect() -> None:
    from django.core.signals import setting_changed

    setting_changed.connect(clear_fingerprint_cache, dispatch_uid="healthlib.reader_pages.settings")
