from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthlib.models.append_only import AppendOnlyModel
from healthlib.normalise import is_one_line

#: The profile fields whose values a verification vouches for (and readers rely on).
VERIFIED_FIELDS = ("credentials", "specialty", "licensing_body", "licence_number", "registry_url")


class ReviewerProfile(models.Model):
    """What readers learn about a medical reviewer: name and credentials, and when those were last checked."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviewer_profile", verbose_name=_("user")
    )
    display_name = models.CharField(
        _("display name"), max_length=200, help_text=_('Name as readers see it, e.g. "Maria Lopez".')
    )
    credentials = models.CharField(
        _("credentials"), max_length=200, blank=True, help_text=_('Degrees and board certification, e.g. "MD".')
    )
    specialty = models.CharField(_("specialty"), max_length=200, blank=True, help_text=_('e.g. "Medical oncology".'))
    bio_url = models.URLField(_("biography link"), blank=True)
    licensing_body = models.CharField(
        _("licensing body"),
        max_length=200,
        blank=True,
        help_text=_('Who licenses or certifies the reviewer, e.g. "Medical Board of California".'),
    )
    licence_number = models.CharField(_("licence number"), max_length=100, blank=True)
    registry_url = models.URLField(
        _("registry link"), blank=True, help_text=_("A public page of the licensing body that confirms the licence.")
    )
    verification = models.ForeignKey(
        "healthlib.CredentialVerification",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("last verification"),
    )

    class Meta:
        verbose_name = _("reviewer profile")
        verbose_name_plural = _("reviewer profiles")
        ordering = ["display_name"]
        permissions = [("verify_credentials", _("Can verify reviewers' credentials"))]

    def __str__(self) -> str:
        return self.byline

    def clean(self) -> None:
        # Readers see these in bylines, feeds, structured data and emails, where a line break would show.
        errors = {
            name: _("Write this on one line, without line breaks or control characters.")
            for name in ("display_name", "credentials", "specialty")
            if not is_one_line(getattr(self, name))
        }
        if errors:
            raise ValidationError(errors, code="not_one_line")

    @property
    def byline(self) -> str:
        """'Maria Lopez, MD, medical oncology'."""
        return ", ".join(part for part in (self.display_name, self.credentials, self.specialty) if part)

    def verified_values(self) -> dict[str, str]:
        """The values a verification vouches for, as they are now."""
        return {name: getattr(self, name) for name in VERIFIED_FIELDS}


class CredentialVerification(AppendOnlyModel):
    """Someone checked a reviewer's credentials with the licensing body: what they saw, when, and who they were.

    The record of every verification (the profile points to the last one); reviews point to the one
    that was current when the reviewer decided, so later changes to the profile rewrite nothing.
    """

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("reviewer")
    )
    reviewer_name = models.CharField(_("reviewer name"), max_length=300)
    credentials = models.CharField(_("credentials"), max_length=200, blank=True)
    specialty = models.CharField(_("specialty"), max_length=200, blank=True)
    licensing_body = models.CharField(_("licensing body"), max_length=200, blank=True)
    licence_number = models.CharField(_("licence number"), max_length=100, blank=True)
    registry_url = models.URLField(_("registry link"), blank=True)
    verified_on = models.DateField(_("verified on"))
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("verified by")
    )
    verified_by_name = models.CharField(_("verified by (name)"), max_length=300)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("credential verification")
        verbose_name_plural = _("credential verifications")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.reviewer_name}: verified on {self.verified_on:%Y-%m-%d} by {self.verified_by_name}"

    @property
    def licence(self) -> str:
        """'Medical Board of California, licence A12345' (or the parts there are)."""
        number = _("licence %(number)s") % {"number": self.licence_number} if self.licence_number else ""
        return ", ".join(part for part in (self.licensing_body, number) if part)

    def verified_values(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in VERIFIED_FIELDS}
