"""Publishing: turn an approved revision into live fields, link the glossary, store mentions and pages.

The models store what readers see (the ``live_*`` fields, the stored page, the term-mention index);
this module derives it. :mod:`healthlib.workflow` calls :func:`set_live_content`,
:func:`clear_live_content` and :func:`save` inside its transitions' transactions; the derived work of
:mod:`healthlib.derived_work` calls :func:`relink_article` and :func:`refresh` after a glossary or
topic change, and ``manage.py healthlib_relink`` calls :func:`relink_articles` and
:func:`refresh_all`. Everything here runs inside the caller's transaction or opens its own under
the row lock the workflow takes, so a reader never gets a page that mixes states (DESIGN.md
invariant 8).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from healthlib import glossary_linker, purge, reader_pages
from healthlib.glossary_automaton import Glossary, linked_term_slugs
from healthlib.markup import render_document, render_markdown
from healthlib.models import Article, ContentItem, GlossaryTerm, Revision, TermMention

# ---------------------------------------------------------------- live fields (the publish and archive transitions)


def set_live_content(item: Article | GlossaryTerm, revision: Revision) -> None:
    """Copy a revision into the item's reader-facing fields (not saved). Called only by the publish
    transition (and by previews, on a copy that is never saved)."""
    content = revision.content
    if isinstance(item, Article):
        document = render_document(content["body"])
        item.live_title = content["title"]
        item.live_summary = content["summary"]
        item.live_body_html = glossary_linker.link_article_html(document.html).html
        item.live_toc_html = document.toc_html
        item.live_references = content["references"]
    else:
        item.live_term = content["term"]
        item.live_aliases = content["aliases"]
        item.live_pronunciation = content["pronunciation"]
        item.live_short_definition = content["short_definition"]
        item.live_full_definition_html = render_markdown(content["full_definition"])
        item.live_professional_definition_html = render_markdown(content["professional_definition"])
        item.live_related_slugs = content["related_terms"]


def clear_live_content(item: Article | GlossaryTerm) -> None:
    """Empty the item's reader-facing fields (not saved). Called only by the archive transition."""
    if isinstance(item, Article):
        item.live_title = item.live_summary = item.live_body_html = item.live_toc_html = ""
        item.live_references = []
    else:
        item.live_term = item.live_pronunciation = item.live_short_definition = ""
        item.live_full_definition_html = item.live_professional_definition_html = ""
        item.live_aliases = []
        item.live_related_slugs = []


def save(item: ContentItem) -> None:
    """Save the item with its stored reader page, and bring its term mentions in line (in the caller's
    transaction; every workflow transition saves through this)."""
    page = getattr(item, "live_page_html", None)
    if isinstance(item, Article):
        reader_pages.derive(item)
    item.save()
    if isinstance(item, Article) and item.live_page_html != page:  # the body, and its links, may differ
        save_mentions(item)


# ---------------------------------------------------------------- mentions and stored pages


def save_mentions(article: Article) -> None:
    """Bring the article's rows in the term-mention index (the term page's "articles that use this
    term") in line with its live body, writing only what differs: a page stored again for new
    templates or dates has the same links, and re-storing every page after a deploy writes no rows."""
    linked = set(linked_term_slugs(article.live_body_html)) if article.live_revision_id else set()
    rows = TermMention.objects.filter(article_id=article.pk)
    indexed = set(rows.values_list("slug", flat=True))
    if indexed - linked:
        rows.filter(slug__in=indexed - linked).delete()
    TermMention.objects.bulk_create(
        [TermMention(article_id=article.pk, slug=slug) for slug in sorted(linked - indexed)]
    )
    purge.record_links(article, sorted(linked - indexed))  # their pages list it; its edge copy lacks their tags


def refresh(article_id: int) -> bool:
    """Re-derive and store one article's page from the database's current row, under a row lock.

    For changes outside the workflow's transitions (a glossary re-link, a renamed topic, a deploy).
    Returns whether anything changed.
    """
    with transaction.atomic():
        # The same row lock the workflow's transitions take, so a transition cannot interleave.
        if not ContentItem.objects.select_for_update().filter(pk=article_id).values_list("pk", flat=True).exists():
            return False
        article = Article.objects.get(pk=article_id)
        before = (article.live_page_html, article.live_page_key)
        reader_pages.derive(article)
        if before == (article.live_page_html, article.live_page_key):
            return False
        Article.objects.filter(pk=article.pk).update(
            live_page_html=article.live_page_html, live_page_key=article.live_page_key
        )
        if before[0] != article.live_page_html:  # the body, and so its glossary links, may have changed
            save_mentions(article)
    return True


def refresh_all() -> int:
    """Store the page of every live article again (after a deploy changed templates or settings)."""
    ids = Article.objects.filter(live_revision__isnull=False).values_list("pk", flat=True)
    return sum(refresh(article_id) for article_id in list(ids))


# ---------------------------------------------------------------- re-linking live articles


def relink_article(article_id: int, glossary: Glossary | None = None) -> bool:
    """Re-render and re-link one live article from its live revision's markdown and store its reader
    page, in one transaction under the row lock the workflow takes, so the body and the page change
    together or not at all. Returns whether anything changed.

    ``live_body_html`` is a derived cache of the live revision (not workflow state), so it is written
    with ``QuerySet.update`` outside :mod:`healthlib.workflow`.
    """
    with transaction.atomic():
        ContentItem.objects.select_for_update().filter(pk=article_id).exists()
        # Default: the glossary as committed now (its version is read inside this transaction).
        glossary = glossary or glossary_linker.get_glossary()
        article = (
            Article.objects.filter(pk=article_id, live_revision__isnull=False)
            .select_related("live_revision")
            .only("pk", "live_body_html", "live_revision__content")
            .first()
        )
        if article is None:
            return False
        html = glossary.link(render_document(article.live_revision.content["body"]).html).html
        relinked = html != article.live_body_html
        if relinked:
            # The revision filter matters where the lock is a no-op (SQLite): a re-publish meanwhile won.
            relinked = bool(
                Article.objects.filter(pk=article_id, live_revision_id=article.live_revision_id).update(
                    live_body_html=html, updated_at=timezone.now()
                )
            )
        # The stored page shows the body and the linked terms' definitions: re-derive it even when
        # the links are unchanged (a linked term's definition or name may have changed).
        restored = refresh(article_id)
    return relinked or restored


def relink_articles(queryset=None) -> int:
    """Re-link every live article of ``queryset`` (default: all), one article per transaction.
    Returns how many changed."""
    if queryset is None:
        queryset = Article.objects.all()
    ids = list(queryset.filter(live_revision__isnull=False).values_list("pk", flat=True))
    glossary = glossary_linker.get_glossary()
    return sum(relink_article(article_id, glossary) for article_id in ids)
