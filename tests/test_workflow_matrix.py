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

from healthlib import workflow
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
        return workflow.restore(article, actor, revision=first)
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
