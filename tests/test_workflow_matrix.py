"""Every transition x every source state x every actor.

The expectations below are written out as a specification (who holds which permission,
which action is allowed from which state), independently of healthlib.workflow's own table.
Allowed actions must succeed with the right outcome; forbidden ones must raise the specific
error and leave the database exactly as it was.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from healthlib import content_files, workflow
from healthlib.exceptions import ChecklistFailed, NotPermitted, ReviewerIsAuthor, TransitionNotAllowed
from healthlib.models import Article, Review, Revision, WorkflowEvent
from tests.conftest import ARTICLE_CONTENT, edited, make_user

EDIT, REVIEW, PUBLISH = "edit", "review", "publish"
ACTOR_PERMISSIONS = {
    "editor": {EDIT, PUBLISH},
    "reviewer": {REVIEW},
    "author": {EDIT, PUBLISH, REVIEW},  # wrote every revision of the item under test
    "nobody": set(),
    "anonymous": set(),
    "superuser": {EDIT, PUBLISH, REVIEW},
}
ACTION_PERMISSION = {
    "save_draft": EDIT,
    "submit": EDIT,
    "withdraw": EDIT,
    "request_changes": REVIEW,
    "approve": REVIEW,
    "publish": PUBLISH,
    "schedule_publish": PUBLISH,
    "cancel_schedule": PUBLISH,
    "reaffirm": REVIEW,
    "archive": PUBLISH,
    "restore": EDIT,
    "set_review_interval": EDIT,
}
# Source states: "draft_live" is a new draft of a published article; "scheduled" is approved with a go-live time.
ALLOWED_FROM = {
    "save_draft": {"draft", "draft_live", "changes_requested", "approved", "scheduled", "published"},
    "submit": {"draft", "draft_live", "changes_requested"},
    "withdraw": {"in_review"},
    "request_changes": {"in_review"},
    "approve": {"in_review"},
    "publish": {"approved", "scheduled"},
    "schedule_publish": {"approved", "scheduled"},
    "cancel_schedule": {"scheduled"},
    "reaffirm": {"published", "draft_live"},
    "archive": {"draft", "draft_live", "in_review", "changes_requested", "approved", "scheduled", "published"},
    "restore": {"draft", "draft_live", "changes_requested", "approved", "scheduled", "published", "archived"},
    "set_review_interval": {
        "draft",
        "draft_live",
        "in_review",
        "changes_requested",
        "approved",
        "scheduled",
        "published",
        "archived",
    },
}
JUDGING = {"approve", "request_changes", "reaffirm"}  # the author may never do these
# The default pre-publish checklist requires a new revision after a reviewer asked for changes,
# so resubmitting the very revision that was sent back is refused although the state allows it.
CHECKLIST_BLOCKS = {("submit", "changes_requested")}
RESULT_STATE = {
    "save_draft": "draft",
    "submit": "in_review",
    "withdraw": "draft",
    "request_changes": "changes_requested",
    "approve": "approved",
    "publish": "published",
    "schedule_publish": "approved",
    "cancel_schedule": "approved",
    "archive": "archived",
    "restore": "draft",
}
SOURCE_STATES = [
    "draft", "draft_live", "in_review", "changes_requested", "approved", "scheduled", "published", "archived"
]  # fmt: skip
TOMORROW = datetime.timedelta(days=1)
EVENT_ACTION = {"schedule_publish": "healthlib.schedule"}  # audit names that differ from the function name


def build(state: str, author, other_reviewer) -> Article:
    article = workflow.create_article(author, slug="item", article_type="treatment", content=ARTICLE_CONTENT)
    if state == "draft":
        return article
    workflow.submit(article, author)
    if state == "in_review":
        return article
    if state == "changes_requested":
        workflow.request_changes(article, other_reviewer, comment="Please cite a source.")
        return article
    workflow.approve(article, other_reviewer)
    if state == "approved":
        return article
    if state == "scheduled":
        workflow.schedule_publish(article, author, at=timezone.now() + TOMORROW)
        return article
    workflow.publish(article, author)
    if state == "published":
        return article
    if state == "draft_live":
        workflow.save_draft(
            article, author, edited(ARTICLE_CONTENT, summary="New summary."), based_on=article.latest_revision
        )
        return article
    workflow.archive(article, author)
    return article


def perform(action: str, article: Article, actor):
    if action == "save_draft":
        return workflow.save_draft(
            article, actor, edited(ARTICLE_CONTENT, body="Changed body."), based_on=article.latest_revision
        )
    if action == "request_changes":
        return workflow.request_changes(article, actor, comment="Needs a better source.")
    if action == "restore":
        first = article.revisions.order_by("number").first()
        return workflow.restore(article, actor, revision=first, based_on=article.latest_revision)
    if action == "set_review_interval":
        return workflow.set_review_interval(article, actor, 90)
    if action == "schedule_publish":
        return workflow.schedule_publish(article, actor, at=timezone.now() + 2 * TOMORROW)
    return getattr(workflow, action)(article, actor)


def snapshot(article: Article) -> dict:
    article = Article.objects.get(pk=article.pk)
    return {
        "fields": {
            f.attname: getattr(article, f.attname)
            for f in Article._meta.concrete_fields
            if f.attname not in ("updated_at",)
        },
        "revisions": Revision.objects.count(),
        "reviews": Review.objects.count(),
        "events": WorkflowEvent.objects.count(),
    }


def expected_error(action: str, state: str, actor_name: str):
    if ACTION_PERMISSION[action] not in ACTOR_PERMISSIONS[actor_name]:
        return NotPermitted
    if state not in ALLOWED_FROM[action]:
        return TransitionNotAllowed
    if action in JUDGING and actor_name == "author":
        return ReviewerIsAuthor
    if (action, state) in CHECKLIST_BLOCKS:
        return ChecklistFailed
    return None


@pytest.fixture
def actors(db, editor, reviewer, author_reviewer, nobody, anonymous):
    # Everyone who may judge content has verified credentials here (the superuser too): this matrix is about
    # states and permissions. Refusals for missing or lapsed verifications are in test_credentials.py.
    superuser = make_user("root", superuser=True, credentials="MD")
    return {
        "editor": editor,
        "reviewer": reviewer,
        "author": author_reviewer,
        "nobody": nobody,
        "anonymous": anonymous,
        "superuser": superuser,
    }


@pytest.mark.parametrize("actor_name", list(ACTOR_PERMISSIONS))
@pytest.mark.parametrize("state", SOURCE_STATES)
@pytest.mark.parametrize("action", list(ACTION_PERMISSION))
def test_transition_matrix(action, state, actor_name, actors, reviewer2):
    article = build(state, actors["author"], reviewer2)
    actor = actors[actor_name]
    error = expected_error(action, state, actor_name)
    before = snapshot(article)
    if error is not None:
        with pytest.raises(error) as excinfo:
            perform(action, article, actor)
        assert str(excinfo.value)  # a message a person can read
        assert snapshot(article) == before
        # can() answers for state and permission; the checklist is about content and is shown separately.
        assert workflow.can(actor, action, Article.objects.get(pk=article.pk)) is (error is ChecklistFailed)
        return
    assert workflow.can(actor, action, Article.objects.get(pk=article.pk)) is True
    perform(action, article, actor)
    after = Article.objects.get(pk=article.pk)
    assert after.state == RESULT_STATE.get(action, before["fields"]["state"])
    assert WorkflowEvent.objects.count() == before["events"] + 1
    event = WorkflowEvent.objects.latest("id")
    assert event.action == EVENT_ACTION.get(action, f"healthlib.{action}")
    assert event.from_state == before["fields"]["state"]
    assert event.to_state == after.state
    assert event.actor_id == actor.pk


@pytest.mark.parametrize(
    "action,state", [("approve", "in_review"), ("request_changes", "in_review"), ("reaffirm", "published")]
)
def test_superuser_may_not_judge_own_work(action, state, reviewer2, db):
    root = make_user("boss", superuser=True, credentials="MD")
    article = build(state, root, reviewer2)
    before = snapshot(article)
    with pytest.raises(ReviewerIsAuthor):
        perform(action, article, root)
    assert snapshot(article) == before


# ---------------------------------------------------------------- where a revision's text comes from
#
# Reviewer independence is judged against the authors of the *text* (DESIGN.md, invariant 7). Each
# origin below makes the latest revision repeat, word for word, text that ``judge`` wrote and that no
# independent reviewer approved as this revision: the judge must not approve it, ask for changes, or
# (once an independent reviewer has approved and published it) reaffirm it.

JUDGES = ["dual", "superuser"]
R_TEXT = edited(ARTICLE_CONTENT, body="## Overview\n\nThe judge's own words about T cells.")
S_TEXT = edited(ARTICLE_CONTENT, body="## Overview\n\nAn editor's replacement text.")


def _publish_s(article, editor, reviewer2):
    """An editor replaces R with S, which an independent reviewer approves and the editor publishes."""
    workflow.save_draft(article, editor, S_TEXT, based_on=article.latest_revision)
    workflow.submit(article, editor)
    workflow.approve(article, reviewer2)
    workflow.publish(article, editor)


def _restore_r(article, editor):
    first = article.revisions.order_by("number").first()
    workflow.restore(article, editor, revision=first, based_on=article.latest_revision)


def origin_restore(judge, editor, reviewer2, tmp_path):
    article = workflow.create_article(judge, slug="item", article_type="treatment", content=R_TEXT)
    _publish_s(article, editor, reviewer2)
    _restore_r(article, editor)
    return article


def origin_restore_after_archive(judge, editor, reviewer2, tmp_path):
    article = workflow.create_article(judge, slug="item", article_type="treatment", content=R_TEXT)
    _publish_s(article, editor, reviewer2)
    workflow.archive(article, editor)
    _restore_r(article, editor)
    return article


def origin_restore_of_a_restore(judge, editor, reviewer2, tmp_path):
    article = origin_restore(judge, editor, reviewer2, tmp_path)
    workflow.save_draft(article, editor, S_TEXT, based_on=article.latest_revision)
    restored = article.revisions.order_by("-number")[1]
    workflow.restore(article, editor, revision=restored, based_on=article.latest_revision)
    return article


def origin_pasted_back(judge, editor, reviewer2, tmp_path):
    article = workflow.create_article(judge, slug="item", article_type="treatment", content=R_TEXT)
    _publish_s(article, editor, reviewer2)
    workflow.save_draft(article, editor, R_TEXT, based_on=article.latest_revision)
    return article


def origin_edit_of_an_unpublished_draft(judge, editor, reviewer2, tmp_path):
    article = workflow.create_article(judge, slug="item", article_type="treatment", content=R_TEXT)
    workflow.save_draft(
        article, editor, edited(R_TEXT, summary="An editor's summary."), based_on=article.latest_revision
    )
    return article


def origin_unchanged_save(judge, editor, reviewer2, tmp_path):
    article = workflow.create_article(judge, slug="item", article_type="treatment", content=R_TEXT)
    assert workflow.save_draft(article, editor, R_TEXT, based_on=article.latest_revision).created_by == judge
    return article


def origin_import_of_an_export(judge, editor, reviewer2, tmp_path):
    article = workflow.create_article(judge, slug="item", article_type="treatment", content=R_TEXT)
    content_files.export_folder(tmp_path, latest=True)
    _publish_s(article, editor, reviewer2)
    content_files.import_folder(tmp_path, editor)
    return Article.objects.get(pk=article.pk)


def origin_copy_into_a_new_item(judge, editor, reviewer2, tmp_path):
    workflow.create_article(judge, slug="original", article_type="treatment", content=R_TEXT)
    return workflow.create_article(editor, slug="item", article_type="treatment", content=R_TEXT)


def origin_import_as_a_new_item(judge, editor, reviewer2, tmp_path):
    workflow.create_article(judge, slug="item", article_type="treatment", content=R_TEXT)
    content_files.export_folder(tmp_path, latest=True)
    (tmp_path / "articles" / "item.md").rename(tmp_path / "articles" / "copy.md")
    text = (tmp_path / "articles" / "copy.md").read_text().replace("slug: item", "slug: copy")
    (tmp_path / "articles" / "copy.md").write_text(text)
    content_files.import_folder(tmp_path, editor)
    return Article.objects.get(slug="copy")


ORIGINS = {name.removeprefix("origin_"): fn for name, fn in list(globals().items()) if name.startswith("origin_")}


@pytest.fixture
def judges(author_reviewer, superuser):
    return {"dual": author_reviewer, "superuser": superuser}


@pytest.mark.parametrize("judge_name", JUDGES)
@pytest.mark.parametrize("origin", list(ORIGINS))
def test_text_keeps_its_authors_whatever_its_origin(origin, judge_name, judges, editor, reviewer, reviewer2, tmp_path):
    judge = judges[judge_name]
    article = ORIGINS[origin](judge, editor, reviewer2, tmp_path)
    assert Article.objects.get(pk=article.pk).latest_revision.content["body"] == R_TEXT["body"]
    workflow.submit(article, editor)
    assert judge.pk in workflow.contributors(article, Article.objects.get(pk=article.pk).latest_revision)
    for action in ("approve", "request_changes"):
        before = snapshot(article)
        with pytest.raises(ReviewerIsAuthor):
            perform(action, article, judge)
        assert snapshot(article) == before
        assert workflow.can(judge, action, Article.objects.get(pk=article.pk)) is False
    # An independent reviewer may, and then the live text is still the judge's: no reaffirming it either.
    workflow.approve(article, reviewer)
    workflow.publish(article, editor)
    before = snapshot(article)
    with pytest.raises(ReviewerIsAuthor):
        perform("reaffirm", article, judge)
    assert snapshot(article) == before
