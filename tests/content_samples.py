"""Content and checks that several test modules share (bad input is refused without writing anything)."""

from __future__ import annotations

from healthlib.models import ContentItem, Revision

TERM_CONTENT = {"term": "T cell", "short_definition": "A white blood cell that finds and kills infected cells."}


def nothing_written() -> bool:
    return not ContentItem.objects.exists() and not Revision.objects.exists()
