"""Scheduled publishing: the schedule/cancel transitions, publish_due and its cron command."""

from __future__ import annotations

import datetime
import io
import logging

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from healthlib import tasks, workflow
from healthlib.exceptions import InvalidContent, NotPermitted, StaleVersion, TransitionNotAllowed
from healthlib.models import Article, ContentItem, OutgoingEmail, State, WorkflowEvent
from healthlib.scheduling import publish_due
from tests.conftest import ARTICLE_CONTENT, edited

HOUR = datetime.timedelta(hours=1)
DATABASE_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def approved(article, editor, reviewer):
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    return Article.objects.get(pk=article.pk)


@pytest.fixture
def scheduled(approved, editor):
    workflow.schedule_publish(approved, editor, at=timezone.now() + HOUR)
    return Article.objects.get(pk=approved.pk)


def make_due(item) -> None:
    ContentItem.objects.filter(pk=item.pk).update(publish_at=timezone.now() - datetime.timedelta(minutes=1))


def run_command(name: str, capsys) -> tuple[int, str, str]:
    try:
        call_command(name)
        code = 0
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def test_schedule_sets_time_scheduler_and_one_event(approved, editor):
    at = timezone.now() + 2 * HOUR
    events = WorkflowEvent.objects.count()
    workflow.schedule_publish(approved, editor, at=at, revision=approved.latest_revision)
    fresh = Article.objects.get(pk=approved.pk)
    assert (fresh.state, fresh.publish_at, fresh.scheduled_by) == (State.APPROVED, at, editor)
    assert fresh.live_revision is None
    assert WorkflowEvent.objects.count() == events + 1
    event = WorkflowEvent.objects.latest("id")
    assert (event.action, event.from_state, event.to_state, event.actor) == (
        "healthlib.schedule",
        State.APPROVED,
        State.APPROVED,
        editor,
    )
    assert approved.publish_at == at  # the caller's instance is refreshed


def test_rescheduling_moves_the_time(scheduled, editor2):
    later = timezone.now() + 5 * HOUR
    workflow.schedule_publish(scheduled, editor2, at=later)
    fresh = Article.objects.get(pk=scheduled.pk)
    assert (fresh.publish_at, fresh.scheduled_by) == (later, editor2)


@pytest.mark.parametrize(
    "at",
    [
        datetime.datetime(2099, 1, 1, 9, 0),  # naive: which 9 o'clock?
        "2099-01-01T09:00:00Z",
        None,
    ],
)
def test_go_live_time_needs_a_time_zone(approved, editor, at):
    events = WorkflowEvent.objects.count()
    with pytest.raises(InvalidContent, match="time zone") as excinfo:
        workflow.schedule_publish(approved, editor, at=at)
    assert "publish_at" in excinfo.value.errors
    assert Article.objects.get(pk=approved.pk).publish_at is None
    assert WorkflowEvent.objects.count() == events


@pytest.mark.parametrize("delta", [datetime.timedelta(0), -HOUR])
def test_go_live_time_must_be_in_the_future(approved, editor, delta):
    with pytest.raises(InvalidContent, match="future"):
        workflow.schedule_publish(approved, editor, at=timezone.now() + delta)
    assert Article.objects.get(pk=approved.pk).publish_at is None


def test_only_approved_items_by_publishers(article, editor, reviewer, approved):
    draft = workflow.create_article(editor, slug="draft", article_type="drug", content=ARTICLE_CONTENT)
    with pytest.raises(TransitionNotAllowed):
        workflow.schedule_publish(draft, editor, at=timezone.now() + HOUR)
    with pytest.raises(NotPermitted):
        workflow.schedule_publish(approved, reviewer, at=timezone.now() + HOUR)
    assert not ContentItem.objects.filter(publish_at__isnull=False).exists()


def test_schedule_refuses_a_stale_revision(approved, editor):
    with pytest.raises(StaleVersion):
        workflow.schedule_publish(approved, editor, at=timezone.now() + HOUR, revision=approved.latest_revision_id + 1)


def test_schedule_applies_the_checklist(approved, editor):
    with override_settings(HEALTHLIB={"READABILITY_TARGET_GRADE": 1.0, "CHECKLIST": {"readability": "required"}}):
        with pytest.raises(TransitionNotAllowed, match="grade"):
            workflow.schedule_publish(approved, editor, at=timezone.now() + HOUR)
    assert Article.objects.get(pk=approved.pk).publish_at is None


def test_cancel_clears_the_schedule_with_one_event(scheduled, editor, reviewer):
    assert "cancel_schedule" in [t.name for t in workflow.available_actions(editor, scheduled)]
    with pytest.raises(NotPermitted):
        workflow.cancel_schedule(scheduled, reviewer)
    workflow.cancel_schedule(scheduled, editor)
    fresh = Article.objects.get(pk=scheduled.pk)
    assert (fresh.state, fresh.publish_at, fresh.scheduled_by) == (State.APPROVED, None, None)
    assert WorkflowEvent.objects.latest("id").action == "healthlib.cancel_schedule"
    assert "cancel_schedule" not in [t.name for t in workflow.available_actions(editor, fresh)]
    with pytest.raises(TransitionNotAllowed, match="not scheduled"):
        workflow.cancel_schedule(fresh, editor)


def test_saving_a_new_draft_drops_the_schedule(scheduled, editor):
    workflow.save_draft(
        scheduled, editor, edited(ARTICLE_CONTENT, body="Late fix."), based_on=scheduled.latest_revision
    )
    fresh = Article.objects.get(pk=scheduled.pk)
    assert fresh.state == State.DRAFT and fresh.publish_at is None
    assert publish_due(timezone.now() + 2 * HOUR) == []


def test_publish_due_publishes_in_the_schedulers_name_once(scheduled, editor, django_capture_on_commit_callbacks):
    assert publish_due(timezone.now()) == []  # not yet
    assert Article.objects.get(pk=scheduled.pk).state == State.APPROVED
    with django_capture_on_commit_callbacks(execute=True):
        published = publish_due(timezone.now() + 2 * HOUR)
    assert [item.pk for item in published] == [scheduled.pk]
    assert published.skipped == []
    fresh = Article.objects.get(pk=scheduled.pk)
    assert fresh.state == State.PUBLISHED
    assert fresh.live_revision == fresh.latest_revision
    assert fresh.publish_at is None
    event = WorkflowEvent.objects.latest("id")
    assert (event.action, event.actor) == ("healthlib.publish", editor)
    # Idempotent: running again (or a second cron run) publishes nothing and writes nothing.
    events = WorkflowEvent.objects.count()
    assert publish_due(timezone.now() + 3 * HOUR) == []
    assert WorkflowEvent.objects.count() == events
    assert WorkflowEvent.objects.filter(item=scheduled, action="healthlib.publish").count() == 1


def test_publish_due_takes_only_what_is_due_earliest_first(editor, reviewer):
    now = timezone.now()
    items = []
    for n, offset in enumerate([3, 1, 5]):
        article = workflow.create_article(editor, slug=f"a{n}", article_type="drug", content=ARTICLE_CONTENT)
        workflow.submit(article, editor)
        workflow.approve(article, reviewer)
        workflow.schedule_publish(article, editor, at=now + offset * HOUR)
        items.append(article)
    published = publish_due(now + 4 * HOUR)
    assert [item.pk for item in published] == [items[1].pk, items[0].pk]
    assert Article.objects.get(pk=items[2].pk).state == State.APPROVED


def test_scheduler_who_lost_the_permission_is_skipped_and_reported(scheduled, editor, caplog):
    editor.groups.clear()
    with caplog.at_level(logging.WARNING, logger="healthlib.scheduling"):
        published = publish_due(timezone.now() + 2 * HOUR)
    assert published == []
    [(item, reason)] = published.skipped
    assert item.pk == scheduled.pk and "permission" in reason
    assert "could not publish scheduled item" in caplog.text
    fresh = Article.objects.get(pk=scheduled.pk)
    assert fresh.state == State.APPROVED and fresh.publish_at is not None  # left for an editor to handle


def test_deleted_scheduler_is_skipped_and_reported(scheduled, editor):
    editor.delete()
    published = publish_due(timezone.now() + 2 * HOUR)
    assert published == []
    assert "no longer has an account" in published.skipped[0][1]
    assert Article.objects.get(pk=scheduled.pk).state == State.APPROVED


def test_deactivated_scheduler_is_skipped(scheduled, editor):
    editor.is_active = False
    editor.save()
    assert "no longer active" in publish_due(timezone.now() + 2 * HOUR).skipped[0][1]


def test_one_skipped_item_does_not_stop_the_others(scheduled, editor, editor2, reviewer):
    other = workflow.create_article(editor2, slug="other", article_type="drug", content=ARTICLE_CONTENT)
    workflow.submit(other, editor2)
    workflow.approve(other, reviewer)
    workflow.schedule_publish(other, editor2, at=timezone.now() + HOUR)
    editor.groups.clear()
    published = publish_due(timezone.now() + 2 * HOUR)
    assert [item.pk for item in published] == [other.pk]
    assert [item.pk for item, _ in published.skipped] == [scheduled.pk]


def test_command_prints_what_it_published(scheduled, capsys):
    make_due(scheduled)
    code, out, err = run_command("healthlib_publish_scheduled", capsys)
    assert code == 0 and err == ""
    assert "Published “Checkpoint inhibitors” (revision 1)" in out
    assert Article.objects.get(pk=scheduled.pk).state == State.PUBLISHED
    code, out, err = run_command("healthlib_publish_scheduled", capsys)
    assert (code, out.strip()) == (0, "Nothing is due.")


def test_command_exits_1_when_something_due_was_not_published(scheduled, editor, capsys):
    make_due(scheduled)
    editor.groups.clear()
    code, out, err = run_command("healthlib_publish_scheduled", capsys)
    assert code == 1
    assert "Not published: “Checkpoint inhibitors”" in err


# ---------------------------------------------------------------- the task (healthlib.tasks.publish_scheduled)


def publish_events(item) -> int:
    return WorkflowEvent.objects.filter(item=item, action="healthlib.publish").count()


def test_the_task_publishes_once_however_often_it_runs(scheduled, editor, django_capture_on_commit_callbacks):
    make_due(scheduled)
    with django_capture_on_commit_callbacks(execute=True):
        first = tasks.publish_scheduled.enqueue()
        second = tasks.publish_scheduled.enqueue()
    assert first.return_value == {"published": [scheduled.pk]}
    assert second.return_value == {"published": []}
    assert Article.objects.get(pk=scheduled.pk).state == State.PUBLISHED
    assert publish_events(scheduled) == 1
    # Its "published" email was recorded once, with the publish, and sent once.
    assert OutgoingEmail.objects.filter(name="published").count() == 1
    # (The fixture's submit and approve did not commit: their emails went out with this commit.)
    assert [m.subject for m in mail.outbox].count("Published: Checkpoint inhibitors") == 1


def test_a_run_killed_mid_way_is_finished_by_the_next(scheduled, editor, editor2, reviewer, monkeypatch):
    other = workflow.create_article(editor2, slug="other", article_type="drug", content=ARTICLE_CONTENT)
    workflow.submit(other, editor2)
    workflow.approve(other, reviewer)
    workflow.schedule_publish(other, editor2, at=timezone.now() + 2 * HOUR)
    for item in (scheduled, other):
        make_due(item)
    original = workflow.publish
    calls = []

    def killed_at_the_second(item, user, **kwargs):
        calls.append(item.pk)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the worker dies: nothing in the process catches it
        return original(item, user, **kwargs)

    monkeypatch.setattr(workflow, "publish", killed_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        tasks.publish_scheduled.call()
    states = dict(Article.objects.filter(pk__in=[scheduled.pk, other.pk]).values_list("pk", "state"))
    assert sorted(states.values()) == [State.APPROVED, State.PUBLISHED]
    monkeypatch.setattr(workflow, "publish", original)
    assert len(tasks.publish_scheduled.call()["published"]) == 1
    for item in (scheduled, other):
        assert Article.objects.get(pk=item.pk).state == State.PUBLISHED
        assert publish_events(item) == 1


def test_a_skipped_item_fails_the_task_with_its_reason(scheduled, editor):
    make_due(scheduled)
    editor.groups.clear()
    result = tasks.publish_scheduled.enqueue()
    assert result.status == "FAILED"
    assert "ScheduledItemsSkipped" in result.errors[0].exception_class_path
    assert "permission" in result.errors[0].traceback
    assert Article.objects.get(pk=scheduled.pk).state == State.APPROVED


@pytest.mark.django_db(transaction=True)
def test_the_command_hands_the_run_to_the_worker_and_scheduling_defers_a_run(editor, reviewer):
    from django_tasks_db.models import DBTaskResult

    article = workflow.create_article(editor, slug="a", article_type="drug", content=ARTICLE_CONTENT)
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    with override_settings(TASKS=DATABASE_BACKEND):
        at = timezone.now() + HOUR
        workflow.schedule_publish(article, editor, at=at)
        # On a backend that can defer, a run waits for the go-live time (cron stays the safety net).
        [deferred] = DBTaskResult.objects.all()
        assert deferred.task_path.endswith("publish_scheduled") and deferred.run_after == at
        make_due(article)
        call_command("healthlib_publish_scheduled", "--enqueue", stdout=io.StringIO())
        assert Article.objects.get(pk=article.pk).state == State.APPROVED  # queued, not done
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert Article.objects.get(pk=article.pk).state == State.PUBLISHED
    assert publish_events(article) == 1
