"""The last check of each live reference link, written by ``manage.py healthlib_check_links``.

Derived data, one row per (article, reference URL): the check run deletes rows of references
no longer live and rewrites the others, so it is not append-only.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

MAX_URL = 2000


class ReferenceCheck(models.Model):
    article = models.ForeignKey(
        "healthlib.Article", on_delete=models.CASCADE, related_name="reference_checks", verbose_name=_("article")
    )
    url = models.CharField(_("URL"), max_length=MAX_URL)
    title = models.CharField(_("reference title"), max_length=500, blank=True)
    status = models.PositiveSmallIntegerField(
        _("HTTP status"), null=True, blank=True, help_text=_("Of the final answer, after redirects. Empty: no answer.")
    )
    final_url = models.CharField(_("final URL"), max_length=MAX_URL, blank=True, help_text=_("Where redirects led."))
    error = models.TextField(_("error"), blank=True, help_text=_("Why there was no usable answer (timeout, DNS, ...)."))
    broken = models.BooleanField(_("broken"), default=False, db_index=True)
    checked_at = models.DateTimeField(_("checked"))

    class Meta:
        verbose_name = _("reference check")
        verbose_name_plural = _("reference checks")
        ordering = ["article_id", "url"]
        constraints = [models.UniqueConstraint(fields=["article", "url"], name="healthlib_reference_check_unique")]

    def __str__(self) -> str:
        return self.url

    @property
    def redirected(self) -> bool:
        return bool(self.final_url) and self.final_url != self.url

    @property
    def outcome(self) -> str:
        """'404', '200 via redirect', or the error: what the dashboard and reminders show."""
        if self.error:
            return self.error
        if self.redirected:
            return _("%(status)s after a redirect to %(url)s") % {"status": self.status, "url": self.final_url}
        return str(self.status)
