"""Data safety: reviewed content cannot be hard-deleted, deleting users loses no names, backups are lossless."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import RequestFactory

from healthlib import workflow
from healthlib.models import (
    Article,
    ContentItem,
    GlossaryTerm,
    ProtectedContentError,
    Review,
    Revision,
    WorkflowEvent,
)
from tests.db_process import live_snapshot, make_accounts, publish_everything
from tests.test_content_files_sync import tricky_folder

ROOT = Path(__file__).resolve().parent.parent
PROTECTED_MODELS = [Article, GlossaryTerm, Revision, Review, WorkflowEvent]


@pytest.fixture
def term(editor):
    return workflow.create_glossary_term(
        editor,
        slug="t-cell",
        content={"term": "T cell", "short_definition": "A white blood cell that finds and kills infected cells."},
    )


# ---------------------------------------------------------------- the admin


@pytest.mark.parametrize("model", PROTECTED_MODELS, ids=lambda m: m.__name__)
def test_admin_never_offers_delete_not_even_to_superusers(model, superuser, published_article):
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    request.user = superuser
    obj = model.objects.first()
    assert model_admin.has_delete_permission(request) is False
    assert model_admin.has_delete_permission(request, obj) is False
    assert "delete_selected" not in model_admin.get_actions(request)


def test_every_healthlib_model_with_history_is_protected_in_the_admin(superuser):
    request = RequestFactory().get("/")
    request.user = superuser
    deletable = {
        model.__name__
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == "healthlib" and model_admin.has_delete_permission(request)
    }
    # Topics and reviewer profiles are not reviewed content, and a purge request or an outgoing email
    # is a queue row, not a record (one left by a backend since removed from the settings, or an email
    # to an address that will never accept it, is deleted by hand; the admin's log keeps who did);
    # everything else keeps its history.
    assert deletable <= {"Topic", "ReviewerProfile", "PurgeRequest", "OutgoingEmail"}


@pytest.mark.parametrize("model", [Article, Revision, Review, WorkflowEvent], ids=lambda m: m.__name__)
def test_admin_delete_urls_refuse_and_delete_nothing(client, superuser, published_article, model):
    client.force_login(superuser)
    obj = model.objects.first()
    url = f"/admin/healthlib/{model._meta.model_name}/{obj.pk}/delete/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_admin_bulk_delete_action_deletes_nothing(client, superuser, published_article):
    client.force_login(superuser)
    response = client.post(
        "/admin/healthlib/article/",
        {"action": "delete_selected", "_selected_action": [published_article.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert Article.objects.filter(pk=published_article.pk).exists()
    assert Revision.objects.filter(item=published_article).count() == 1


# ---------------------------------------------------------------- the ORM


@pytest.mark.parametrize("fixture", ["article", "published_article", "term"])
def test_instance_delete_refuses_items_with_history(request, fixture):
    item = request.getfixturevalue(fixture)
    before = (ContentItem.objects.count(), Revision.objects.count(), WorkflowEvent.objects.count())
    with pytest.raises(ProtectedContentError, match="Archive it instead"):
        item.delete()
    with pytest.raises(ProtectedContentError):
        ContentItem.objects.get(pk=item.pk).delete()
    assert (ContentItem.objects.count(), Revision.objects.count(), WorkflowEvent.objects.count()) == before


@pytest.mark.parametrize(
    "queryset",
    [
        lambda: Article.objects.all(),
        lambda: Article.objects.filter(slug="checkpoint-inhibitors"),
        lambda: GlossaryTerm.objects.all(),
        lambda: ContentItem.objects.all(),
        lambda: ContentItem.objects.filter(state="published"),
    ],
    ids=["articles", "one article", "terms", "items", "published items"],
)
def test_bulk_delete_refuses_items_with_history(published_article, term, queryset):
    before = (ContentItem.objects.count(), Revision.objects.count(), Review.objects.count())
    with pytest.raises(ProtectedContentError, match="Archive them instead"):
        queryset().delete()
    assert (ContentItem.objects.count(), Revision.objects.count(), Review.objects.count()) == before
    assert Article.objects.get(pk=published_article.pk).live_title == "Checkpoint inhibitors"


def test_bulk_delete_of_a_mixed_selection_deletes_nothing(published_article, editor):
    # An item row without any revision (never written through the workflow) is deletable alone ...
    bare = Article.objects.create(slug="bare", article_type="guide", title="Bare")
    with pytest.raises(ProtectedContentError):
        Article.objects.filter(pk__in=[bare.pk, published_article.pk]).delete()
    assert Article.objects.filter(pk=bare.pk).exists()
    # ... and is removed when it is the only one selected.
    Article.objects.filter(pk=bare.pk).delete()
    assert not Article.objects.filter(pk=bare.pk).exists()


def test_archive_is_the_way_off_the_site(client, published_article, editor):
    workflow.archive(published_article, editor)
    assert (
        client.get(published_article.get_absolute_url()).status_code == 410
    )  # gone, not unknown (tests/test_retired.py)
    assert Revision.objects.filter(item=published_article).exists()
    with pytest.raises(ProtectedContentError):
        Article.objects.filter(pk=published_article.pk).delete()


# ---------------------------------------------------------------- deleting people


def test_deleting_every_person_keeps_names_on_reviews_events_revisions_and_the_page(
    client, published_article, editor, editor2, reviewer, reviewer2
):
    workflow.save_draft(
        published_article,
        editor2,
        {**published_article.latest_revision.content, "body": "## Overview\n\nUpdated text."},
        based_on=published_article.latest_revision,
    )
    workflow.submit(published_article, editor2)
    workflow.request_changes(published_article, reviewer2, comment="Cite a 2024 source.")
    workflow.reaffirm(published_article, reviewer)
    names_before = {
        "reviews": sorted(Review.objects.values_list("reviewer_name", "reviewer_credentials", "comment")),
        "events": sorted(WorkflowEvent.objects.values_list("actor_name", "action")),
        "revisions": sorted(Revision.objects.values_list("number", "created_by_name")),
    }
    # Through the admin's delete view for users, as a site administrator would do it.
    root = User.objects.create_superuser("root2", "root2@example.org", "pw")
    client.force_login(root)
    for user in (editor, editor2, reviewer, reviewer2):
        response = client.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302, response.content[:500]
    assert not User.objects.filter(pk__in=[editor.pk, editor2.pk, reviewer.pk, reviewer2.pk]).exists()
    names_after = {
        "reviews": sorted(Review.objects.values_list("reviewer_name", "reviewer_credentials", "comment")),
        "events": sorted(WorkflowEvent.objects.values_list("actor_name", "action")),
        "revisions": sorted(Revision.objects.values_list("number", "created_by_name")),
    }
    assert names_after == names_before
    assert {"Reviewer", "Reviewer2", "editor", "editor2"} <= {name for name, _ in names_after["events"]}
    assert not Review.objects.filter(reviewer__isnull=False).exists()
    article = Article.objects.get(pk=published_article.pk)
    assert article.live_reviewers == [{"name": "Reviewer", "credentials": "MD"}]
    page = client.get(article.get_absolute_url())
    assert page.status_code == 200 and "Reviewer" in page.content.decode()


# ---------------------------------------------------------------- backup and restore


@pytest.fixture(scope="module")
def migrated_db_file(tmp_path_factory):
    """A migrated SQLite file with the accounts, made once and copied for each test."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    run_process("setup", db_file=path)
    return path


def run_process(*args: str, db_file: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "HEALTHLIB_TEST_SQLITE_FILE": str(db_file), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env.pop("HEALTHLIB_TEST_DB", None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "db_process.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_export_then_import_into_an_empty_database_restores_every_live_field(tmp_path, migrated_db_file, db):
    """Backup: export the live library, import it into a fresh database in another process, review and
    publish it there; every reader-facing field of every article, term and topic is equal."""
    editor, reviewer = make_accounts()
    call_command("healthlib_import", str(tricky_folder(tmp_path / "source")), "--user", "editor", stdout=io.StringIO())
    assert publish_everything(editor, reviewer) == 5
    original = json.loads(json.dumps(live_snapshot(), sort_keys=True))
    assert len(original["articles"]) == 2 and len(original["terms"]) == 3 and len(original["topics"]) == 2
    assert any("glossary" in row["live_body_html"] for row in original["articles"].values())
    call_command("healthlib_export", str(tmp_path / "backup"), stdout=io.StringIO())

    fresh = tmp_path / "fresh.sqlite3"
    shutil.copy(migrated_db_file, fresh)
    result = run_process("restore", str(tmp_path / "backup"), str(tmp_path / "again"), db_file=fresh)
    restored = json.loads(result.stdout.strip().splitlines()[-1])

    assert restored == original
    # And the restored library exports byte for byte the same files.
    assert tree(tmp_path / "again") == tree(tmp_path / "backup")
