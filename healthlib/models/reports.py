"""Reader error reports ("Report a problem with this page"): open items in the editors' workspace.

A report is tied to the article and to the live revision the reader was reading, so an editor can
see whether a later revision already answers it. Only :mod:`healthlib.problem_reports` creates and
closes reports; the reader's words are stored exactly as typed and only ever shown escaped.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

#: Longest report a reader may send, in characters.
MAX_MESSAGE = 5000
MAX_NOTE = 10_000


class ReportStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class ProblemReport(models.Model):
    article = models.ForeignKey(
        "healthlib.Article", on_delete=models.PROTECT, related_name="problem_reports", verbose_name=_("article")
    )
    revision = models.ForeignKey(
        "healthlib.Revision",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("revision read"),
        help_text=_("The live revision the reader was reading when they sent the report."),
    )
    message = models.TextField(_("what is wrong"), max_length=MAX_MESSAGE, editable=False)
    email = models.EmailField(_("reader's email"), blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN, editable=False
    )
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, editable=False)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("closed by"),
    )
    # Kept when the account is deleted.
    closed_by_name = models.CharField(_("closed by (name)"), max_length=300, blank=True, editable=False)
    closing_note = models.TextField(
        _("closing note"),
        blank=True,
        editable=False,
        help_text=_("What was done: fixed in a new revision, already correct, not a content problem, ..."),
    )

    class Meta:
        verbose_name = _("reader report")
        verbose_name_plural = _("reader reports")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="healthlib_report_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status=ReportStatus.OPEN, closed_at__isnull=True)
                | models.Q(status=ReportStatus.CLOSED, closed_at__isnull=False),
                name="healthlib_report_closed_iff_closed_at",
            )
        ]

    def __str__(self) -> str:
        return _("Report on “%(title)s” of %(when)s") % {
            "title": self.article.title,
            "when": self.created_at.date().isoformat() if self.created_at else "",
        }

    @property
    def is_open(self) -> bool:
        return self.status == ReportStatus.OPEN
