"""Reviewer profiles (what readers see of a reviewer) and the verification of their credentials."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from healthlib import credentials
from healthlib.admin.base import DUE_SOON_DAYS, IdCheckingAdmin
from healthlib.exceptions import WorkflowError
from healthlib.models import ReviewerProfile


@admin.register(ReviewerProfile)
class ReviewerProfileAdmin(IdCheckingAdmin):
    """A reviewer edits their own profile (what readers see); superusers edit anyone's.

    Credential verifiers (``healthlib.verify_credentials``) see every profile and record, with the
    "verify" action, that they checked the credentials with the licensing body today.
    """

    list_display = ["display_name", "credentials", "specialty", "licensing_body", "verification_status", "user"]
    search_fields = ["display_name", "credentials", "specialty", "licensing_body", "licence_number"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_select_related = ["user", "verification"]
    actions = ["verify_credentials"]

    @admin.display(description=gettext_lazy("credentials verified"))
    def verification_status(self, obj):
        found = credentials.status(obj, soon_days=DUE_SOON_DAYS)
        label = credentials.STATUS_LABELS[found]
        if obj.verification is None:
            return label
        return _("%(status)s: %(date)s by %(who)s, valid until %(until)s") % {
            "status": label,
            "date": obj.verification.verified_on.isoformat(),
            "who": obj.verification.verified_by_name,
            "until": credentials.expires_on(obj.verification.verified_on).isoformat(),
        }

    def has_verify_permission(self, request):
        return request.user.has_perm(credentials.VERIFY)

    @admin.action(permissions=["verify"], description=gettext_lazy("Mark credentials as verified today"))
    def verify_credentials(self, request, queryset):
        for profile in queryset.select_related("verification"):
            try:
                credentials.verify(profile, request.user)
            except WorkflowError as exc:
                self.message_user(request, f"{profile.display_name}: {exc.message}", messages.ERROR)
            else:
                self.message_user(
                    request, _("Credentials of %(name)s verified.") % {"name": profile.display_name}, messages.SUCCESS
                )

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if obj is None:
            return super().has_change_permission(request)
        return obj.user_id == request.user.pk

    def has_view_permission(self, request, obj=None):
        if obj is not None and obj.user_id == request.user.pk:
            return True
        return super().has_view_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = ["verification_status"]
        return readonly if request.user.is_superuser else ["user", *readonly]
