import pytest
from django.contrib.auth.models import User

from healthlib import workflow
from healthlib.models import (
    AppendOnlyError,
    Article,
    ProtectedContentError,
    Review,
    Revision,
    RevisionAuthor,
    WorkflowEvent,
)
from tests.conftest import ARTICLE_CONTENT, edited


@pytest.mark.parametrize("model", [Revision, RevisionAuthor, Review, WorkflowEvent])
def test_append_only_records_cannot_be_changed_or_deleted(published_article, model):
    record = model.objects.first()
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        model.objects.all().update(pk=1)
    with pytest.raises(AppendOnlyError):
        model.objects.all().delete()
    assert model.objects.filter(pk=record.pk).exists()


def test_deleting_users_keeps_their_names_on_the_record(published_article, editor, reviewer):
    reviewer.delete()
    editor.delete()
    review = Review.objects.get()
    assert review.reviewer is None and review.reviewer_name == "Reviewer" and review.reviewer_credentials == "MD"
    revision = Revision.objects.get()
    assert revision.created_by is None and revision.created_by_name == "editor"
    assert set(WorkflowEvent.objects.values_list("actor_name", flat=True)) == {"editor", "Reviewer"}
    assert list(RevisionAuthor.objects.values_list("user", "user_name")) == [(None, "editor")]
    assert not User.objects.filter(username__in=["editor", "reviewer"]).exists()


@pytest.mark.parametrize("fixture", ["article", "published_article"])
def test_content_with_history_cannot_be_deleted(request, fixture):
    article = request.getfixturevalue(fixture)
    with pytest.raises(ProtectedContentError, match="Archive it instead"):
        article.delete()
    assert Article.objects.filter(pk=article.pk).exists()


def test_revision_hash_covers_every_content_field(article, editor):
    first = article.latest_revision
    for field, value in [("title", "New"), ("summary", "New"), ("body", "New"), ("references", [])]:
        workflow.save_draft(article, editor, {**first.content, field: value}, based_on=article.latest_revision)
        assert article.latest_revision.content_hash != first.content_hash
        assert article.latest_revision.hash_is_intact()


def test_revision_records_readability(article):
    revision = article.latest_revision
    assert revision.word_count > 10
    assert revision.readability_grade is not None
    assert revision.reading_minutes == 1


# ---------------------------------------------------------------- the backfill of revision authors


def _old_rule(revision: Revision) -> set[int]:
    """Who could not judge ``revision`` before text authors were stored: its item's savers since the last publication."""
    published = WorkflowEvent.objects.filter(
        item=revision.item_id, action="healthlib.publish", revision__number__lt=revision.number
    ).values_list("revision__number", flat=True)
    since = max(published, default=0)
    savers = Revision.objects.filter(item=revision.item_id, number__gt=since, number__lte=revision.number)
    return set(savers.values_list("created_by_id", flat=True)) - {None}


def _authors() -> dict[int, set[int]]:
    authors: dict[int, set[int]] = {}
    for revision_id, user_id in RevisionAuthor.objects.values_list("revision_id", "user_id"):
        authors.setdefault(revision_id, set()).add(user_id)
    return authors


@pytest.mark.django_db(transaction=True)
def test_migration_backfills_the_authors_of_every_revision(editor, editor2, reviewer, author_reviewer):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    dual = author_reviewer
    own_words = edited(ARTICLE_CONTENT, body="The dual-role user's own words.")
    # Restored: the dual-role user's text comes back after an editor's version was published.
    restored = workflow.create_article(dual, slug="restored", article_type="drug", content=own_words)
    first = restored.latest_revision
    workflow.save_draft(restored, editor, edited(own_words, body="Replaced."), based_on=first)
    for step in (workflow.submit, workflow.approve, workflow.publish):
        step(restored, reviewer if step is workflow.approve else editor)
    workflow.restore(restored, editor, revision=first, based_on=restored.latest_revision)
    workflow.save_draft(restored, editor2, edited(own_words, summary="Edited."), based_on=restored.latest_revision)
    # Copied word for word into another item.
    copy = workflow.create_article(editor, slug="copy", article_type="drug", content=own_words)
    # A plain history: two savers, a publication, then one more.
    plain = workflow.create_article(editor, slug="plain", article_type="drug", content=ARTICLE_CONTENT)
    workflow.save_draft(plain, editor2, edited(ARTICLE_CONTENT, body="Second."), based_on=plain.latest_revision)
    for step in (workflow.submit, workflow.approve, workflow.publish):
        step(plain, reviewer if step is workflow.approve else editor)
    workflow.save_draft(plain, dual, edited(ARTICLE_CONTENT, body="Third."), based_on=plain.latest_revision)
    written = _authors()
    old = {revision.pk: _old_rule(revision) for revision in Revision.objects.all()}

    executor = MigrationExecutor(connection)
    executor.migrate([("healthlib", "0009_remove_contentitem_version")])
    assert "healthlib_revisionauthor" not in connection.introspection.table_names()
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    backfilled = _authors()
    assert set(backfilled) == set(old)
    for revision_id, authors in backfilled.items():
        # Never fewer than either rule: what the workflow wrote, and what the old rule said.
        assert authors == written[revision_id] | old[revision_id], Revision.objects.get(pk=revision_id)
    for item in (restored, copy):
        item.refresh_from_db()
        assert dual.pk in backfilled[item.latest_revision_id]
    assert backfilled[Article.objects.get(pk=plain.pk).latest_revision_id] == {dual.pk}
    names = dict(RevisionAuthor.objects.filter(revision=first).values_list("user_id", "user_name"))
    assert names == {dual.pk: first.created_by_name}
