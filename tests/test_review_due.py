"""The review-due report, the healthlib_review_due command, its reminders and exit codes."""

from __future__ import annotations

import datetime
import io

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from healthlib import notifications, review_due, tasks, workflow
from healthlib.models import Article, ContentItem, Decision, OutgoingEmail, Review, Revision, State, content_hash
from tests.conftest import ARTICLE_CONTENT, edited, make_user

DAY = datetime.timedelta(days=1)


def live_article(editor, reviewer, slug: str, due_in_days: int | None = None) -> Article:
    article = workflow.create_article(
        editor, slug=slug, article_type="drug", content=edited(ARTICLE_CONTENT, title=slug.replace("-", " ").title())
    )
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    workflow.publish(article, editor)
    if due_in_days is not None:
        ContentItem.objects.filter(pk=article.pk).update(
            next_review_due=timezone.localdate() + datetime.timedelta(days=due_in_days)
        )
    return Article.objects.get(pk=article.pk)


def run(capsys, *args) -> tuple[int, str, str]:
    try:
        call_command("healthlib_review_due", *args)
        code = 0
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def section(out: str, title: str) -> str:
    """The lines of one section of the command's output."""
    start = out.index(title)
    end = out.find("\n\n", start)
    return out[start : end if end != -1 else None]


@pytest.fixture
def library(editor, reviewer):
    items = {
        "overdue": live_article(editor, reviewer, "long-overdue", -10),
        "today": live_article(editor, reviewer, "due-today", 0),
        "soon": live_article(editor, reviewer, "due-in-thirty", 30),
        "later": live_article(editor, reviewer, "due-in-31", 31),
    }
    ContentItem.objects.filter(pk=items["later"].pk).update(last_reviewed_at=timezone.now() - 40 * DAY)
    return items


def pks(queryset) -> list[int]:
    return [item.pk for item in queryset]


def test_report_sorts_live_items_into_sections(library, editor, reviewer):
    draft = workflow.create_article(editor, slug="draft", article_type="drug", content=ARTICLE_CONTENT)
    archived = live_article(editor, reviewer, "archived", -5)
    workflow.archive(archived, editor)
    result = review_due.report()
    assert result.today == timezone.localdate()
    assert pks(result.overdue) == [library["overdue"].pk]
    assert pks(result.due_soon) == [library["today"].pk, library["soon"].pk]
    assert set(pks(result.recently_reviewed)) == {library[k].pk for k in ("overdue", "today", "soon")}
    assert draft.pk not in pks(result.recently_reviewed)
    assert result.has_overdue
    assert list(result.scheduled) == []


def test_a_new_draft_of_live_content_is_still_due(library, editor):
    item = library["overdue"]
    workflow.save_draft(item, editor, edited(ARTICLE_CONTENT, body="Being updated."), based_on=item.latest_revision)
    assert Article.objects.get(pk=item.pk).state == State.DRAFT
    assert pks(review_due.report().overdue) == [item.pk]


def test_report_windows_are_parameters(library):
    result = review_due.report(today=timezone.localdate() + 31 * DAY, soon_days=5, recent_days=100)
    assert pks(result.overdue) == [library["overdue"].pk, library["today"].pk, library["soon"].pk]
    assert pks(result.due_soon) == [library["later"].pk]
    assert len(result.recently_reviewed) == 4
    assert not review_due.report(today=timezone.localdate() - 20 * DAY).has_overdue


def test_scheduled_lists_approved_items_with_a_go_live_time(article, editor, reviewer):
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    at = timezone.now() + DAY
    workflow.schedule_publish(article, editor, at=at)
    [item] = review_due.report().scheduled
    assert (item.pk, item.publish_at, item.scheduled_by) == (article.pk, at, editor)


def bulk_live(n: int, owner, reviewer) -> None:
    """n live articles written straight to the database (fast), half overdue, half due soon."""
    today = timezone.localdate()
    for i in range(n):
        article = Article.objects.create(
            slug=f"bulk-{i}",
            article_type="drug",
            title=f"Bulk {i}",
            owner=owner,
            state=State.PUBLISHED,
            last_reviewed_at=timezone.now() - DAY,
            next_review_due=today + datetime.timedelta(days=-1 if i % 2 else 5),
            publish_at=None,
        )
        revision = Revision.objects.create(
            item=article,
            number=1,
            title=article.title,
            content=ARTICLE_CONTENT,
            content_hash=content_hash(ARTICLE_CONTENT),
            created_by=owner,
            created_by_name="Editor",
        )
        Review.objects.create(
            revision=revision,
            content_hash=revision.content_hash,
            decision=Decision.APPROVED,
            reviewer=reviewer,
            reviewer_name="Reviewer",
        )
        ContentItem.objects.filter(pk=article.pk).update(live_revision=revision, latest_revision=revision)


@pytest.mark.parametrize("rows", [10, 200])
def test_query_count_does_not_grow_with_rows(rows, editor, reviewer, django_assert_max_num_queries, capsys):
    bulk_live(rows, editor, reviewer)
    with django_assert_max_num_queries(6):
        result = review_due.report()
        sections = [list(result.overdue), list(result.due_soon), list(result.recently_reviewed), list(result.scheduled)]
        for items in sections:
            for item in items:
                (item.owner, item.specific().slug, item.live_revision.number)
        people = review_due.responsible_people([*sections[0], *sections[1]])
    assert len(sections[0]) + len(sections[1]) == rows
    assert {person.pk: len(items) for person, items in people.items()} == {editor.pk: rows, reviewer.pk: rows}
    with django_assert_max_num_queries(8):
        code, out, _ = run(capsys, "--email", "--dry-run")
    assert code == 1
    assert out.count("Bulk ") >= rows


def test_command_prints_each_section(library, capsys):
    code, out, err = run(capsys)
    assert err == ""
    assert out.startswith(f"Review dates on {timezone.localdate().isoformat()}")
    overdue = section(out, "Overdue (1)")
    assert "Long Overdue" in overdue and (timezone.localdate() - 10 * DAY).isoformat() in overdue
    assert "Article" in overdue and "editor" in overdue and "Reviewer, MD" in overdue
    soon = section(out, "Due within 30 days (2)")
    assert soon.index("Due Today") < soon.index("Due In Thirty")
    assert "Due In 31" not in soon
    assert "Long Overdue" in section(out, "Reviewed in the last 30 days (3)")
    assert "(none)" in section(out, "Scheduled to publish (0)")


def test_exit_code_is_1_when_anything_is_overdue(library, capsys):
    assert run(capsys)[0] == 1
    assert run(capsys, "--dry-run")[0] == 1
    ContentItem.objects.filter(pk=library["overdue"].pk).update(next_review_due=timezone.localdate())
    code, out, _ = run(capsys)
    assert code == 0
    assert "(none)" in section(out, "Overdue (0)")


def test_exit_code_is_0_on_an_empty_library(db, capsys):
    code, out, _ = run(capsys, "--email")
    assert code == 0
    assert "Sent 0 reminder(s)." in out
    assert mail.outbox == []


def test_email_sends_one_reminder_per_responsible_person(library, editor, reviewer, reviewer2, editor2, capsys):
    live_article(editor2, reviewer2, "other-owner", -3)
    code, out, _ = run(capsys, "--email")
    assert code == 1
    assert "Sent 4 reminder(s)." in out
    assert all(len(message.to) == 1 for message in mail.outbox)
    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert sorted(by_recipient) == [
        "editor2@example.org",
        "editor@example.org",
        "reviewer2@example.org",
        "reviewer@example.org",
    ]
    # Reviewers of the live revision are reminded of exactly the items they approved.
    assert "Other Owner" in by_recipient["reviewer2@example.org"].body
    assert "Long Overdue" not in by_recipient["reviewer2@example.org"].body
    assert "Long Overdue" in by_recipient["reviewer@example.org"].body
    mine = by_recipient["editor@example.org"]
    assert mine.subject == "Medical review overdue: 1 item, 2 due soon"
    assert "Long Overdue (article), was due" in mine.body
    assert "Due Today (article), due" in mine.body and "Due In Thirty" in mine.body
    assert "Due In 31" not in mine.body
    assert "Other Owner" not in mine.body
    assert mine.body.index("Overdue:") < mine.body.index("Due within 30 days:")
    assert "Other Owner" in by_recipient["editor2@example.org"].body


def test_reviewers_of_the_live_revision_are_reminded(editor, reviewer, reviewer2):
    article = live_article(editor, reviewer, "reaffirmed", -1)
    workflow.reaffirm(article, reviewer2)
    ContentItem.objects.filter(pk=article.pk).update(next_review_due=timezone.localdate() - DAY)
    people = review_due.responsible_people(review_due.report().overdue)
    assert sorted(person.username for person in people) == ["editor", "reviewer", "reviewer2"]


def test_deleted_inactive_and_email_less_people_get_nothing(library, editor, reviewer, capsys):
    extra = make_user("silent", "Medical reviewers", credentials="MD")
    Review.objects.create(
        revision=library["overdue"].live_revision,
        content_hash=library["overdue"].live_revision.content_hash,
        decision=Decision.REAFFIRMED,
        reviewer=extra,
        reviewer_name="Silent",
    )
    User.objects.filter(pk=extra.pk).update(email="")
    User.objects.filter(pk=editor.pk).update(is_active=False)
    reviewer.delete()
    code, out, _ = run(capsys, "--email")
    assert code == 1
    assert mail.outbox == []
    assert "Sent 0 reminder(s)." in out


def test_dry_run_prints_the_emails_instead_of_sending(library, capsys):
    code, out, _ = run(capsys, "--email", "--dry-run")
    assert code == 1
    assert mail.outbox == []
    assert "Dry run: 2 reminder(s) not sent." in out
    assert "To: editor@example.org" in out and "To: reviewer@example.org" in out
    assert "Subject: Medical review overdue: 1 item, 2 due soon" in out
    assert "Long Overdue (article), was due" in out


def test_templates_can_be_overridden(library, tmp_path, settings, capsys):
    folder = tmp_path / "healthlib" / "email"
    folder.mkdir(parents=True)
    (folder / "review_due_subject.txt").write_text("Custom: {{ overdue|length }} late")
    (folder / "review_due_body.txt").write_text("Dear {{ name }}, see {{ site_name }}.")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    run(capsys, "--email")
    assert {m.subject for m in mail.outbox} == {"Custom: 1 late"}
    assert "Dear editor, see Health library." in [m.body for m in mail.outbox]


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_mail_failure_exits_2_and_says_why(library, capsys, email_backend):
    email_backend("tests.test_review_due.BrokenBackend")
    code, out, err = run(capsys, "--email")
    assert code == 2
    assert "Could not send the reminders: mail server down" in err


# ---------------------------------------------------------------- reminders once a day, through the outbox


def reminded() -> list[str]:
    return sorted(to for message in mail.outbox for to in message.to)


def test_a_second_run_the_same_day_reminds_nobody_again(library, capsys):
    run(capsys, "--email")
    assert reminded() == ["editor@example.org", "reviewer@example.org"]
    code, out, _ = run(capsys, "--email")
    assert code == 1 and "Sent 0 reminder(s)." in out
    assert "2 person(s) were already reminded today" in out
    assert reminded() == ["editor@example.org", "reviewer@example.org"]
    # The next day is another period: each is reminded again, once.
    tomorrow = review_due.report(today=timezone.localdate() + DAY)
    review_due.send_reminders(tomorrow)
    review_due.send_reminders(tomorrow)
    assert reminded() == ["editor@example.org"] * 2 + ["reviewer@example.org"] * 2


def test_the_task_reminds_once_however_often_it_runs(library):
    first = tasks.send_review_reminders.enqueue()
    second = tasks.send_review_reminders.enqueue()
    assert first.return_value == {"recorded": 2, "sent": 2}
    assert second.return_value == {"recorded": 0, "sent": 0}
    assert reminded() == ["editor@example.org", "reviewer@example.org"]
    keys = set(OutgoingEmail.objects.filter(name="review_due").values_list("key", flat=True))
    today = timezone.localdate().isoformat()
    assert all(key.startswith(f"healthlib.review_due:{today}:user=") for key in keys) and len(keys) == 2


def test_failed_reminders_are_kept_and_the_next_run_sends_them(library, capsys, email_backend, settings):
    tests_backend = {name: getattr(settings, name) for name in ("MAILERS", "EMAIL_BACKEND") if hasattr(settings, name)}
    email_backend("tests.test_review_due.BrokenBackend")
    code, _, err = run(capsys, "--email")
    assert code == 2 and "Could not send the reminders: mail server down" in err
    rows = OutgoingEmail.objects.filter(name="review_due")
    assert rows.count() == 2 and all(row.attempts == 1 and "mail server down" in row.last_error for row in rows)
    result = tasks.send_review_reminders.enqueue()
    assert result.status == "FAILED" and "EmailsFailed" in result.errors[0].exception_class_path
    for name, value in tests_backend.items():
        setattr(settings, name, value)
    code, out, _ = run(capsys, "--email")  # the same day: today's reminders, not new ones
    assert "Sent 2 reminder(s)." in out
    assert reminded() == ["editor@example.org", "reviewer@example.org"]
    assert [(row.attempts, row.sent_at is not None) for row in rows.all()] == [(2, True)] * 2


def test_a_reminder_run_killed_mid_way_is_finished_by_the_next(library, monkeypatch):
    original = notifications._send_one
    calls = []

    def killed_at_the_second(backend, row_id, outcome):
        calls.append(row_id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(backend, row_id, outcome)

    monkeypatch.setattr(notifications, "_send_one", killed_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        tasks.send_review_reminders.call()
    assert len(reminded()) == 1 and notifications.pending().filter(name="review_due").count() == 1
    monkeypatch.setattr(notifications, "_send_one", original)
    assert tasks.send_review_reminders.call() == {"recorded": 0, "sent": 1}
    assert reminded() == ["editor@example.org", "reviewer@example.org"]


@pytest.mark.django_db(transaction=True)
def test_the_command_hands_the_reminders_to_the_worker(editor, reviewer):
    from django_tasks_db.models import DBTaskResult

    live_article(editor, reviewer, "late", -1)
    mail.outbox.clear()
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        call_command("healthlib_review_due", "--enqueue", "--soon-days", "7", stdout=io.StringIO())
        [queued] = DBTaskResult.objects.all()
        assert queued.status == "READY" and queued.args_kwargs["kwargs"] == {"soon_days": 7}
        assert mail.outbox == []
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert reminded() == ["editor@example.org", "reviewer@example.org"]
