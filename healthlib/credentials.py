"""Verified reviewer credentials: who checked a reviewer's licence, when, and whether that still counts.

A reviewer may approve or reaffirm content only while the last verification of their credentials
is younger than ``CREDENTIALS_VALID_MONTHS`` and the profile still shows what was verified.
Verifying needs the ``healthlib.verify_credentials`` permission and is never done for oneself.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from healthlib.conf import healthlib_settings
from healthlib.exceptions import CredentialsNotVerified, InvalidContent, NotPermitted
from healthlib.models import CredentialVerification, ReviewerProfile
from healthlib.roles import REVIEW, VERIFY, holders

VALID = "valid"
DUE = "due"
EXPIRED = "expired"
MISSING = "missing"
CHANGED = "changed"
STATUS_LABELS = {
    VALID: gettext_lazy("Verified"),
    DUE: gettext_lazy("Verification due soon"),
    EXPIRED: gettext_lazy("Verification expired"),
    MISSING: gettext_lazy("Never verified"),
    CHANGED: gettext_lazy("Changed since verified"),
}


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def expires_on(verified_on: datetime.date) -> datetime.date:
    """The first day on which a verification made on ``verified_on`` no longer counts."""
    return _add_months(verified_on, healthlib_settings.CREDENTIALS_VALID_MONTHS)


def status(profile: ReviewerProfile | None, today: datetime.date | None = None, soon_days: int = 30) -> str:
    """One of VALID, DUE (expires within ``soon_days``), EXPIRED, MISSING, CHANGED."""
    today = today or timezone.localdate()
    verification = profile.verification if profile is not None else None
    if verification is None:
        return MISSING
    if verification.verified_values() != profile.verified_values():
        return CHANGED
    until = expires_on(verification.verified_on)
    if today >= until:
        return EXPIRED
    return DUE if (until - today).days <= soon_days else VALID


def require_current(user, action_label) -> CredentialVerification:
    """The verification that lets ``user`` judge content now, or :class:`CredentialsNotVerified`.

    Read from the database, not from ``user.reviewer_profile``: the user object may predate the
    latest verification or profile change.
    """
    profile = ReviewerProfile.objects.select_related("verification").filter(user_id=user.pk).first()
    found = status(profile)
    action = str(action_label).lower()
    if found == MISSING:
        raise CredentialsNotVerified(
            _(
                "Your credentials have not been verified, so you cannot %(action)s content. Ask a credential "
                "verifier to check them with your licensing body."
            )
            % {"action": action}
        )
    verification = profile.verification
    if found == CHANGED:
        raise CredentialsNotVerified(
            _(
                "Your credentials or licence details changed after they were verified on %(date)s. Ask a "
                "credential verifier to check the new details before you %(action)s content."
            )
            % {"date": verification.verified_on.isoformat(), "action": action}
        )
    if found == EXPIRED:
        raise CredentialsNotVerified(
            _(
                "Your credentials were last verified on %(date)s; that verification ran out on %(until)s "
                "(verifications last %(months)d months). Ask a credential verifier to check them again before "
                "you %(action)s content."
            )
            % {
                "date": verification.verified_on.isoformat(),
                "until": expires_on(verification.verified_on).isoformat(),
                "months": healthlib_settings.CREDENTIALS_VALID_MONTHS,
                "action": action,
            }
        )
    return verification


def _name(user) -> str:
    profile = ReviewerProfile.objects.filter(user_id=user.pk).values_list("display_name", flat=True).first()
    return profile or user.get_full_name() or user.get_username()


def verify(profile: ReviewerProfile, user, *, verified_on: datetime.date | None = None) -> CredentialVerification:
    """Record that ``user`` checked ``profile``'s credentials with the licensing body on ``verified_on`` (today).

    Refused (and nothing changes) without the permission, for one's own profile, for a date in the
    future or one whose verification would already have run out, and for a profile that does not say
    what to check: credentials, the licensing body, and a licence number or registry link.
    """
    if user is None or not user.is_authenticated or not user.has_perm(VERIFY):
        raise NotPermitted(_("You do not have permission to verify reviewers' credentials."))
    if profile.user_id == user.pk:
        raise NotPermitted(_("You cannot verify your own credentials; another credential verifier must."))
    today = timezone.localdate()
    verified_on = verified_on or today
    if verified_on > today:
        raise InvalidContent(
            _("The verification date cannot be in the future."), {"verified_on": [_("In the future.")]}
        )
    if expires_on(verified_on) <= today:
        raise InvalidContent(
            _("A verification on %(date)s would already have run out.") % {"date": verified_on.isoformat()},
            {"verified_on": [_("Too long ago.")]},
        )
    with transaction.atomic():
        fresh = ReviewerProfile.objects.select_for_update().select_related("user").get(pk=profile.pk)
        missing = [
            str(label)
            for label, present in (
                (gettext_lazy("credentials"), fresh.credentials),
                (gettext_lazy("licensing body"), fresh.licensing_body),
                (gettext_lazy("licence number or registry link"), fresh.licence_number or fresh.registry_url),
            )
            if not present.strip()
        ]
        if missing:
            raise InvalidContent(
                _("“%(name)s”'s profile does not say what to verify: add the %(missing)s first.")
                % {"name": fresh.display_name, "missing": ", ".join(missing)}
            )
        record = CredentialVerification.objects.create(
            reviewer=fresh.user,
            reviewer_name=fresh.display_name,
            **fresh.verified_values(),
            verified_on=verified_on,
            verified_by=user,
            verified_by_name=_name(user),
        )
        fresh.verification = record
        fresh.save(update_fields=["verification"])
    profile.verification = record
    return record


@dataclass(frozen=True)
class ReviewerStatus:
    user: object
    profile: ReviewerProfile | None
    status: str
    expires_on: datetime.date | None

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def name(self) -> str:
        return self.profile.display_name if self.profile else (self.user.get_full_name() or self.user.get_username())


def needing_verification(today: datetime.date | None = None, soon_days: int = 30) -> list[ReviewerStatus]:
    """Active users given the review permission (directly or by group) whose verification is not comfortably valid.

    Expired, never verified and changed first, then those due within ``soon_days``, soonest first.
    Superusers are left out: they hold every permission without being medical reviewers.
    """
    today = today or timezone.localdate()
    # One query, however many reviewers: the profile and its last verification come with each user.
    users = holders(REVIEW).select_related("reviewer_profile__verification").order_by("pk")
    rows = []
    for user in users:
        profile = getattr(user, "reviewer_profile", None)
        found = status(profile, today, soon_days)
        if found == VALID:
            continue
        verification = profile.verification if profile else None
        rows.append(
            ReviewerStatus(user, profile, found, expires_on(verification.verified_on) if verification else None)
        )
    rows.sort(key=lambda row: (row.status == DUE, row.expires_on or datetime.date.min, row.name))
    return rows
