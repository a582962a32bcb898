"""healthlib.admin.actions: the workflow's buttons per role and state, and the endpoint they post to."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django.urls import reverse

from healthlib import workflow
from healthlib.models import Article, Review, State
from tests.admin_pages import (
    LINK,
    SCHEDULE,
    _clear_cache,  # noqa: F401 (an autouse fixture: the presence notices live in the cache)
    action_url,
    approved,
    change_url,
    form_data,
    in_review,
    messages_of,
    shown_actions,
    snapshot,
)
from tests.conftest import ARTICLE_CONTENT, edited

# ---------------------------------------------------------------- buttons per role


def test_buttons_on_a_draft(client, article, editor, reviewer, author_reviewer):
    client.force_login(editor)
    assert shown_actions(client, article) == {"submit", "archive"} | LINK
    client.force_login(reviewer)
    assert shown_actions(client, article) == set()
    client.force_login(author_reviewer)
    assert shown_actions(client, article) == {"submit", "archive"} | LINK


def test_buttons_in_review(client, article, editor, reviewer, author_reviewer):
    in_review(article, editor)
    client.force_login(editor)
    assert shown_actions(client, article) == {"withdraw", "archive"} | LINK
    client.force_login(reviewer)
    assert shown_actions(client, article) == {"approve", "request_changes"}
    client.force_login(author_reviewer)  # an editor-reviewer who did not write it may review it
    assert shown_actions(client, article) == {"withdraw", "approve", "request_changes", "archive"} | LINK


def test_author_reviewer_sees_no_approve_button_on_own_work(client, author_reviewer, reviewer):
    article = workflow.create_article(author_reviewer, slug="own", article_type="drug", content=ARTICLE_CONTENT)
    in_review(article, author_reviewer)
    client.force_login(author_reviewer)
    assert {"approve", "request_changes"}.isdisjoint(shown_actions(client, article))
    page = client.get(reverse("admin:healthlib_reviewqueue_review", args=[article.pk]))
    assert b'data-action="approve"' not in page.content
    assert "another medical reviewer must decide" in page.content.decode()


def test_buttons_when_approved_and_published(client, article, editor, reviewer):
    approved(article, editor, reviewer)
    client.force_login(editor)
    assert shown_actions(client, article) == {"publish", "archive"} | SCHEDULE | LINK
    workflow.publish(article, editor)
    client.force_login(editor)
    assert shown_actions(client, article) == {"archive"} | LINK
    client.force_login(reviewer)
    assert shown_actions(client, article) == {"reaffirm"}


@override_settings(HEALTHLIB={"REQUIRED_APPROVALS": 2})
def test_first_of_two_approvals_says_another_is_needed(client, article, editor, reviewer):
    in_review(article, editor)
    client.force_login(reviewer)
    response = client.post(
        action_url(article, "approve"), {"revision": article.latest_revision_id, "change_summary": "New"}, follow=True
    )
    assert any("Another medical reviewer must also approve revision 1" in m for m in messages_of(response))
    article.refresh_from_db()
    assert article.state == State.IN_REVIEW


def test_buttons_when_archived(client, article, editor):
    workflow.archive(article, editor)
    client.force_login(editor)
    assert shown_actions(client, article) == {"restore"} | LINK


# ---------------------------------------------------------------- actions


def test_submit_approve_publish_through_the_admin(client, article, editor, reviewer):
    client.force_login(editor)
    response = client.post(action_url(article, "submit"), {"revision": article.latest_revision_id}, follow=True)
    assert "Submitted for medical review." in messages_of(response)
    article.refresh_from_db()
    assert article.state == State.IN_REVIEW

    client.force_login(reviewer)
    response = client.post(
        action_url(article, "approve"),
        {"revision": article.latest_revision_id, "comment": "Accurate.", "change_summary": "First version"},
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.state == State.APPROVED
    assert Review.objects.get().comment == "Accurate."

    client.force_login(editor)
    client.post(action_url(article, "publish"), {"revision": article.latest_revision_id})
    article.refresh_from_db()
    assert article.state == State.PUBLISHED
    assert article.live_revision_id == article.latest_revision_id


@pytest.mark.parametrize(
    ("who", "action", "setup"),
    [
        ("reviewer", "submit", None),
        ("reviewer", "archive", None),
        ("editor", "approve", "in_review"),
        ("editor", "request_changes", "in_review"),
        ("reviewer", "publish", "approved"),
        ("editor", "reaffirm", "published"),
        ("reviewer", "restore", None),
    ],
)
def test_direct_post_by_wrong_role_is_403_and_changes_nothing(client, article, editor, reviewer, who, action, setup):
    if setup == "in_review":
        in_review(article, editor)
    elif setup == "approved":
        approved(article, editor, reviewer)
    elif setup == "published":
        approved(article, editor, reviewer)
        workflow.publish(article, editor)
    before = snapshot(article)
    client.force_login({"editor": editor, "reviewer": reviewer}[who])
    revision = article.live_revision_id if action == "reaffirm" else article.latest_revision_id
    response = client.post(action_url(article, action), {"revision": revision, "comment": "x"})
    assert response.status_code == 403
    assert "permission" in response.content.decode()
    assert snapshot(article) == before


def test_crafted_approve_by_the_author_reviewer_is_403(client, author_reviewer, reviewer):
    article = workflow.create_article(author_reviewer, slug="own", article_type="drug", content=ARTICLE_CONTENT)
    in_review(article, author_reviewer)
    before = snapshot(article)
    client.force_login(author_reviewer)
    response = client.post(action_url(article, "approve"), {"revision": article.latest_revision_id})
    assert response.status_code == 403
    assert "another medical reviewer must approve it" in response.content.decode()
    assert snapshot(article) == before


def test_user_without_admin_access_cannot_post(client, article, nobody):
    before = snapshot(article)
    client.force_login(nobody)
    response = client.post(action_url(article, "submit"), {"revision": article.latest_revision_id})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert snapshot(article) == before


def test_action_needs_post_and_csrf(article, editor):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    assert client.get(action_url(article, "submit")).status_code == 405
    before = snapshot(article)
    assert client.post(action_url(article, "submit"), {"revision": article.latest_revision_id}).status_code == 403
    assert snapshot(article) == before


def test_unknown_action_is_404(client, article, editor):
    client.force_login(editor)
    assert client.post(action_url(article, "delete_everything"), {}).status_code == 404


def test_refused_action_shows_the_reason_and_changes_nothing(client, article, editor):
    client.force_login(editor)
    before = snapshot(article)
    response = client.post(action_url(article, "publish"), {"revision": article.latest_revision_id}, follow=True)
    assert response.redirect_chain[-1] == (change_url(article), 302)
    [message] = messages_of(response)
    assert "Cannot publish" in message and "draft" in message
    assert snapshot(article) == before


def test_refused_action_answers_409_to_json_clients(client, article, editor):
    client.force_login(editor)
    before = snapshot(article)
    response = client.post(
        action_url(article, "publish"), {"revision": article.latest_revision_id}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 409
    assert "Cannot publish" in response.json()["error"]
    assert snapshot(article) == before


def test_approving_a_revision_that_changed_since_is_refused(client, article, editor, reviewer):
    seen = article.latest_revision_id
    workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, title="Newer"), based_on=seen)
    in_review(article, editor)
    before = snapshot(article)
    client.force_login(reviewer)
    response = client.post(action_url(article, "approve"), {"revision": seen, "change_summary": "New"}, follow=True)
    [message] = messages_of(response)
    assert "changed while you were looking at it" in message
    assert snapshot(article) == before
    response = client.post(
        action_url(article, "approve"), {"revision": seen, "change_summary": "New"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 409


def test_request_changes_needs_a_comment(client, article, editor, reviewer):
    in_review(article, editor)
    before = snapshot(article)
    client.force_login(reviewer)
    response = client.post(
        action_url(article, "request_changes"), {"revision": article.latest_revision_id, "comment": "  "}, follow=True
    )
    assert any("comment is required" in m for m in messages_of(response))
    assert snapshot(article) == before
    client.post(
        action_url(article, "request_changes"), {"revision": article.latest_revision_id, "comment": "Cite a trial."}
    )
    article.refresh_from_db()
    assert article.state == State.CHANGES_REQUESTED
    client.force_login(editor)
    page = client.get(change_url(article))
    assert "Cite a trial." in page.content.decode()


def test_action_without_the_revision_seen_is_refused(client, article, editor):
    client.force_login(editor)
    before = snapshot(article)
    response = client.post(action_url(article, "submit"), {}, follow=True)
    assert any("which revision" in m for m in messages_of(response))
    assert snapshot(article) == before


def test_archive_and_restore(client, article, editor):
    client.force_login(editor)
    client.post(action_url(article, "archive"), {"comment": "Out of date."})
    article.refresh_from_db()
    assert article.state == State.ARCHIVED
    client.post(
        action_url(article, "restore"),
        {"revision": article.latest_revision_id, "based_on": article.latest_revision_id},
    )
    article.refresh_from_db()
    assert article.state == State.DRAFT
    assert article.latest_revision.number == 2


def test_next_parameter_must_be_local(client, article, editor):
    client.force_login(editor)
    response = client.post(
        action_url(article, "submit"), {"revision": article.latest_revision_id, "next": "https://evil.example/"}
    )
    assert response["Location"] == change_url(article)


# ---------------------------------------------------------------- scheduling and review links


def test_schedule_and_cancel_through_the_admin(client, article, editor, reviewer):
    approved(article, editor, reviewer)
    client.force_login(editor)
    past = client.post(
        action_url(article, "schedule"),
        {"revision": article.latest_revision_id, "publish_at": "2000-01-01T09:00"},
        follow=True,
    )
    assert any("future" in m for m in messages_of(past))
    article.refresh_from_db()
    assert article.publish_at is None
    response = client.post(
        action_url(article, "schedule"), {"revision": article.latest_revision_id, "publish_at": "2099-06-01T09:30"}
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.publish_at.isoformat() == "2099-06-01T09:30:00+00:00"
    assert "cancel_schedule" in shown_actions(client, article)
    client.post(action_url(article, "cancel_schedule"), {})
    article.refresh_from_db()
    assert article.publish_at is None and article.state == State.APPROVED


def test_reviewer_cannot_schedule(client, article, editor, reviewer):
    approved(article, editor, reviewer)
    client.force_login(reviewer)
    response = client.post(
        action_url(article, "schedule"), {"revision": article.latest_revision_id, "publish_at": "2099-06-01T09:30"}
    )
    assert response.status_code == 403
    article.refresh_from_db()
    assert article.publish_at is None


@pytest.mark.skipif(not LINK, reason="healthlib.preview_links is not there yet")
def test_review_link_is_created_by_editors_only(client, article, editor, reviewer):
    client.force_login(editor)
    response = client.post(
        action_url(article, "review_link"),
        {"revision": article.latest_revision_id, "expires_in_days": "7"},
        follow=True,
    )
    [message] = messages_of(response)
    link = re.search(r"href='(http://testserver/[^']+)'", message).group(1)
    client.logout()
    page = client.get(link.removeprefix("http://testserver"))
    assert page.status_code == 200
    assert b"These drugs help T cells attack cancer." in page.content
    client.force_login(reviewer)
    response = client.post(action_url(article, "review_link"), {"revision": article.latest_revision_id})
    assert response.status_code == 403
    client.force_login(editor)
    response = client.post(
        action_url(article, "review_link"), {"revision": article.latest_revision_id, "expires_in_days": "365"}
    )
    assert response.status_code == 302  # refused by the form, with a message; no link created


# ---------------------------------------------------------------- the authors of restored text (issue 17, finding 2)


def test_restored_text_cannot_be_judged_by_its_author_through_the_admin(
    client, editor, reviewer, reviewer2, author_reviewer
):
    """A reviewer writes R; an editor replaces it and publishes the replacement; the editor restores R."""
    dual = author_reviewer
    r_content = edited(ARTICLE_CONTENT, body="## Overview\n\nWords the dual-role user wrote.")
    article = workflow.create_article(dual, slug="restored", article_type="treatment", content=r_content)
    r = article.latest_revision
    client.force_login(editor)
    assert client.post(change_url(article), form_data(article, body="An editor's replacement.")).status_code == 302
    article.refresh_from_db()
    assert client.post(action_url(article, "submit"), {"revision": article.latest_revision_id}).status_code == 302
    client.force_login(reviewer)
    approval = {"revision": article.latest_revision_id, "change_summary": "Replaced the text"}
    assert client.post(action_url(article, "approve"), approval).status_code == 302
    client.force_login(editor)
    assert client.post(action_url(article, "publish"), {"revision": article.latest_revision_id}).status_code == 302
    article.refresh_from_db()
    assert article.state == State.PUBLISHED
    client.post(action_url(article, "restore"), {"revision": r.pk, "based_on": article.latest_revision_id})
    article.refresh_from_db()
    assert article.latest_revision.content_hash == r.content_hash
    assert client.post(action_url(article, "submit"), {"revision": article.latest_revision_id}).status_code == 302
    article.refresh_from_db()
    assert article.state == State.IN_REVIEW

    client.force_login(dual)
    assert article.pk not in [
        e.pk for e in client.get(reverse("admin:healthlib_reviewqueue_changelist")).context["entries"]
    ]
    page = client.get(reverse("admin:healthlib_reviewqueue_review", args=[article.pk]))
    assert page.context["contributed"] is True and page.context["can_approve"] is False
    assert "approve" not in shown_actions(client, article)
    before = snapshot(article)
    for action, data in [("approve", {}), ("request_changes", {"comment": "Looks fine to me."})]:
        response = client.post(action_url(article, action), {"revision": article.latest_revision_id, **data})
        assert response.status_code == 403
        assert "another medical reviewer" in response.content.decode()
        response = client.post(
            action_url(article, action),
            {"revision": article.latest_revision_id, **data},
            HTTP_ACCEPT="application/json",
        )
        assert response.status_code == 403
    assert snapshot(article) == before
    # Someone who did not write it may.
    client.force_login(reviewer2)
    assert (
        client.post(
            action_url(article, "approve"), {"revision": article.latest_revision_id, "change_summary": "Restored"}
        ).status_code
        == 302
    )
    article.refresh_from_db()
    assert article.state == State.APPROVED


# ---------------------------------------------------------------- saves must name their base (issue 17, finding 5)


@pytest.mark.parametrize("based_on", [None, "", "0"])
def test_restore_without_its_base_is_refused(client, published_article, editor, based_on):
    first = published_article.latest_revision
    workflow.save_draft(published_article, editor, edited(ARTICLE_CONTENT, body="x"), based_on=first)
    client.force_login(editor)
    data = {"revision": first.pk}
    if based_on is not None:
        data["based_on"] = based_on
    before = snapshot(published_article)
    response = client.post(action_url(published_article, "restore"), data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert "which revision" in response.json()["error"]
    assert snapshot(published_article) == before


# ---------------------------------------------------------------- a bad go-live time (from bad input at the limits)


@pytest.fixture
def approved_article(article, editor, reviewer):
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    return Article.objects.get(pk=article.pk)


@pytest.mark.parametrize("value", ["2000-01-01T09:00", "not a date", "2099-02-30T09:00", "9999999-01-01T00:00", "\x00"])
def test_admin_schedule_with_a_bad_time_is_refused_without_a_500(client, approved_article, editor, value):
    client.force_login(editor)
    client.raise_request_exception = False
    url = reverse("admin:healthlib_article_workflow", args=[approved_article.pk, "schedule"])
    response = client.post(url, {"revision": approved_article.latest_revision_id, "publish_at": value})
    assert response.status_code in (302, 400)
    assert Article.objects.get(pk=approved_article.pk).publish_at is None
