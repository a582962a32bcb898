from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import override_settings

from healthlib.roles import ensure_roles


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
