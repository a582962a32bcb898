"""Workflow emails: who gets them, what they say, when they go out, and that mail failures never undo a change."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import transaction

from healthlib import workflow
from healthlib.models import Article, State
from tests.conftest import ARTICLE_CONTENT, edited, make_user


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (signals, emails) as if the test's transaction had committed."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def recipients() -> list[list[str]]:
    return [sorted(message.to) for message in mail.outbox]


def test_submit_emails_every_reviewer_but_the_contributors(article, editor, reviewer, reviewer2, superuser, commit):
    dual = make_user("dual", "Editors", "Medical reviewers", credentials="MD")
    make_user("quiet", "Medical reviewers")
    User.objects.filter(username="quiet").update(email="")
    gone = make_user("gone", "Medical reviewers")
    gone.is_active = False
    gone.save()
    workflow.save_draft(article, dual, edited(ARTICLE_CONTENT, body="Dual's edit."), based_on=article.latest_revision)
    with commit():
        workflow.submit(article, editor, comment="Updated the side effects.")
    [message] = mail.outbox
    # dual wrote a change in this revision, so may not review it; editors without the permission get nothing.
    assert sorted(message.to) == ["reviewer2@example.org", "reviewer@example.org", "root@example.org"]
    assert message.subject == "Review requested: Checkpoint inhibitors"
    assert 'editor submitted revision 2 of "Checkpoint inhibitors" for medical review.' in message.body
    assert "Updated the side effects." in message.body


def test_changes_requested_emails_owner_and_revision_author(article, editor, editor2, reviewer, commit):
    workflow.save_draft(
        article, editor2, edited(ARTICLE_CONTENT, body="Second draft."), based_on=article.latest_revision
    )
    workflow.submit(article, editor2)
    with commit():
        workflow.request_changes(article, reviewer, comment="Please cite the 2023 trial.")
    assert recipients() == [["editor2@example.org", "editor@example.org"]]
    [message] = mail.outbox
    assert message.subject == "Changes requested: Checkpoint inhibitors"
    assert 'Reviewer asked for changes to revision 2 of "Checkpoint inhibitors".' in message.body
    assert "Please cite the 2023 trial." in message.body


def test_approval_and_publication_email_the_owner_and_author(article, editor, reviewer, commit):
    workflow.submit(article, editor)
    with commit():
        workflow.approve(article, reviewer, comment="Accurate.")
    [approved] = mail.outbox
    assert approved.to == ["editor@example.org"]  # owner and author are the same person: one address
    assert approved.subject == "Approved: Checkpoint inhibitors"
    assert "It is ready to publish." in approved.body and "Accurate." in approved.body
    mail.outbox.clear()
    with commit():
        workflow.publish(article, editor)
    [published] = mail.outbox
    assert published.to == ["editor@example.org"]
    assert published.subject == "Published: Checkpoint inhibitors"
    assert "Readers now see it." in published.body


def test_other_transitions_send_nothing(article, editor, reviewer, reviewer2, commit):
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    workflow.publish(article, editor)
    with commit():
        workflow.reaffirm(article, reviewer2)
        workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, body="x"), based_on=article.latest_revision)
        workflow.archive(article, editor)
    assert mail.outbox == []


def test_emails_wait_for_the_commit(article, editor, reviewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        workflow.submit(article, editor)
    assert mail.outbox == []  # not committed yet
    assert callbacks
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1


def test_a_rolled_back_transition_sends_nothing(article, editor, reviewer, commit):
    with commit():
        try:
            with transaction.atomic():
                workflow.submit(article, editor)
                raise RuntimeError("something else failed")
        except RuntimeError:
            pass
    assert mail.outbox == []
    assert Article.objects.get(pk=article.pk).state == State.DRAFT


def test_inactive_owner_gets_nothing(article, editor, reviewer, commit):
    workflow.submit(article, editor)
    User.objects.filter(pk=editor.pk).update(is_active=False)
    with commit():
        workflow.approve(article, reviewer)
    assert mail.outbox == []


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_failing_mail_server_is_logged_and_the_transition_stays(
    article, editor, reviewer, email_backend, caplog, commit
):
    email_backend("tests.test_notifications.BrokenBackend")
    with caplog.at_level(logging.ERROR, logger="healthlib.notifications"), commit():
        workflow.submit(article, editor)
    assert Article.objects.get(pk=article.pk).state == State.IN_REVIEW
    assert article.events.filter(action="healthlib.submit").count() == 1
    assert "could not send the 'submitted' email" in caplog.text
    assert "mail server down" in caplog.text
    with commit():
        workflow.approve(article, reviewer)  # later transitions still work
    assert Article.objects.get(pk=article.pk).state == State.APPROVED


def test_templates_can_be_overridden(article, editor, reviewer, tmp_path, settings, commit):
    folder = tmp_path / "healthlib" / "email"
    folder.mkdir(parents=True)
    (folder / "submitted_subject.txt").write_text("[Oncology] {{ item.title }}\n")
    (folder / "submitted_body.txt").write_text("Please review revision {{ revision.number }}.")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    with commit():
        workflow.submit(article, editor)
    [message] = mail.outbox
    assert (message.subject, message.body) == ("[Oncology] Checkpoint inhibitors", "Please review revision 1.")


@pytest.mark.parametrize(
    "email_from, expected", [(None, "webmaster@localhost"), ("news@example.org", "news@example.org")]
)
def test_sender_follows_the_setting(article, editor, reviewer, settings, commit, email_from, expected):
    settings.HEALTHLIB = {"EMAIL_FROM": email_from}
    with commit():
        workflow.submit(article, editor)
    assert mail.outbox[0].from_email == expected
