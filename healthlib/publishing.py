"""Publishing: turn an approved revision into live fields, link the glossary, store mentions and pages.

The models store what readers see (the ``live_*`` fields, the stored page, the term-mention index);
this module derives it. :mod:`healthlib.workflow` calls :func:`set_live_content`,
:func:`clear_live_content` and :func:`save` inside its transitions' transactions; the derived work of
:mod:`healthlib.derived_work` calls :func:`derive_pages` once per chunk of articles and
:func:`store_page` per article after a glossary or topic change, and ``manage.py healthlib_relink``
calls :func:`relink_articles` and :func:`refresh_all`, which do the same. Everything here runs inside the caller's transaction or opens its own under
the row lock the workflow takes, so a reader never gets a page that mixes states (DESIGN.md
invariant 8).
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from healthlib import glossary_linker, purge, reader_pages
from healthlib.glossary_automaton import Glossary, linked_term_slugs, term_path_prefix
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
    linked = linked_term_slugs(article.live_body_html) if article.live_revision_id else []
    indexed = set(TermMention.objects.filter(article_id=article.pk).values_list("slug", flat=True))
    _sync_mentions(article, linked, indexed)


def _sync_mentions(article: Article, linked: list[str], indexed: set[str]) -> None:
    """Write the difference between the slugs the body links (``linked``) and the index's rows (``indexed``)."""
    gone, gained = indexed - set(linked), set(linked) - indexed
    if gone:
        TermMention.objects.filter(article_id=article.pk, slug__in=gone).delete()
    if gained:
        TermMention.objects.bulk_create([TermMention(article_id=article.pk, slug=slug) for slug in sorted(gained)])
    purge.record_links(article, sorted(gained))  # their pages list it; its edge copy lacks their tags


@dataclass
class DerivedPage:
    """An article's body, page and term links derived from one read of its row (:func:`derive_pages`).

    ``version`` is what the row held when it was read: :func:`store_page` stores the page only while
    the row, under its lock, still holds it.
    """

    article: Article
    #: The live revision and the time of the last save, as read.
    version: tuple[int | None, datetime.datetime]
    #: Whether the body was rendered and linked again (else it is the stored one).
    relinked: bool
    body_before: str
    page_before: tuple[str, str]
    #: The term pages the body links to, in order, and the term-mention index's rows as read.
    linked: list[str]
    indexed: set[str]


def lock_article(article_id: int) -> tuple[int | None, datetime.datetime] | None:
    """Take the row lock the workflow's transitions take (until the current transaction ends) and
    return the article's version (see :class:`DerivedPage`), or None when there is no such item."""
    row = ContentItem.objects.select_for_update().filter(pk=article_id).values_list("live_revision_id", "updated_at")
    return next(iter(row), None)


def derive_pages(
    article_ids: Collection[int], *, relink: Collection[int] = (), glossary: Glossary | None = None
) -> dict[int, DerivedPage]:
    """Derive the pages of many articles from one read of them: four queries whatever their number
    (articles with their live revisions, their topics, their rows in the term-mention index, the
    terms their bodies link to), then markdown, linking and templates per article. The bodies of the
    articles in ``relink`` are rendered from their live revision's markdown and linked against
    ``glossary`` again; a re-link of an article that is not live derives nothing.

    Nothing is locked or written: :func:`store_page` stores each page under its row lock if the row
    is unchanged since this read. An article that is missing, or whose derivation raised, is left
    out, to be derived again under its lock (where the error reaches the caller).
    """
    return _derive_pages(article_ids, relink=relink, glossary=glossary, strict=False)


def _derive_pages(
    article_ids: Collection[int], *, relink: Collection[int], glossary: Glossary | None, strict: bool
) -> dict[int, DerivedPage]:
    relink = set(relink)
    if relink and glossary is None:
        raise ValueError("re-linking needs the glossary")
    articles = list(
        Article.objects.filter(pk__in=list(article_ids)).select_related("live_revision").prefetch_related("topics")
    )
    # Read after the articles: a change committed in between moves their version (see store_page).
    indexed: dict[int, set[str]] = {}
    for article_id, slug in TermMention.objects.filter(article_id__in=[a.pk for a in articles]).values_list(
        "article_id", "slug"
    ):
        indexed.setdefault(article_id, set()).add(slug)
    pages: dict[int, DerivedPage] = {}
    prefix = term_path_prefix()  # once, not per article (a reverse())
    for article in articles:
        relinked = article.pk in relink
        if relinked and article.live_revision_id is None:
            continue
        before = (article.live_body_html, (article.live_page_html, article.live_page_key))
        try:
            if relinked:
                assert glossary is not None
                article.live_body_html = glossary.link(render_document(article.live_revision.content["body"]).html).html
            linked = linked_term_slugs(article.live_body_html, prefix=prefix) if article.live_revision_id else []
        except Exception:
            if strict:
                raise
            continue  # derived again under its lock, alone, where the error is the caller's
        pages[article.pk] = DerivedPage(
            article=article,
            version=(article.live_revision_id, article.updated_at),
            relinked=relinked,
            body_before=before[0],
            page_before=before[1],
            linked=linked,
            indexed=indexed.get(article.pk, set()),
        )
    terms = reader_pages.live_terms({slug for page in pages.values() for slug in page.linked})
    for article_id, page in list(pages.items()):
        try:
            reader_pages.derive(
                page.article,
                topics=list(page.article.topics.all()),
                mentions=[terms[slug] for slug in page.linked if slug in terms],
            )
        except Exception:
            if strict:
                raise
            del pages[article_id]
    return pages


def store_page(
    article_id: int,
    version: tuple[int | None, datetime.datetime] | None,
    derived: DerivedPage | None = None,
    *,
    relink: bool = False,
    glossary: Glossary | None = None,
) -> bool:
    """Store an article's derived body, page and term mentions, in the caller's transaction, which holds
    the row lock (``version`` is what :func:`lock_article` returned). ``derived`` was read before the
    lock: it is stored only if the row still holds the version it was derived from, else (or without
    it) the page is derived again here, under the lock. Returns whether anything changed.

    ``live_body_html`` and the stored page are derived caches of the live revision (not workflow
    state), so they are written with ``QuerySet.update`` outside :mod:`healthlib.workflow`.
    """
    if version is None:
        return False
    if derived is None or derived.version != version or derived.relinked != relink:
        fresh = _derive_pages([article_id], relink=[article_id] if relink else [], glossary=glossary, strict=True)
        derived = fresh.get(article_id)
        if derived is None:  # a re-link of an article that is not live (any more)
            return False
    article = derived.article
    body_changed = article.live_body_html != derived.body_before
    page_changed = (article.live_page_html, article.live_page_key) != derived.page_before
    if not (body_changed or page_changed):
        return False
    fields = {"live_page_html": article.live_page_html, "live_page_key": article.live_page_key}
    if body_changed:
        fields["live_body_html"] = article.live_body_html
    Article.objects.filter(pk=article_id).update(**fields)
    if body_changed:
        ContentItem.objects.filter(pk=article_id).update(updated_at=timezone.now())
    if article.live_page_html != derived.page_before[0]:  # the body, and so its glossary links, may have changed
        _sync_mentions(article, derived.linked, derived.indexed)
    return True


def refresh(article_id: int) -> bool:
    """Re-derive and store one article's page from the database's current row, under a row lock.

    For changes outside the workflow's transitions (a renamed topic, a deploy). Returns whether
    anything changed.
    """
    with transaction.atomic():
        return store_page(article_id, lock_article(article_id))


def refresh_all() -> int:
    """Store the page of every live article again (after a deploy changed templates or settings)."""
    ids = Article.objects.filter(live_revision__isnull=False).values_list("pk", flat=True)
    return _store_all(list(ids), relink=False, glossary=None)


# ---------------------------------------------------------------- re-linking live articles


def relink_article(article_id: int, glossary: Glossary | None = None) -> bool:
    """Re-render and re-link one live article from its live revision's markdown and store its reader
    page, in one transaction under the row lock the workflow takes, so the body and the page change
    together or not at all. Returns whether anything changed.
    """
    with transaction.atomic():
        version = lock_article(article_id)
        # Default: the glossary as committed now (its version is read inside this transaction).
        glossary = glossary or glossary_linker.get_glossary()
        return store_page(article_id, version, relink=True, glossary=glossary)


def relink_articles(queryset=None) -> int:
    """Re-link every live article of ``queryset`` (default: all), one article per transaction.
    Returns how many changed."""
    if queryset is None:
        queryset = Article.objects.all()
    ids = list(queryset.filter(live_revision__isnull=False).values_list("pk", flat=True))
    return _store_all(ids, relink=True, glossary=glossary_linker.get_glossary())


#: Articles derived from one read (:func:`derive_pages`) before they are stored one by one.
CHUNK = 200


def _store_all(ids: list[int], *, relink: bool, glossary: Glossary | None) -> int:
    changed = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        derived = derive_pages(chunk, relink=chunk if relink else [], glossary=glossary)
        for article_id in chunk:
            with transaction.atomic():
                version = lock_article(article_id)
                changed += store_page(article_id, version, derived.get(article_id), relink=relink, glossary=glossary)
    return changed
