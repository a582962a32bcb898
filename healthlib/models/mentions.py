"""Which live articles link to which glossary term: the term page's "articles that use this term"."""

from django.db import models


class TermMention(models.Model):
    """One live article linking to one glossary term (by slug), brought in line whenever the
    article's live body changes; a derived index, never edited by hand."""

    article = models.ForeignKey("healthlib.Article", on_delete=models.CASCADE, related_name="term_mentions")
    slug = models.SlugField(max_length=200, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "slug"], name="healthlib_termmention_unique")]

    def __str__(self) -> str:
        return f"{self.article_id} -> {self.slug}"
