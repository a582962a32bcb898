"""The workflow's rules beyond the permission/state matrix."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from healthlib import signals, workflow
from healthlib.exceptions import (
    AlreadyReviewed,
    ContentHashMismatch,
    InvalidContent,
    NoBaseRevision,
    ReviewerIsAuthor,
    StaleVersion,
    TransitionNotAllowed,
)
from healthlib.models import Article, Decision, GlossaryTerm, Review, ReviewerProfile, Revision, State, WorkflowEvent
from tests.conftest import ARTICLE_CONTENT, edited, make_user
from tests.content_samples import TERM_CONTENT, nothing_written


def counts():
    return Revision.objects.count(), Review.objects.count(), WorkflowEvent.objects.count()


def test_full_loop_stamps_review_date_and_reviewer(article, editor, reviewer):
    workflow.submit(article, editor)
    review = workflow.approve(article, reviewer, revision=article.latest_revision, comment="Accurate.")
    workflow.publish(article, editor, revision=article.latest_revision)
    article.refresh_from_db()
    assert article.state == State.PUBLISHED
    assert article.live_revision == review.revision
    assert article.last_reviewed_at == review.reviewed_at
    assert article.live_reviewers == [{"name": "Reviewer", "credentials": "MD"}]
    assert article.next_review_due == review.reviewed_at.date() + datetime.timedelta(days=365)
    assert article.live_title == ARTICLE_CONTENT["title"]
    assert [e.action for e in article.events.order_by("id")] == [
        "healthlib.create",
        "healthlib.submit",
        "healthlib.approve",
        "healthlib.publish",
    ]


def test_editing_published_content_leaves_live_page_alone(published_article, editor, reviewer, client):
    live = published_article.live_revision
    workflow.save_draft(
        published_article,
        editor,
        edited(ARTICLE_CONTENT, title="Unreviewed new title"),
        based_on=published_article.latest_revision,
    )
    published_article.refresh_from_db()
    assert published_article.state == State.DRAFT
    assert published_article.live_revision == live
    assert published_article.live_title == ARTICLE_CONTENT["title"]
    page = client.get(published_article.get_absolute_url())
    assert page.status_code == 200
    assert b"Unreviewed new title" not in page.content
    # Only after review and publish does the page change.
    workflow.submit(published_article, editor)
    workflow.approve(published_article, reviewer)
    workflow.publish(published_article, editor)
    assert b"Unreviewed new title" in client.get(published_article.get_absolute_url()).content


def test_stale_save_is_refused_with_who_and_when(article, editor, editor2):
    base = article.latest_revision
    workflow.save_draft(article, editor2, edited(ARTICLE_CONTENT, body="Editor two's text."), based_on=base)
    before = counts()
    with pytest.raises(StaleVersion) as excinfo:
        workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, body="Editor one's text."), based_on=base)
    assert "editor2" in str(excinfo.value)
    assert "revision 2" in str(excinfo.value)
    assert counts() == before
    assert Article.objects.get(pk=article.pk).latest_revision.content["body"] == "Editor two's text."


def test_saving_unchanged_content_creates_nothing(article, editor):
    before = counts()
    revision = workflow.save_draft(article, editor, dict(ARTICLE_CONTENT), based_on=article.latest_revision)
    assert revision == article.latest_revision
    assert counts() == before


def test_content_is_normalised_before_hashing(article, editor):
    messy = edited(
        ARTICLE_CONTENT, title="  Checkpoint inhibitors ", body=ARTICLE_CONTENT["body"].replace("\n", "\r\n")
    )
    before = counts()
    workflow.save_draft(article, editor, messy, based_on=article.latest_revision)
    assert counts() == before


def test_approval_of_a_stale_revision_is_refused(article, editor, reviewer):
    workflow.submit(article, editor)
    seen = article.latest_revision
    workflow.withdraw(article, editor)
    workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, body="Different."), based_on=seen)
    workflow.submit(article, editor)
    before = counts()
    with pytest.raises(StaleVersion):
        workflow.approve(article, reviewer, revision=seen)
    assert counts() == before


def test_publish_refuses_content_that_no_longer_matches_its_hash(article, editor, reviewer):
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    # Simulate tampering below the application (append-only forbids it through the ORM).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE healthlib_revision SET content = %s WHERE id = %s",
            ['{"title": "x", "summary": "", "body": "tampered", "references": []}', article.latest_revision_id],
        )
    before = counts()
    with pytest.raises(ContentHashMismatch):
        workflow.publish(article, editor)
    assert counts() == before
    assert Article.objects.get(pk=article.pk).live_revision is None


@override_settings(HEALTHLIB={"REQUIRED_APPROVALS": 2})
def test_two_distinct_approvals_of_the_same_hash_are_required(article, editor, reviewer, reviewer2):
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    assert Article.objects.get(pk=article.pk).state == State.IN_REVIEW
    with pytest.raises(TransitionNotAllowed):
        workflow.publish(article, editor)
    with pytest.raises(AlreadyReviewed):
        workflow.approve(article, reviewer)
    workflow.approve(article, reviewer2)
    workflow.publish(article, editor)
    article.refresh_from_db()
    assert article.state == State.PUBLISHED
    assert [r["name"] for r in article.live_reviewers] == ["Reviewer", "Reviewer2"]


def test_raising_required_approvals_after_approval_blocks_publish(article, editor, reviewer):
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    with override_settings(HEALTHLIB={"REQUIRED_APPROVALS": 2}):
        with pytest.raises(TransitionNotAllowed, match="needs 2 approvals"):
            workflow.publish(article, editor)


@override_settings(HEALTHLIB={"REQUIRED_APPROVALS": 2})
def test_approvals_from_an_earlier_round_do_not_count(article, editor, reviewer, reviewer2):
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    workflow.withdraw(article, editor)
    workflow.submit(article, editor)
    workflow.approve(article, reviewer2)
    assert Article.objects.get(pk=article.pk).state == State.IN_REVIEW


def test_reviewer_who_wrote_an_earlier_draft_may_not_approve(editor, author_reviewer, reviewer):
    article = workflow.create_article(author_reviewer, slug="a", article_type="drug", content=ARTICLE_CONTENT)
    workflow.save_draft(
        article, editor, edited(ARTICLE_CONTENT, body="Editor polish."), based_on=article.latest_revision
    )
    workflow.submit(article, editor)
    with pytest.raises(ReviewerIsAuthor):
        workflow.approve(article, author_reviewer)
    workflow.approve(article, reviewer)


def test_reviewer_who_submitted_may_not_approve(article, author_reviewer, reviewer):
    workflow.submit(article, author_reviewer)
    with pytest.raises(ReviewerIsAuthor):
        workflow.approve(article, author_reviewer)
    assert not workflow.can(author_reviewer, "approve", article)
    assert workflow.can(reviewer, "approve", article)


def test_authors_of_earlier_published_versions_may_review_later_changes(editor, author_reviewer, reviewer):
    article = workflow.create_article(author_reviewer, slug="a", article_type="drug", content=ARTICLE_CONTENT)
    workflow.submit(article, author_reviewer)
    workflow.approve(article, reviewer)
    workflow.publish(article, editor)
    workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, body="Update."), based_on=article.latest_revision)
    workflow.submit(article, editor)
    workflow.approve(article, author_reviewer)  # they did not write this change
    assert Article.objects.get(pk=article.pk).state == State.APPROVED


def test_request_changes_needs_a_comment(article, editor, reviewer):
    workflow.submit(article, editor)
    before = counts()
    with pytest.raises(InvalidContent):
        workflow.request_changes(article, reviewer, comment="   ")
    assert counts() == before
    review = workflow.request_changes(article, reviewer, comment="Add the 2024 approval.")
    assert review.decision == Decision.CHANGES_REQUESTED
    assert Article.objects.get(pk=article.pk).state == State.CHANGES_REQUESTED


def test_submitting_a_copy_of_the_live_revision_is_refused(published_article, editor):
    first = published_article.latest_revision
    workflow.save_draft(published_article, editor, edited(ARTICLE_CONTENT, body="x"), based_on=first)
    workflow.restore(published_article, editor, revision=first, based_on=published_article.latest_revision)
    with pytest.raises(TransitionNotAllowed, match="identical to the live page"):
        workflow.submit(published_article, editor)


def test_reaffirm_moves_review_date_forward_and_recomputes_due(published_article, reviewer2):
    first = published_article.last_reviewed_at
    review = workflow.reaffirm(published_article, reviewer2, revision=published_article.live_revision)
    published_article.refresh_from_db()
    assert review.decision == Decision.REAFFIRMED
    assert published_article.last_reviewed_at == review.reviewed_at >= first
    assert published_article.live_reviewers == [{"name": "Reviewer2", "credentials": "PharmD"}]
    assert published_article.next_review_due == review.reviewed_at.date() + datetime.timedelta(days=365)


def test_reaffirm_is_refused_while_an_approved_revision_waits(published_article, editor, reviewer, reviewer2):
    workflow.save_draft(
        published_article, editor, edited(ARTICLE_CONTENT, body="x"), based_on=published_article.latest_revision
    )
    workflow.submit(published_article, editor)
    workflow.approve(published_article, reviewer)
    with pytest.raises(TransitionNotAllowed):
        workflow.reaffirm(published_article, reviewer2)


def test_review_interval_override_and_setting(published_article, editor):
    workflow.set_review_interval(published_article, editor, 30)
    published_article.refresh_from_db()
    assert published_article.next_review_due == published_article.last_reviewed_at.date() + datetime.timedelta(days=30)
    with pytest.raises(InvalidContent):
        workflow.set_review_interval(published_article, editor, 0)
    with override_settings(HEALTHLIB={"REVIEW_INTERVAL_DAYS": 90}):
        workflow.set_review_interval(published_article, editor, None)
        published_article.refresh_from_db()
        assert published_article.next_review_due == published_article.last_reviewed_at.date() + datetime.timedelta(90)


def test_last_reviewed_is_never_in_the_future(published_article):
    assert published_article.last_reviewed_at <= timezone.now()


def test_archive_hides_and_restore_brings_back_a_draft(published_article, editor, client):
    url = published_article.get_absolute_url()
    workflow.archive(published_article, editor, comment="Superseded.")
    assert client.get(url).status_code == 410  # it was live: gone, not unknown (tests/test_retired.py)
    published_article.refresh_from_db()
    assert published_article.live_revision is None and published_article.next_review_due is None
    revision = workflow.restore(
        published_article,
        editor,
        revision=published_article.latest_revision,
        based_on=published_article.latest_revision,
    )
    assert revision.based_on is not None
    assert Article.objects.get(pk=published_article.pk).state == State.DRAFT
    assert client.get(url).status_code == 404


def test_restore_refuses_a_revision_of_another_item(article, editor):
    other = workflow.create_article(editor, slug="other", article_type="drug", content=ARTICLE_CONTENT)
    with pytest.raises(InvalidContent):
        workflow.restore(article, editor, revision=other.latest_revision, based_on=article.latest_revision)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"title": ""}, "title"),
        ({"title": "Two\nlines"}, "title"),
        ({"references": [{"title": "x", "url": "javascript:alert(1)"}]}, "references[0].url"),
        ({"references": [{"title": "x", "year": 1200}]}, "references[0].year"),
        ({"references": [{"title": "x", "colour": "red"}]}, "references[0]"),
        ({"surprise": 1}, "content"),
        ({"body": "x" * 200_001}, "body"),
    ],
)
def test_invalid_content_is_refused_with_the_field_named(article, editor, change, field):
    before = counts()
    with pytest.raises(InvalidContent) as excinfo:
        workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, **change), based_on=article.latest_revision)
    assert field in excinfo.value.errors
    assert counts() == before


def test_duplicate_slug_is_refused(article, editor):
    with pytest.raises(InvalidContent, match="already exists"):
        workflow.create_article(editor, slug=article.slug, article_type="drug", content=ARTICLE_CONTENT)


def test_signals_are_sent_once_after_commit(article, editor, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, item, revision, user, event, review, **kwargs):
        received.append((sender, item.pk, revision.pk, user, event.action))

    signals.submitted.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            workflow.submit(article, editor)
        assert received == []  # nothing before commit
        for callback in callbacks:
            callback()
    finally:
        signals.submitted.disconnect(receiver)
    assert received == [(Article, article.pk, article.latest_revision_id, editor, "healthlib.submit")]


def test_failing_signal_receiver_does_not_undo_the_transition(article, editor, django_capture_on_commit_callbacks):
    def broken(**kwargs):
        raise RuntimeError("boom")

    signals.submitted.connect(broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            workflow.submit(article, editor)
    finally:
        signals.submitted.disconnect(broken)
    assert Article.objects.get(pk=article.pk).state == State.IN_REVIEW


def test_glossary_term_goes_through_the_same_workflow(editor, reviewer, client):
    base = {"term": "T cell", "short_definition": "A white blood cell that fights germs.", "full_definition": "More."}
    t_cell = workflow.create_glossary_term(editor, slug="t-cell", content=base)
    with pytest.raises(InvalidContent, match="Unknown glossary term"):
        workflow.create_glossary_term(
            editor, slug="b-cell", content={"term": "B cell", "short_definition": "x", "related_terms": ["nope"]}
        )
    b_cell = workflow.create_glossary_term(
        editor,
        slug="b-cell",
        content={"term": "B cell", "short_definition": "Makes antibodies.", "related_terms": ["t-cell"]},
    )
    assert client.get(t_cell.get_absolute_url()).status_code == 404
    for term in (t_cell, b_cell):
        workflow.submit(term, editor)
        workflow.approve(term, reviewer)
        workflow.publish(term, editor)
    page = client.get(b_cell.get_absolute_url())
    assert page.status_code == 200
    assert b"Makes antibodies." in page.content
    assert b"/health/glossary/t-cell/" in page.content
    assert b"Last reviewed on" in page.content
    assert GlossaryTerm.objects.get(pk=b_cell.pk).live_related_slugs == ["t-cell"]


@pytest.mark.parametrize("based_on", [None, 0])
def test_a_save_that_does_not_name_its_base_is_refused(article, editor, editor2, based_on):
    newer = workflow.save_draft(
        article, editor2, edited(ARTICLE_CONTENT, body="Newer"), based_on=article.latest_revision
    )
    before = counts()
    with pytest.raises(NoBaseRevision, match="which revision"):
        workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, body="Mine"), based_on=based_on)
    with pytest.raises(NoBaseRevision):
        workflow.restore(article, editor, revision=article.revisions.order_by("number").first(), based_on=based_on)
    assert counts() == before
    assert Article.objects.get(pk=article.pk).latest_revision == newer


def test_names_on_the_record_are_one_line(article, editor):
    """Names come from the site's user model, which healthlib does not validate, and from profiles saved
    without their form (approving needs a verified profile, whose display name is the reviewer's name)."""
    editor.first_name, editor.last_name = "Maria\nInjected", "Lopez\u2028\x07"
    editor.save()
    reviewer = make_user("multi", "Medical reviewers", credentials="MD")
    ReviewerProfile.objects.filter(user=reviewer).update(display_name="Ana\nInjected\u2029Ruiz\x07")
    reviewer = User.objects.get(pk=reviewer.pk)
    workflow.submit(article, editor)
    review = workflow.approve(article, reviewer)
    assert review.reviewer_name == "Ana Injected Ruiz"
    assert WorkflowEvent.objects.filter(action="healthlib.approve").get().actor_name == "Ana Injected Ruiz"
    assert WorkflowEvent.objects.filter(action="healthlib.submit").get().actor_name == "Maria Injected Lopez"


# ---------------------------------------------------------------- bad input at the limits: slugs


BAD_SLUGS = {
    "space and bang": "Bad Slug!",
    "too long": "a" * 201,
    "empty": "",
    "non-ascii": "ümlaut",
    "nul": "x\x00y",
    "dots and slashes": "../etc/passwd",
    "percent": "%00",
    "newline": "slug\n",
}


@pytest.mark.parametrize("slug", list(BAD_SLUGS.values()), ids=list(BAD_SLUGS))
def test_bad_article_slugs_are_invalid_content(editor, slug):
    with pytest.raises(InvalidContent) as refused:
        workflow.create_article(editor, slug=slug, article_type="treatment", content=ARTICLE_CONTENT)
    assert "slug" in refused.value.errors
    assert refused.value.status_code == 400
    assert nothing_written()


@pytest.mark.parametrize("slug", list(BAD_SLUGS.values()), ids=list(BAD_SLUGS))
def test_bad_term_slugs_are_invalid_content(editor, slug):
    with pytest.raises(InvalidContent) as refused:
        workflow.create_glossary_term(editor, slug=slug, content=TERM_CONTENT)
    assert "slug" in refused.value.errors
    assert nothing_written()


def test_longest_slug_is_accepted_and_unknown_article_type_refused(editor):
    article = workflow.create_article(editor, slug="a" * 200, article_type="treatment", content=ARTICLE_CONTENT)
    assert article.slug == "a" * 200
    with pytest.raises(InvalidContent) as refused:
        workflow.create_article(editor, slug="ok", article_type="nonsense", content=ARTICLE_CONTENT)
    assert "article_type" in refused.value.errors


# ---------------------------------------------------------------- bad input at the limits: a comment's size


def test_overlong_comment_is_invalid_content(article, editor):
    with pytest.raises(InvalidContent):
        workflow.submit(article, editor, comment="x" * (workflow.MAX_COMMENT + 1))


# ---------------------------------------------------------------- bad input at the limits: go-live times and review intervals


@pytest.fixture
def approved(article, editor, reviewer):
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    return Article.objects.get(pk=article.pk)


@pytest.mark.parametrize(
    "at",
    [
        datetime.datetime(2099, 1, 1, 9, 0),  # naive
        timezone.now() - datetime.timedelta(seconds=1),
        datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC),
        datetime.date(2099, 1, 1),
        "2099-01-01T09:00",
        None,
    ],
    ids=["naive", "just past", "epoch", "date only", "string", "none"],
)
def test_invalid_go_live_times_are_invalid_content(approved, editor, at):
    with pytest.raises(InvalidContent) as refused:
        workflow.schedule_publish(approved, editor, at=at)
    assert refused.value.errors.get("publish_at")
    assert Article.objects.get(pk=approved.pk).publish_at is None


@pytest.mark.parametrize("days", [0, -1, 3651, True, "30", 1.5])
def test_invalid_review_intervals_are_invalid_content(article, editor, days):
    with pytest.raises(InvalidContent):
        workflow.set_review_interval(article, editor, days)
