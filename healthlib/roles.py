"""healthlib's permissions, who holds them, and the role groups created idempotently with them.

The workflow checks permissions, never group names, so a site may instead grant these
permissions to groups of its own. Every check names a permission through the constants here.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.management import create_permissions
from django.db.models import Q, QuerySet

from healthlib.conf import healthlib_settings

# The permissions of healthlib's own (declared in ContentItem.Meta and ReviewerProfile.Meta), as
# ``user.has_perm`` takes them.
#: Write drafts, submit them for review, restore old revisions.
EDIT = "healthlib.edit_content"
#: Approve, request changes to and reaffirm content as a medical reviewer.
REVIEW = "healthlib.review_content"
#: Publish approved content, archive content.
PUBLISH = "healthlib.publish_content"
#: Verify reviewers' credentials.
VERIFY = "healthlib.verify_credentials"


def codename(permission: str) -> str:
    """The codename part of a permission name: ``edit_content`` of ``healthlib.edit_content``."""
    return permission.partition(".")[2]


EDITOR_PERMISSIONS = [
    f"contentitem.{codename(EDIT)}",
    f"contentitem.{codename(PUBLISH)}",
    "article.add_article",
    "article.change_article",
    "article.view_article",
    "glossaryterm.add_glossaryterm",
    "glossaryterm.change_glossaryterm",
    "glossaryterm.view_glossaryterm",
    "topic.add_topic",
    "topic.change_topic",
    "topic.view_topic",
    "revision.view_revision",
    "review.view_review",
    "workflowevent.view_workflowevent",
    "reviewerprofile.view_reviewerprofile",
]
REVIEWER_PERMISSIONS = [
    f"contentitem.{codename(REVIEW)}",
    "article.view_article",
    "glossaryterm.view_glossaryterm",
    "topic.view_topic",
    "revision.view_revision",
    "review.view_review",
    "workflowevent.view_workflowevent",
    "reviewerprofile.view_reviewerprofile",
    "reviewerprofile.change_reviewerprofile",
]

#: Checking reviewers' licences with the licensing bodies is separate from judging content, so that no
#: reviewer vouches for their own credentials (the workflow refuses self-verification as well).
VERIFIER_PERMISSIONS = [
    f"reviewerprofile.{codename(VERIFY)}",
    "reviewerprofile.view_reviewerprofile",
    "credentialverification.view_credentialverification",
]


def is_editor_or_reviewer(user: Any) -> bool:
    """Editors and medical reviewers: who may see unpublished content and handle readers' reports."""
    return bool(user and user.is_authenticated and (user.has_perm(EDIT) or user.has_perm(REVIEW)))


def holders(permission: str, *, include_superusers: bool = False) -> QuerySet:
    """Active users given ``permission`` directly or through a group (one query).

    Written out rather than ``User.objects.with_perm()``, which refuses to run when a site has more
    than one authentication backend.
    """
    app_label, name = permission.split(".")
    held = Q(user_permissions__codename=name, user_permissions__content_type__app_label=app_label) | Q(
        groups__permissions__codename=name, groups__permissions__content_type__app_label=app_label
    )
    if include_superusers:
        held |= Q(is_superuser=True)
    return get_user_model().objects.filter(held, is_active=True).distinct()


def role_permissions() -> dict[str, list[str]]:
    return {
        healthlib_settings.EDITOR_GROUP: EDITOR_PERMISSIONS,
        healthlib_settings.REVIEWER_GROUP: REVIEWER_PERMISSIONS,
        healthlib_settings.VERIFIER_GROUP: VERIFIER_PERMISSIONS,
    }


def ensure_roles(apps=global_apps, using: str = "default") -> None:
    """Create the role groups and add any missing permissions. Never removes what a site added."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    create_permissions(global_apps.get_app_config("healthlib"), verbosity=0, using=using, apps=apps)
    for group_name, codes in role_permissions().items():
        group, _ = Group.objects.using(using).get_or_create(name=group_name)
        wanted = set()
        for code in codes:
            model, codename = code.split(".")
            wanted.add(
                Permission.objects.using(using)
                .get(content_type__app_label="healthlib", content_type__model=model, codename=codename)
                .pk
            )
        existing = set(group.permissions.values_list("pk", flat=True))
        group.permissions.add(*(wanted - existing))


def ensure_roles_after_migrate(sender, using="default", apps=global_apps, **kwargs) -> None:
    try:
        apps.get_model("healthlib", "ContentItem")
        apps.get_model("auth", "Group")
    except LookupError:  # migrated backwards, or not migrated yet
        return
    ensure_roles(apps=apps, using=using)
