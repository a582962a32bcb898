"""Workflow emails: who gets them, what they say, when they go out, and that mail failures never undo a change."""

from __future__ import annotations

import datetime
import io
import logging

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from healthlib import notifications, tasks, workflow
from healthlib.models import Article, OutgoingEmail, State
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
    with commit():
        workflow.submit(article, editor2)
    mail.outbox.clear()
    with commit():
        workflow.request_changes(article, reviewer, comment="Please cite the 2023 trial.")
    assert recipients() == [["editor2@example.org", "editor@example.org"]]
    [message] = mail.outbox
    assert message.subject == "Changes requested: Checkpoint inhibitors"
    assert 'Reviewer asked for changes to revision 2 of "Checkpoint inhibitors".' in message.body
    assert "Please cite the 2023 trial." in message.body


def test_approval_and_publication_email_the_owner_and_author(article, editor, reviewer, commit):
    with commit():
        workflow.submit(article, editor)
    mail.outbox.clear()
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
    with commit():
        workflow.submit(article, editor)
        workflow.approve(article, reviewer)
        workflow.publish(article, editor)
    mail.outbox.clear()
    recorded = OutgoingEmail.objects.count()
    with commit():
        workflow.reaffirm(article, reviewer2)
        workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, body="x"), based_on=article.latest_revision)
        workflow.archive(article, editor)
    assert mail.outbox == []
    assert OutgoingEmail.objects.count() == recorded


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


# ---------------------------------------------------------------- the outbox: durable, once, retried


class KilledAfter:
    """A mail server connection whose process is killed (KeyboardInterrupt: nothing catches it) at the
    ``n``-th message, before (``accepted=False``) or after the server accepted it."""

    sent: list = []

    def __init__(self, n: int, accepted: bool = False):
        self.n, self.accepted, self.count = n, accepted, 0

    def send_messages(self, messages):
        self.count += 1
        if self.count == self.n and not self.accepted:
            raise KeyboardInterrupt
        KilledAfter.sent.extend(messages)
        if self.count == self.n:
            raise KeyboardInterrupt
        return len(messages)


def pending_emails(n: int) -> list[OutgoingEmail]:
    emails = [
        notifications.render("submitted", [f"r{i}@example.org"], {"item": {"title": f"T{i}"}}, key=f"test:{i}")
        for i in range(n)
    ]
    notifications.record(emails, announce=False)
    return list(OutgoingEmail.objects.order_by("pk"))


def test_the_email_is_recorded_in_the_transition_and_lost_with_a_rollback(article, editor, reviewer, commit):
    with commit():
        try:
            with transaction.atomic():
                workflow.submit(article, editor)
                event = article.events.get(action="healthlib.submit")
                row = OutgoingEmail.objects.get()
                # Recorded in the transition's transaction, rendered, not sent before the commit.
                assert row.key == f"healthlib.submit:event={event.pk}"
                assert row.recipients == ["reviewer@example.org"] and row.sent_at is None
                assert row.subject == "Review requested: Checkpoint inhibitors"
                assert mail.outbox == []
                raise RuntimeError("something else failed")
        except RuntimeError:
            pass
    assert not OutgoingEmail.objects.exists()
    assert notifications.send_pending().sent == [] and mail.outbox == []


def test_an_email_is_sent_once_after_the_commit_and_never_again(article, editor, reviewer, commit):
    with commit():
        workflow.submit(article, editor)
    [message] = mail.outbox
    row = OutgoingEmail.objects.get()
    assert row.sent_at is not None and row.attempts == 0
    # A retried task, a second worker, a cron run: nothing is sent twice.
    tasks.send_emails.enqueue()
    assert notifications.send_pending().sent == []
    call_command("healthlib_send_emails", stdout=io.StringIO())
    # The same event told again is not recorded again.
    again = notifications.render("submitted", ["x@example.org"], {"item": article}, key=row.key)
    assert notifications.record([again]) == []
    assert len(mail.outbox) == 1 and OutgoingEmail.objects.count() == 1
    assert message.to == ["reviewer@example.org"]


def test_a_failing_mail_server_keeps_the_email_with_its_error_and_the_retry_sends_it(
    article, editor, reviewer, email_backend, admin_client, commit, settings
):
    tests_backend = settings.MAILERS if hasattr(settings, "MAILERS") else settings.EMAIL_BACKEND
    email_backend("tests.test_notifications.BrokenBackend")
    with commit():
        workflow.submit(article, editor)
    row = OutgoingEmail.objects.get()
    assert (row.sent_at, row.attempts) == (None, 1)
    assert "ConnectionRefusedError: mail server down" in row.last_error
    assert row.next_attempt_at > timezone.now()
    # Failing again: the attempts grow, and the wait doubles.
    result = tasks.send_emails.enqueue()  # waits for its backoff: not tried
    assert result.status == "SUCCESSFUL" and OutgoingEmail.objects.get().attempts == 1
    first_wait = row.next_attempt_at - timezone.now()
    outcome = notifications.send_pending(now=row.next_attempt_at)
    assert outcome.failed == [row.pk] and outcome.errors == ["mail server down"]
    row.refresh_from_db()
    assert row.attempts == 2 and row.next_attempt_at - timezone.now() > first_wait
    url = "/admin/healthlib/outgoingemail/"
    failed = admin_client.get(url + "?status=failed").content.decode()
    assert "Review requested: Checkpoint inhibitors" in failed and "mail server down" in failed
    assert "Review requested" not in admin_client.get(url + "?status=sent").content.decode()
    # The server is back: the next run after the backoff sends it, once.
    if hasattr(settings, "MAILERS"):
        settings.MAILERS = tests_backend
    else:
        settings.EMAIL_BACKEND = tests_backend
    assert notifications.send_pending().sent == []  # not due yet
    assert notifications.send_pending(now=row.next_attempt_at).sent == [row.pk]
    assert notifications.send_pending(now=row.next_attempt_at).sent == []
    assert len(mail.outbox) == 1
    assert "Review requested" in admin_client.get(url + "?status=sent").content.decode()
    assert "Review requested" not in admin_client.get(url + "?status=failed").content.decode()


def test_the_admin_lists_emails_read_only(admin_client):
    row = pending_emails(1)[0]
    url = "/admin/healthlib/outgoingemail/"
    pending = admin_client.get(url + "?status=pending").content.decode()
    assert "r0@example.org" in pending
    assert admin_client.get(url + "add/").status_code == 403
    page = admin_client.get(url + f"{row.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client.post(url + f"{row.pk}/change/", {}).status_code == 403


def test_editors_do_not_see_the_outbox(client, editor):
    client.force_login(editor)
    assert client.get("/admin/healthlib/outgoingemail/").status_code == 403


def test_a_run_killed_mid_way_is_finished_by_the_next_and_sends_nothing_twice(db, email_backend):
    rows = pending_emails(3)
    KilledAfter.sent = []
    with pytest.raises(KeyboardInterrupt):
        notifications._send_one(KilledAfter(1, accepted=False), rows[0].pk, notifications.Outcome())
    outcome = notifications.Outcome()
    connection = KilledAfter(2, accepted=False)
    with pytest.raises(KeyboardInterrupt):
        for row in rows:
            notifications._send_one(connection, row.pk, outcome)
    # The first was sent and marked; the second was being sent when the process died: still pending.
    assert [to for m in KilledAfter.sent for to in m.to] == ["r0@example.org"]
    assert list(notifications.pending().values_list("pk", flat=True)) == [rows[1].pk, rows[2].pk]
    assert notifications.send_pending().sent == [rows[1].pk, rows[2].pk]
    assert sorted(to for m in mail.outbox for to in m.to) == ["r1@example.org", "r2@example.org"]
    assert not notifications.pending().exists()


def test_the_at_least_once_edge_a_death_after_the_server_accepted_sends_that_one_again(db):
    """Documented, not wished for: SMTP has no idempotency key, so an email the server accepted just
    before the process died is sent again by the next run (a duplicate, never a loss)."""
    [row] = pending_emails(1)
    KilledAfter.sent = []
    with pytest.raises(KeyboardInterrupt):
        notifications._send_one(KilledAfter(1, accepted=True), row.pk, notifications.Outcome())
    assert len(KilledAfter.sent) == 1
    assert notifications.send_pending().sent == [row.pk]
    assert len(mail.outbox) == 1


def test_sent_rows_are_kept_for_a_while_then_pruned(db):
    [row] = pending_emails(1)
    notifications.send_pending()
    notifications.send_pending(now=timezone.now() + notifications.KEEP_SENT - datetime.timedelta(minutes=1))
    assert OutgoingEmail.objects.filter(pk=row.pk).exists()
    notifications.send_pending(now=timezone.now() + notifications.KEEP_SENT + datetime.timedelta(minutes=1))
    assert not OutgoingEmail.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_with_the_database_backend_a_failed_run_is_retried_later(editor, reviewer, email_backend):
    from django_tasks_db.models import DBTaskResult

    pending_emails(1)
    email_backend("tests.test_notifications.BrokenBackend")
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        tasks.send_emails.enqueue()
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
        runs = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert [run.status for run in runs] == ["FAILED", "READY"]
    assert "EmailsFailed" in runs[0].exception_class_path
    assert runs[1].run_after == OutgoingEmail.objects.get().next_attempt_at  # deferred to the backoff
