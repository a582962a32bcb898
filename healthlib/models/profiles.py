import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

#: Line breaks (including U+2028/U+2029) and other control characters: a byline is one line.
_NOT_ONE_LINE = {"Cc", "Zl", "Zp"}


class ReviewerProfile(models.Model):
    """What readers learn about a medical reviewer: name and credentials."""

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

    class Meta:
        verbose_name = _("reviewer profile")
        verbose_name_plural = _("reviewer profiles")
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.byline

    def clean(self) -> None:
        # Readers see these in bylines, feeds, structured data and emails, where a line break would show.
        errors = {
            name: _("Write this on one line, without line breaks or control characters.")
            for name in ("display_name", "credentials", "specialty")
            if any(unicodedata.category(char) in _NOT_ONE_LINE for char in getattr(self, name))
        }
        if errors:
            raise ValidationError(errors, code="not_one_line")

    @property
    def byline(self) -> str:
        """'Maria Lopez, MD, medical oncology'."""
        return ", ".join(part for part in (self.display_name, self.credentials, self.specialty) if part)
