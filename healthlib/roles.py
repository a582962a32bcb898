"""The editor, medical-reviewer and credential-verifier groups, created idempotently with their permissions.

The workflow checks permissions, never group names, so a site may instead grant these
permissions to groups of its own.
"""

from __future__ import annotations

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

from healthlib.conf import healthlib_settings

EDITOR_PERMISSIONS = [
    "contentitem.edit_content",
    "contentitem.publish_content",
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
    "contentitem.review_content",
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
    "reviewerprofile.verify_credentials",
    "reviewerprofile.view_reviewerprofile",
    "credentialverification.view_credentialverification",
]


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
