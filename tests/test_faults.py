"""Faults: a crash inside a transition, a failing mail server, an error at COMMIT, a process killed mid-import.

Each test checks the same promise: the change is applied completely or not at all, and the
failure is logged where staff see it (logs, the cron command's exit status and output).
These tests use real transactions (``transaction=True``) so that commits and rollbacks are the
database's, not test savepoints.
"""

from __future__ import annotations

import datetime
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connection, connections
from django.utils import timezone

from healthlib import publishing, workflow
from healthlib.models import Article, ContentItem, GlossaryTerm, Review, Revision, State, WorkflowEvent
from tests.conftest import ARTICLE_CONTENT, edited
from tests.db_process import counts
from tests.test_content_files_sync import tricky_folder
from tests.test_data_safety import ROOT, migrated_db_file, run_process  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_page_cache():
    # Reader pages cached by an earlier test would otherwise answer for this test's database.
    from django.core.cache import cache

    cache.clear()


class Boom(RuntimeError):
    pass


def boom(*args, **kwargs):
    raise Boom("injected fault")


def snapshot(item) -> tuple:
    """Every stored column of the item, and how many revisions, reviews and events exist."""
    model = type(item)
    row = model.objects.filter(pk=item.pk).values(*[f.attname for f in model._meta.concrete_fields]).get()
    row.pop("updated_at")
    return (
        row,
        sorted(item.topics.values_list("pk", flat=True)) if model is Article else [],
        Revision.objects.count(),
        Review.objects.count(),
        WorkflowEvent.objects.count(),
    )


@pytest.fixture
def in_review(article, editor):
    workflow.submit(article, editor)
    return Article.objects.get(pk=article.pk)


@pytest.fixture
def approved(in_review, reviewer):
    workflow.approve(in_review, reviewer)
    return Article.objects.get(pk=in_review.pk)


@pytest.fixture
def live(published_article, editor):
    """Published, with a newer draft being written."""
    workflow.save_draft(
        published_article, editor, edited(ARTICLE_CONTENT, body="## New\n\nDraft text."),
        based_on=published_article.latest_revision,
    )  # fmt: skip
    return Article.objects.get(pk=published_article.pk)


# name -> (fixture, call). Each call changes the item row before the audit event is written.
TRANSITIONS = {
    "save_draft": (
        "article",
        lambda a, u: workflow.save_draft(a, u["editor"], edited(ARTICLE_CONTENT, body="X"), based_on=a.latest_revision),
    ),
    "submit": ("article", lambda a, u: workflow.submit(a, u["editor"])),
    "approve": ("in_review", lambda a, u: workflow.approve(a, u["reviewer"])),
    "request_changes": ("in_review", lambda a, u: workflow.request_changes(a, u["reviewer"], comment="Fix it.")),
    "publish": ("approved", lambda a, u: workflow.publish(a, u["editor"])),
    "reaffirm": ("live", lambda a, u: workflow.reaffirm(a, u["reviewer"])),
    "archive": ("live", lambda a, u: workflow.archive(a, u["editor"])),
    "restore": (
        "live",
        lambda a, u: workflow.restore(a, u["editor"], revision=a.live_revision, based_on=a.latest_revision),
    ),
}


@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_a_crash_writing_the_audit_event_applies_nothing(request, monkeypatch, editor, reviewer, client, name):
    fixture, call = TRANSITIONS[name]
    item = request.getfixturevalue(fixture)
    before = snapshot(item)
    sent = len(mail.outbox)
    page_before = client.get(f"/health/articles/{item.slug}/")
    monkeypatch.setattr(WorkflowEvent, "save", boom)
    with pytest.raises(Boom):
        call(Article.objects.get(pk=item.pk), {"editor": editor, "reviewer": reviewer})
    monkeypatch.undo()
    assert snapshot(item) == before
    page_after = client.get(f"/health/articles/{item.slug}/")
    assert page_after.status_code == page_before.status_code
    assert page_after.content == page_before.content
    assert len(mail.outbox) == sent  # no signal, no email for a change that did not happen


def test_a_crash_rendering_the_live_page_leaves_the_old_page_live(live, editor, reviewer2, monkeypatch, client):
    workflow.submit(live, editor)
    workflow.approve(live, reviewer2)
    item = Article.objects.get(pk=live.pk)
    before = snapshot(item)
    page = client.get(item.get_absolute_url()).content
    monkeypatch.setattr(publishing, "set_live_content", boom)
    with pytest.raises(Boom):
        workflow.publish(item, editor)
    monkeypatch.undo()
    assert snapshot(item) == before
    assert client.get(item.get_absolute_url()).content == page
    workflow.publish(item, editor)  # and once the fault is gone, the same publish works
    assert b"Draft text." in client.get(item.get_absolute_url()).content


def test_a_crash_after_the_review_row_was_written_removes_the_review(in_review, reviewer, monkeypatch):
    """approve writes the Review, changes the state, saves the item: a failure at the last step undoes all."""
    before = snapshot(in_review)
    original_save = ContentItem.save

    def save_then_fail(self, *args, **kwargs):
        original_save(self, *args, **kwargs)
        raise Boom("after the row was saved")

    monkeypatch.setattr(ContentItem, "save", save_then_fail)
    with pytest.raises(Boom):
        workflow.approve(in_review, reviewer)
    monkeypatch.undo()
    assert snapshot(in_review) == before
    assert Article.objects.get(pk=in_review.pk).state == State.IN_REVIEW


def test_an_error_at_commit_writes_nothing(approved, editor, monkeypatch, client):
    """A deferred foreign-key constraint fails at COMMIT itself (both SQLite and PostgreSQL check
    Django's foreign keys at commit): the database refuses the whole transaction."""
    before = snapshot(approved)
    sent = len(mail.outbox)
    original = publishing.set_live_content

    def plant_a_dangling_reference(item, revision):
        original(item, revision)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Article.topics.through._meta.db_table} (article_id, topic_id) VALUES (%s, %s)",
                [item.pk, 987654321],
            )

    monkeypatch.setattr(publishing, "set_live_content", plant_a_dangling_reference)
    with pytest.raises(IntegrityError):
        workflow.publish(approved, editor)
    monkeypatch.undo()
    assert snapshot(approved) == before
    assert client.get(approved.get_absolute_url()).status_code == 404
    assert len(mail.outbox) == sent  # on-commit work (signals, emails) never ran


def test_a_failing_commit_call_writes_nothing(approved, editor, monkeypatch):
    """The connection dies at the moment of COMMIT (simulated): the transaction is rolled back."""
    before = snapshot(approved)
    wrapper = connections[DEFAULT_DB_ALIAS]

    def failing_commit():
        raise DatabaseError("server closed the connection unexpectedly")

    monkeypatch.setattr(wrapper, "commit", failing_commit)
    with pytest.raises(DatabaseError):
        workflow.publish(approved, editor)
    monkeypatch.undo()
    # Django's atomic() rolled the open transaction back when COMMIT failed.
    assert not wrapper.in_atomic_block
    assert snapshot(approved) == before


def test_a_failing_mail_server_keeps_the_transition_and_logs_the_error(
    article, editor, reviewer, email_backend, caplog
):
    # A real SMTP connection to a port where nothing listens.
    email_backend("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=9, timeout=2)
    with caplog.at_level(logging.ERROR, logger="healthlib"):
        workflow.submit(article, editor)
    assert Article.objects.get(pk=article.pk).state == State.IN_REVIEW
    assert WorkflowEvent.objects.filter(item=article, action="healthlib.submit").count() == 1
    failures = [r for r in caplog.records if r.name == "healthlib.notifications" and r.levelno == logging.ERROR]
    assert len(failures) == 1
    assert "submitted" in failures[0].getMessage() and "reviewer@example.org" in failures[0].getMessage()
    assert failures[0].exc_info is not None  # the traceback reaches the log handlers (e.g. mail_admins, Sentry)


def test_a_crash_in_a_scheduled_publish_is_logged_reported_and_leaves_it_scheduled(
    approved, editor, monkeypatch, caplog, capsys
):
    workflow.schedule_publish(approved, editor, at=timezone.now() + datetime.timedelta(hours=1))
    ContentItem.objects.filter(pk=approved.pk).update(publish_at=timezone.now() - datetime.timedelta(minutes=1))
    before = snapshot(approved)
    monkeypatch.setattr(publishing, "set_live_content", boom)
    with caplog.at_level(logging.WARNING, logger="healthlib"), pytest.raises(SystemExit) as exit:
        call_command("healthlib_publish_scheduled")
    assert exit.value.code == 1  # cron mails a failing job's output to its owner
    assert "Not published: “Checkpoint inhibitors”" in capsys.readouterr().err
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records if r.name == "healthlib.scheduling")
    assert snapshot(approved) == before  # still approved and scheduled: the next run tries again
    monkeypatch.undo()
    call_command("healthlib_publish_scheduled")
    assert Article.objects.get(pk=approved.pk).state == State.PUBLISHED


# ---------------------------------------------------------------- a killed process


def test_an_import_killed_mid_way_leaves_nothing_and_a_rerun_imports_everything(tmp_path, migrated_db_file):  # noqa: F811
    db_file = tmp_path / "library.sqlite3"
    shutil.copy(migrated_db_file, db_file)
    folder = tricky_folder(tmp_path / "content")
    marker = tmp_path / "three-created"
    env = {**os.environ, "HEALTHLIB_TEST_SQLITE_FILE": str(db_file), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env.pop("HEALTHLIB_TEST_DB", None)
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "db_process.py"), "import-and-hang", str(folder), "3", str(marker)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while not marker.exists():  # wait for the import to be mid-way (3 of 5 items written)
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the import never got mid-way"
            time.sleep(0.05)
        # The import's transaction is open and has written rows: the journal says so.
        assert Path(f"{db_file}-journal").exists() or Path(f"{db_file}-wal").exists()
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    nothing = {"ContentItem": 0, "Review": 0, "Revision": 0, "Topic": 0, "WorkflowEvent": 0}
    import json

    assert json.loads(run_process("counts", db_file=db_file).stdout) == nothing
    run_process("import", str(folder), db_file=db_file)
    everything = json.loads(run_process("counts", db_file=db_file).stdout)
    assert everything == {"ContentItem": 5, "Review": 0, "Revision": 5, "Topic": 2, "WorkflowEvent": 5}


def test_counts_helper_matches_the_orm(article):
    assert counts()["ContentItem"] == ContentItem.objects.count() == 1
    assert GlossaryTerm.objects.count() == 0
