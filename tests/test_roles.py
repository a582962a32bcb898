from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.management import call_command
from django.test import override_settings

from healthlib import roles
from healthlib.roles import ensure_roles
from tests.conftest import make_user


def perms(group_name):
    return set(Group.objects.get(name=group_name).permissions.values_list("codename", flat=True))


def test_groups_exist_after_migrate_with_workflow_permissions(db):
    assert {"edit_content", "publish_content"} <= perms("Editors")
    assert "review_content" not in perms("Editors")
    assert "review_content" in perms("Medical reviewers")
    assert not {"edit_content", "publish_content"} & perms("Medical reviewers")


def test_setup_is_idempotent_and_keeps_site_additions(db):
    group = Group.objects.get(name="Editors")
    extra = group.permissions.model.objects.get(codename="delete_topic")
    group.permissions.add(extra)
    before = perms("Editors")
    call_command("healthlib_setup_roles")
    ensure_roles()
    assert perms("Editors") == before
    assert Group.objects.filter(name="Editors").count() == 1


@override_settings(HEALTHLIB={"EDITOR_GROUP": "Redactie", "REVIEWER_GROUP": "Artsen"})
def test_group_names_are_configurable(db):
    ensure_roles()
    assert "edit_content" in perms("Redactie")
    assert "review_content" in perms("Artsen")


def test_only_credential_verifiers_may_verify(db):
    """Verifying credentials is its own role: reviewers never vouch for themselves, editors do not judge licences."""
    assert "verify_credentials" in perms("Credential verifiers")
    assert "verify_credentials" not in perms("Medical reviewers")
    assert "verify_credentials" not in perms("Editors")
    assert not {"review_content", "edit_content", "publish_content"} & perms("Credential verifiers")


@override_settings(HEALTHLIB={"VERIFIER_GROUP": "Credentialing"})
def test_verifier_group_name_is_configurable(db):
    ensure_roles()
    assert "verify_credentials" in perms("Credentialing")


# ---------------------------------------------------------------- one home for permissions

PERMISSIONS = [roles.EDIT, roles.REVIEW, roles.PUBLISH, roles.VERIFY]


def healthlib_sources():
    package = Path(roles.__file__).parent
    for path in sorted(package.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path.relative_to(package).as_posix(), path.read_text(encoding="utf-8")


@pytest.mark.parametrize("permission", PERMISSIONS)
def test_each_permission_is_declared_by_a_model_and_named_only_in_roles(permission, db):
    app_label, codename = permission.split(".")
    assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists()
    spelled = [name for name, text in healthlib_sources() if f'"{permission}"' in text]
    assert spelled == ["roles.py"]
    # Nor looked up by its bare codename.
    assert [name for name, text in healthlib_sources() if f'codename="{codename}"' in text] == []


def test_holders_are_active_users_with_the_permission_directly_or_by_group(db):
    by_group = make_user("by-group", "Medical reviewers")
    direct = make_user("direct")
    direct.user_permissions.add(Permission.objects.get(codename="review_content"))
    make_user("editor-only", "Editors")
    inactive = make_user("inactive", "Medical reviewers")
    inactive.is_active = False
    inactive.save()
    root = make_user("root", superuser=True)
    assert set(roles.holders(roles.REVIEW)) == {by_group, direct}
    assert set(roles.holders(roles.REVIEW, include_superusers=True)) == {by_group, direct, root}


def test_editors_and_reviewers_are_the_staff_who_see_unpublished_content(db):
    assert roles.is_editor_or_reviewer(make_user("e", "Editors"))
    assert roles.is_editor_or_reviewer(make_user("r", "Medical reviewers"))
    assert not roles.is_editor_or_reviewer(make_user("v", "Credential verifiers"))
    assert not roles.is_editor_or_reviewer(AnonymousUser())
    assert not roles.is_editor_or_reviewer(None)
