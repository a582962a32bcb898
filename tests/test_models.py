import pytest
from django.contrib.auth.models import User

from healthlib import workflow
from healthlib.models import AppendOnlyError, Article, ProtectedContentError, Review, Revision, WorkflowEvent


@pytest.mark.parametrize("model", [Revision, Review, WorkflowEvent])
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
