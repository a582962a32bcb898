"""The search index: one row per live article or glossary term, holding only what readers can see.

Drafts, revisions in review and archived content never get a row (see :mod:`healthlib.search`).
On SQLite an FTS5 external-content table mirrors title and text, and a second FTS5 table keeps its own
copy of the names (title and aliases), both through triggers; on PostgreSQL a generated, weighted
``tsvector`` column with a GIN index sits on it, plus a GIN index on the ``tsvector`` of the names.
They are created by migrations ``0004_searchentry`` and ``0008_search_names``, which check the
database vendor.

A later migration that alters this model on SQLite rebuilds the table, which drops the FTS5 triggers:
such a migration must re-create them (and run ``healthlib_reindex``).
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from healthlib.models.content import ContentItem, Kind


class SearchEntry(models.Model):
    item = models.OneToOneField(
        ContentItem, primary_key=True, on_delete=models.CASCADE, related_name="search_entry", editable=False
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, editable=False)
    title = models.CharField(_("title"), max_length=300, editable=False)
    # One per line; also part of body_text, so that a name match is always a match of the whole entry.
    aliases = models.TextField(_("other names"), blank=True, default="", editable=False)
    body_text = models.TextField(_("text"), blank=True, editable=False)
    url = models.CharField(_("address"), max_length=500, editable=False)
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("search entry")
        verbose_name_plural = _("search entries")
        # Exact title matches rank first; this finds them without scanning the matches.
        indexes = [models.Index(Lower("title"), name="healthlib_search_lower_title")]

    def __str__(self) -> str:
        return self.title
