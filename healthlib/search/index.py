"""Keeping the index in step with what readers see: one entry per live article or glossary term."""

from __future__ import annotations

from django.db import transaction

from healthlib.glossary_linker import strip_definitions
from healthlib.html import plain_text
from healthlib.models import Article, GlossaryTerm, Kind, SearchEntry
from healthlib.search.query import backend
from healthlib.search.snippets import clean_text


def entry_fields(item) -> dict | None:
    """What the index holds for a live item (its reader-facing copy), or None when it is not live."""
    if item.live_revision_id is None:
        return None
    if isinstance(item, Article):
        body = " ".join([item.live_summary, plain_text(strip_definitions(item.live_body_html))])
        return {
            "kind": Kind.ARTICLE,
            "title": clean_text(item.live_title),
            "aliases": "",
            "body_text": clean_text(body),
        }
    if isinstance(item, GlossaryTerm):
        body = " ".join(
            [
                item.live_short_definition,
                " ".join(item.live_aliases or []),
                plain_text(item.live_full_definition_html),
                plain_text(item.live_professional_definition_html),
            ]
        )
        aliases = "\n".join(filter(None, (clean_text(alias) for alias in item.live_aliases or [])))
        return {
            "kind": Kind.GLOSSARY_TERM,
            "title": clean_text(item.live_term),
            "aliases": aliases,
            "body_text": clean_text(body),
        }
    raise TypeError(f"Cannot index {type(item).__name__}")


def index_item(item) -> bool:
    """Put a live item's reader-facing text in the index (or take it out when not live). Returns whether indexed."""
    item = item.specific()
    item = type(item).objects.get(pk=item.pk)  # as saved, not the caller's copy
    fields = entry_fields(item)
    if fields is None:
        unindex_item(item)
        return False
    SearchEntry.objects.update_or_create(item_id=item.pk, defaults={**fields, "url": item.get_absolute_url()})
    return True


def unindex_item(item) -> None:
    """Take an item out of the index."""
    SearchEntry.objects.filter(item_id=item.pk).delete()


def reindex() -> int:
    """Rebuild the whole index from live content. Returns the number of entries."""
    count = 0
    with transaction.atomic():
        SearchEntry.objects.all().delete()
        for model in (Article, GlossaryTerm):
            for item in model.objects.filter(live_revision__isnull=False).iterator(chunk_size=200):
                if (fields := entry_fields(item)) is not None:
                    SearchEntry.objects.create(item_id=item.pk, url=item.get_absolute_url(), **fields)
                    count += 1
        backend().rebuild()
    return count
