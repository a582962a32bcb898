"""Reviews: who reviewed which revision, when, and what they decided."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthlib.models.append_only import AppendOnlyModel


class Decision(models.TextChoices):
    APPROVED = "approved", _("Approved")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    REAFFIRMED = "reaffirmed", _("Reaffirmed as still accurate")


class Review(AppendOnlyModel):
    """The review-date record. "Last reviewed on" is read from these, never typed by hand."""

    revision = models.ForeignKey(
        "healthlib.Revision", on_delete=models.PROTECT, related_name="reviews", verbose_name=_("revision")
    )
    content_hash = models.CharField(
        _("content hash"), max_length=64, help_text=_("The exact content the reviewer saw and decided on.")
    )
    round = models.PositiveIntegerField(_("review round"), default=0)
    decision = models.CharField(_("decision"), max_length=20, choices=Decision.choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("reviewer")
    )
    reviewer_name = models.CharField(_("reviewer name"), max_length=300)
    reviewer_credentials = models.CharField(_("reviewer credentials"), max_length=300, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    change_summary = models.CharField(
        _("what changed"),
        max_length=200,
        blank=True,
        help_text=_('Shown to readers in the review history, e.g. "Added: fertility section".'),
    )
    credential_check = models.ForeignKey(
        "healthlib.CredentialVerification",
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("credential verification"),
        help_text=_("The verification of the reviewer's credentials that was current when they decided."),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-reviewed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.reviewer_name} on {self.reviewed_at:%Y-%m-%d}"
