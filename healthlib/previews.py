"""A revision rendered as readers would see it, before it is live: the one preview renderer.

The admin's change form and review page, shared review links (:mod:`healthlib.preview_links`) and
the staff preview page (:func:`healthlib.views.preview_revision`) all show a revision through
:func:`preview_item`, which renders it the way publishing does (markdown through the one
sanitizer, glossary links) onto an unsaved copy of its item. A preview therefore shows exactly what
publishing the revision would put in front of readers, and nothing renders a revision another way.
"""

from __future__ import annotations

import copy

from healthlib import publishing
from healthlib.models import Article, GlossaryTerm, Revision


def preview_item(revision: Revision, item: Article | GlossaryTerm | None = None) -> Article | GlossaryTerm:
    """An unsaved copy of ``revision``'s item whose reader-facing (``live_*``) fields show ``revision``.

    ``item``: the revision's item as an Article or GlossaryTerm, when the caller has it (saves a
    query); it is copied, never changed. The copy must never be saved.
    """
    specific = copy.copy(item if item is not None else revision.item.specific())
    publishing.set_live_content(specific, revision)  # the publish step's own rendering
    return specific
