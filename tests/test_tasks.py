"""Background work (healthlib.tasks, healthlib.derived_work): re-linking after a glossary change and
re-storing the pages of a renamed topic run after commit, durably, and finish after a crash."""

from __future__ import annotations

import html as html_lib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Q
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from healthlib import derived_work, glossary_automaton, glossary_linker, publishing, search, tasks, workflow
from healthlib.markup import render_document
from healthlib.models import Article, DerivedWork, GlossaryTerm, WorkAction
from tests import reader_fixtures
from tests.conftest import ARTICLE_CONTENT, edited
from tests.db_process import page_check, publish_everything
from tests.test_admin import action_url
from tests.test_data_safety import migrated_db_file, run_process  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
DATABASE_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
wf = reader_fixtures.wf
term = reader_fixtures.term
topic = reader_fixtures.topic
library = reader_fixtures.library
ARTICLE_URL = "/health/articles/checkpoint-inhibitors/"


def approved_term(editor, reviewer) -> GlossaryTerm:
    item = workflow.create_glossary_term(editor, slug="t-cell", content=reader_fixtures.TERM_CONTENT)
    workflow.submit(item, editor)
    workflow.approve(item, reviewer)
    return item


def live_articles(wf, editor, reviewer, n: int) -> list[Article]:
    articles = []
    for i in range(n):
        body = ARTICLE_CONTENT["body"] + f"\n\n## Note {i}\n\nYour T cells, article {i}."
        item = wf.create_article(
            editor, slug=f"article-{i}", article_type="guide", content=edited(ARTICLE_CONTENT, body=body)
        )
        articles.append(reader_fixtures.publish(wf, item, editor, reviewer))
    return articles


def linked(article) -> bool:
    article.refresh_from_db()
    return 'href="/health/glossary/t-cell/"' in article.live_body_html


# ---------------------------------------------------------------- finding 7: a renamed topic


@pytest.mark.page_cache
def test_a_renamed_topic_is_not_left_cached_with_its_old_name(
    client, library, topic, django_capture_on_commit_callbacks
):
    assert "Treatment types" in client.get(ARTICLE_URL).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        topic.name = "Kinds of treatment"
        topic.save()
        # A reader's request between the cache's own (pre-commit) invalidation and the commit caches
        # the page that still carries the old name.
        assert "Treatment types" in client.get(ARTICLE_URL).content.decode()
    page = client.get(ARTICLE_URL).content.decode()
    assert "Kinds of treatment" in page
    assert "Treatment types" not in page
    assert not DerivedWork.objects.exists()


@pytest.mark.page_cache
@pytest.mark.parametrize("field", ["name", "description"])
def test_a_changed_topic_page_is_not_left_cached_by_a_read_before_the_commit(
    client, library, topic, django_capture_on_commit_callbacks, field
):
    url = f"/health/topics/{topic.slug}/"
    old = getattr(topic, field)
    assert old in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        setattr(topic, field, "Kinds of treatment")
        topic.save()
        assert old in client.get(url).content.decode()  # a reader before the commit still sees the old one
    page = client.get(url).content.decode()
    assert "Kinds of treatment" in page
    assert old not in page


@pytest.mark.page_cache
def test_a_renamed_topic_without_live_articles_still_retires_cached_pages(
    client, db, django_capture_on_commit_callbacks
):
    from healthlib.models import Topic

    with django_capture_on_commit_callbacks(execute=True):
        empty = Topic.objects.create(name="Nothing yet", slug="nothing-yet")
    assert "Nothing yet" in client.get("/health/topics/nothing-yet/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        empty.name = "Still nothing"
        empty.save()
        assert [row.action for row in DerivedWork.objects.all()] == [WorkAction.PURGE]
        assert "Nothing yet" in client.get("/health/topics/nothing-yet/").content.decode()
    assert "Still nothing" in client.get("/health/topics/nothing-yet/").content.decode()
    assert not DerivedWork.objects.exists()


def test_topic_work_is_recorded_in_the_transaction_and_lost_with_a_rollback(library, topic):
    from django.db import transaction

    before = set(DerivedWork.objects.values_list("pk", flat=True))
    with pytest.raises(RuntimeError), transaction.atomic():
        topic.name = "Kinds of treatment"
        topic.save()
        assert DerivedWork.objects.filter(action=WorkAction.STORE_PAGE).count() == 2
        raise RuntimeError
    assert set(DerivedWork.objects.values_list("pk", flat=True)) == before


# ---------------------------------------------------------------- finding 4: a glossary term


def test_publishing_a_term_records_the_work_in_its_transaction(wf, editor, reviewer):
    articles = live_articles(wf, editor, reviewer, 2)
    item = approved_term(editor, reviewer)
    workflow.publish(item, editor)  # no commit in a test: nothing ran yet
    assert list(DerivedWork.objects.values_list("action", "item_id")) == [(WorkAction.RELINK_TERM, item.pk)]
    assert not any(linked(a) for a in articles)
    derived_work.run_pending()
    assert all(linked(a) for a in articles)
    assert not DerivedWork.objects.exists()


def test_archiving_a_term_unlinks_through_the_mention_index(wf, term, editor, reviewer):
    articles = live_articles(wf, editor, reviewer, 2)
    assert all(linked(a) for a in articles)
    wf.archive(term, editor)
    assert not any(linked(a) for a in articles)
    assert not DerivedWork.objects.exists()


def test_a_chunk_is_derived_with_the_same_few_queries_whatever_its_size(
    wf, editor, reviewer, django_assert_num_queries
):
    articles = live_articles(wf, editor, reviewer, 6)
    workflow.publish(approved_term(editor, reviewer), editor)  # recorded, not run
    glossary = glossary_linker.get_glossary()
    for chunk in (articles[:1], articles):
        ids = [a.pk for a in chunk]
        # The articles with their live revisions, their topics, their mention rows, the terms they link.
        with django_assert_num_queries(4):
            pages = publishing.derive_pages(ids, relink=ids, glossary=glossary)
        assert sorted(pages) == sorted(ids)
        assert all('href="/health/glossary/t-cell/"' in page.article.live_page_html for page in pages.values())


def test_each_article_of_a_chunk_is_stored_with_a_few_queries_of_its_own(wf, editor, reviewer, monkeypatch):
    articles = live_articles(wf, editor, reviewer, 6)
    workflow.publish(approved_term(editor, reviewer), editor)
    counts = []
    original = derived_work._run_article

    def counting(*args, **kwargs):
        with CaptureQueriesContext(connection) as queries:
            result = original(*args, **kwargs)
        counts.append(len(queries))
        return result

    monkeypatch.setattr(derived_work, "_run_article", counting)
    derived_work.run_pending()
    assert all(linked(a) for a in articles)
    # Its transaction (a savepoint inside the test's) with the row lock, its work rows, its body and
    # page, the item's time of change and its new row in the term-mention index; nothing is read again.
    assert counts == [7] * len(articles)
    assert page_check() == {"stale": [], "pending": 0}


def test_an_article_republished_after_its_chunk_was_read_is_derived_again_under_its_lock(
    wf, editor, reviewer, monkeypatch
):
    articles = live_articles(wf, editor, reviewer, 3)
    workflow.publish(approved_term(editor, reviewer), editor)
    original = publishing.derive_pages

    def then_an_editor_republishes(ids, **kwargs):
        pages = original(ids, **kwargs)
        target = Article.objects.get(pk=articles[1].pk)
        reader_fixtures.republish(wf, target, editor, reviewer, edited(ARTICLE_CONTENT, body="New: T cells, more."))
        return pages

    monkeypatch.setattr(publishing, "derive_pages", then_an_editor_republishes)
    assert derived_work.run_pending().failed == []
    # Stored from the chunk's read, the page would show the old revision again.
    assert "more" in Article.objects.get(pk=articles[1].pk).live_body_html
    assert all(linked(a) for a in articles)
    assert page_check() == {"stale": [], "pending": 0}


@pytest.mark.django_db(transaction=True)
def test_with_the_database_backend_the_publish_request_returns_before_the_relink(client, editor, reviewer):
    articles = [
        workflow.create_article(
            editor, slug=f"a-{i}", article_type="guide", content=edited(ARTICLE_CONTENT, body="T cells help. " * 3)
        )
        for i in range(3)
    ]
    for article in articles:
        workflow.submit(article, editor)
        workflow.approve(article, reviewer)
        workflow.publish(article, editor)
    item = approved_term(editor, reviewer)
    with override_settings(TASKS=DATABASE_BACKEND):
        from django_tasks_db.models import DBTaskResult

        client.force_login(editor)
        response = client.post(action_url(item, "publish"), {"revision": item.latest_revision_id})
        assert response.status_code == 302
        item.refresh_from_db()
        assert item.live_revision_id is not None
        # The request is back; the work is recorded and queued, not done.
        assert DerivedWork.objects.filter(action=WorkAction.RELINK_TERM).count() == 1
        # (The publish's email is queued too, as a task of its own: healthlib.notifications.)
        relink = DBTaskResult.objects.filter(task_path="healthlib.tasks.run_derived_work")
        assert relink.filter(status="READY").count() == 1
        assert not any(linked(a) for a in articles)
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
        assert relink.get().status == "SUCCESSFUL"
        assert set(DBTaskResult.objects.values_list("task_path", "status")) == {
            ("healthlib.tasks.run_derived_work", "SUCCESSFUL"),
            ("healthlib.tasks.send_emails", "SUCCESSFUL"),
        }
    assert all(linked(a) for a in articles)
    assert not DerivedWork.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_lost_task_is_finished_by_the_next_one(editor, reviewer):
    item = approved_term(editor, reviewer)
    article = workflow.create_article(
        editor, slug="a", article_type="guide", content=edited(ARTICLE_CONTENT, body="T cells.")
    )
    for action in (workflow.submit, workflow.approve, workflow.publish):
        action(article, reviewer if action is workflow.approve else editor)
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}):
        workflow.publish(item, editor)  # the dummy backend keeps the task and never runs it: lost
    assert DerivedWork.objects.count() == 1
    assert not linked(article)
    tasks.run_derived_work.enqueue()  # the next task (immediate backend), whatever it was enqueued for
    assert linked(article)
    assert not DerivedWork.objects.exists()


def test_a_failing_article_keeps_its_row_and_error_and_the_rest_is_done(wf, editor, reviewer, monkeypatch):
    articles = live_articles(wf, editor, reviewer, 3)
    item = approved_term(editor, reviewer)
    workflow.publish(item, editor)
    original = publishing.store_page

    def fail_on_second(article_id, *args, **kwargs):
        if article_id == articles[1].pk:
            raise ValueError("renderer exploded")
        return original(article_id, *args, **kwargs)

    monkeypatch.setattr(publishing, "store_page", fail_on_second)
    with pytest.raises(tasks.DerivedWorkFailed):
        tasks.run_derived_work.call()
    row = DerivedWork.objects.get(action=WorkAction.RELINK_ARTICLE)
    assert (row.item_id, row.attempts) == (articles[1].pk, 1)
    assert "renderer exploded" in row.last_error
    assert linked(articles[0]) and linked(articles[2]) and not linked(articles[1])
    # The failed page keeps its old, consistent state; the cached pages are retired for the others
    # (a failing page never holds back the purges of later changes, such as a renamed topic's).
    assert not DerivedWork.objects.filter(action=WorkAction.PURGE).exists()
    monkeypatch.setattr(publishing, "store_page", original)
    call_command("healthlib_relink", "--pending", verbosity=0)
    assert linked(articles[1])
    assert not DerivedWork.objects.exists()


def test_a_failing_relink_never_fails_the_editors_publish(
    client, wf, editor, reviewer, monkeypatch, django_capture_on_commit_callbacks
):
    (article,) = live_articles(wf, editor, reviewer, 1)
    item = approved_term(editor, reviewer)

    def explode(*args, **kwargs):
        raise ValueError("renderer exploded")

    monkeypatch.setattr(publishing, "store_page", explode)
    client.force_login(editor)
    with django_capture_on_commit_callbacks(execute=True):  # the immediate backend runs the task here
        response = client.post(action_url(item, "publish"), {"revision": item.latest_revision_id})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.live_revision_id is not None
    assert DerivedWork.objects.get(action=WorkAction.RELINK_ARTICLE).attempts == 1


@pytest.mark.django_db(transaction=True)
def test_failed_work_is_retried_later_on_a_backend_that_can_defer(editor, reviewer, monkeypatch):
    from django_tasks_db.models import DBTaskResult

    monkeypatch.setattr(derived_work, "_run_article", lambda *args: 1 / 0)
    DerivedWork.objects.create(action=WorkAction.STORE_PAGE, item=approved_term(editor, reviewer))
    with override_settings(TASKS=DATABASE_BACKEND):
        tasks.run_derived_work.enqueue()
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
        runs = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert [run.status for run in runs] == ["FAILED", "READY"]
    assert "DerivedWorkFailed" in runs[0].exception_class_path
    assert runs[1].run_after > runs[0].finished_at  # deferred, not run again at once


@pytest.mark.django_db(transaction=True)
def test_healthlib_relink_enqueue_hands_pending_work_to_the_backend(editor, reviewer):
    from django_tasks_db.models import DBTaskResult

    (article,) = live_articles_committed(editor, reviewer, 1)
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}):
        workflow.publish(approved_term(editor, reviewer), editor)  # the task is lost
    with override_settings(TASKS=DATABASE_BACKEND):
        call_command("healthlib_relink", "--enqueue", stdout=io.StringIO())
        assert DBTaskResult.objects.get().status == "READY"
        assert not linked(article)
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert linked(article)
    assert not DerivedWork.objects.exists()


def live_articles_committed(editor, reviewer, n: int) -> list[Article]:
    """Live articles outside a test transaction (their after-commit indexing has run)."""
    articles = []
    for i in range(n):
        item = workflow.create_article(
            editor, slug=f"c-{i}", article_type="guide", content=edited(ARTICLE_CONTENT, body="T cells help.")
        )
        for action in (workflow.submit, workflow.approve, workflow.publish):
            action(item, reviewer if action is workflow.approve else editor)
        articles.append(item)
    return articles


def test_the_admin_lists_pending_and_failed_work_read_only(admin_client, wf, editor, reviewer):
    live_articles(wf, editor, reviewer, 1)
    workflow.publish(approved_term(editor, reviewer), editor)
    DerivedWork.objects.create(action=WorkAction.STORE_PAGE, attempts=2, last_error="ValueError: boom")
    url = "/admin/healthlib/derivedwork/"
    assert "ValueError: boom" in admin_client.get(url + "?status=failed").content.decode()
    pending = admin_client.get(url + "?status=pending").content.decode()
    assert "find the articles of a glossary term" in pending and "boom" not in pending
    assert admin_client.get(url + "add/").status_code == 403
    row = DerivedWork.objects.first()
    assert admin_client.post(url + f"{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert DerivedWork.objects.filter(pk=row.pk).exists()


def test_editors_without_the_view_permission_do_not_see_the_work(client, editor):
    client.force_login(editor)
    assert client.get("/admin/healthlib/derivedwork/").status_code == 403


# ---------------------------------------------------------------- the index look-up equals the old scan


def old_scan(term) -> set[int]:
    """The scan this replaced: every live body, ``icontains`` each name variant (kept here as the reference)."""
    query = Q(live_body_html__contains=f'href="{html_lib.escape(glossary_automaton.term_url(term.slug))}"')
    for name in {term.live_term, *(term.live_aliases or [])}:
        for variant in glossary_automaton.name_variants(name or ""):
            query |= Q(live_body_html__icontains=html_lib.escape(variant, quote=False))
    return set(Article.objects.filter(live_revision__isnull=False).filter(query).values_list("pk", flat=True))


def test_the_index_look_up_finds_what_the_old_scan_found_on_the_content_pack(
    editor, reviewer, django_capture_on_commit_callbacks
):
    from tests.test_content_pack import PACK

    call_command("healthlib_import", str(PACK), "--user", editor.username, verbosity=0)
    with django_capture_on_commit_callbacks(execute=True):
        publish_everything(editor, reviewer)
    glossary = glossary_linker.get_glossary()
    terms = list(GlossaryTerm.objects.filter(live_revision__isnull=False))
    assert len(terms) > 20 and Article.objects.filter(live_revision__isnull=False).count() > 10
    differ = agree = 0
    for item in terms:
        old, new = old_scan(item), derived_work.affected_article_ids(item)
        agree += len(old & new)
        # Where they differ (the scan matches inside other words; the index also holds titles and
        # summaries, and text across inline tags), re-linking the article changes nothing: the pages
        # a term change re-links are the same either way.
        for article in Article.objects.filter(pk__in=old ^ new).select_related("live_revision"):
            differ += 1
            body = glossary.link(render_document(article.live_revision.content["body"]).html).html
            assert body == article.live_body_html, (item.slug, article.slug)
        # Every article that links the term is found.
        assert {a.pk for a in Article.objects.filter(live_body_html__contains=f"/glossary/{item.slug}/")} <= new
    assert differ < agree / 2, (differ, agree)  # mostly the very same (term, article) pairs


def test_articles_not_yet_in_the_search_index_are_still_candidates(wf, editor, reviewer):
    (article,) = live_articles(wf, editor, reviewer, 1)
    search.unindex_item(article)
    item = approved_term(editor, reviewer)
    workflow.publish(item, editor)
    assert article.pk in derived_work.affected_article_ids(item)


@pytest.mark.parametrize("spelling", ["T-cell", "T cell", "T\u2011cell", "t\u00a0cell"])
def test_phrases_match_whatever_separators_the_text_uses(wf, editor, reviewer, spelling):
    body = f"## Overview\n\nA {spelling} is a white blood cell."
    article = wf.create_article(editor, slug="a", article_type="guide", content=edited(ARTICLE_CONTENT, body=body))
    reader_fixtures.publish(wf, article, editor, reviewer)
    assert search.articles_with_phrases(["T cell"]) == {article.pk}
    assert search.articles_with_phrases(["T-cell"]) == {article.pk}
    # Never fewer than the linker finds; PostgreSQL (stemming) may find more ("T cells" here).
    assert search.articles_with_phrases(["B cells", "cellular"]) == set()
    assert search.articles_with_phrases(["", "--"]) == set()


# ---------------------------------------------------------------- a process killed mid-relink


def start_process(*args: str, db_file: Path) -> subprocess.Popen:
    env = {**os.environ, "HEALTHLIB_TEST_SQLITE_FILE": str(db_file), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env.pop("HEALTHLIB_TEST_DB", None)
    return subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "db_process.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def kill_when(process: subprocess.Popen, marker: Path) -> None:
    """SIGKILL the process once it has written ``marker`` (it then hangs inside a transaction)."""
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the work never got there"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


ARTICLES = 15


@pytest.fixture(scope="module")
def term_library_file(migrated_db_file, tmp_path_factory):  # noqa: F811
    """A SQLite file with ARTICLES live articles that mention "T cell" and the term approved, made once."""
    path = tmp_path_factory.mktemp("term-library") / "library.sqlite3"
    shutil.copy(migrated_db_file, path)
    run_process("term-library", str(ARTICLES), db_file=path)
    return path


@pytest.mark.parametrize(
    ("backend", "stage", "kill_at", "stale_after_kill"),
    [
        # With the immediate backend the re-link runs in the publishing process, after its commit.
        ("immediate", "expand", 1, ARTICLES),  # while finding the term's articles
        ("immediate", "page", 1, ARTICLES),  # inside the first article's re-link
        ("immediate", "page", 12, ARTICLES - 11),  # eleven pages done, the twelfth half-way
        ("immediate", "purge", 1, 0),  # every page stored, the cached pages not yet retired
        # With the database backend the publish only records and queues; the worker is killed.
        ("database", "page", 7, ARTICLES - 6),
    ],
)
def test_derived_work_killed_mid_way_is_finished_by_the_next_run(
    tmp_path,
    term_library_file,
    backend,
    stage,
    kill_at,
    stale_after_kill,
):
    """Issue 17, finding 4: kill the process (SIGKILL) in the middle of a term's re-link, run again,
    and every stored body, page and mention equals a full re-render."""
    db_file = tmp_path / "library.sqlite3"
    shutil.copy(term_library_file, db_file)
    marker = tmp_path / "mid-way"
    hang = (stage, str(kill_at), str(marker))
    if backend == "immediate":
        kill_when(start_process("publish-term", backend, *hang, db_file=db_file), marker)
    else:
        run_process("publish-term", backend, db_file=db_file)
        kill_when(start_process("worker", *hang, db_file=db_file), marker)
    half = json.loads(run_process("page-check", db_file=db_file).stdout)
    # Killed inside a transaction: what it was doing, and everything after it, is still to do.
    assert len(half["stale"]) == stale_after_kill
    assert half["pending"] > 0
    # The next run: the command (or any later task) with the immediate backend; a restarted worker
    # (the database backend leaves the killed task "running" for ever, so the worker's start-up
    # hands the pending work to it again, see the README).
    run_process("relink-pending" if backend == "immediate" else "restart-worker", db_file=db_file)
    assert json.loads(run_process("page-check", db_file=db_file).stdout) == {"stale": [], "pending": 0}


# ---------------------------------------------------------------- races (PostgreSQL row locks)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (make test runs it)")
def test_two_runs_and_a_republish_racing_leave_every_page_equal_to_a_full_render(editor, reviewer):
    """Two workers on the same pending work, while an editor publishes a new revision of one of its
    articles: each article is re-linked under its row lock, nothing fails, and every stored body, page
    and mention equals a full re-render."""
    articles = live_articles_committed(editor, reviewer, 40)
    target = articles[17]
    workflow.save_draft(
        target,
        editor,
        edited(ARTICLE_CONTENT, body="New text: T cells and more T cells."),
        based_on=target.latest_revision,
    )
    workflow.submit(target, editor)
    workflow.approve(target, reviewer)
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}):
        workflow.publish(approved_term(editor, reviewer), editor)  # recorded, not run
    start = threading.Barrier(3)
    outcomes: list = []

    def in_thread(work):
        def run():
            try:
                start.wait(timeout=30)
                outcomes.append(work())
            except Exception as error:  # reported by the assertion below
                outcomes.append(error)
            finally:
                connection.close()

        return threading.Thread(target=run)

    threads = [in_thread(derived_work.run_pending), in_thread(derived_work.run_pending)]
    threads.append(in_thread(lambda: workflow.publish(Article.objects.get(pk=target.pk), editor)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not [o for o in outcomes if isinstance(o, Exception) or getattr(o, "failed", None)], outcomes
    derived_work.run_pending()  # rows recorded by the re-publish's own after-commit work, if any
    assert page_check() == {"stale": [], "pending": 0}
    assert "more" in Article.objects.get(pk=target.pk).live_body_html


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (make test runs it)")
def test_an_article_first_published_while_a_term_is_published_gets_the_link(editor, reviewer, monkeypatch):
    """The article's publish has linked its body against the glossary without the term and not yet
    committed when the term's publish commits and its re-link looks for live articles."""
    term_item = approved_term(editor, reviewer)
    article = workflow.create_article(
        editor, slug="new", article_type="guide", content=edited(ARTICLE_CONTENT, body="T cells help.")
    )
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    linked_without_commit, release = threading.Event(), threading.Event()
    original = glossary_linker.get_glossary

    def pausing():
        glossary = original()
        if threading.current_thread().name == "article":
            linked_without_commit.set()
            release.wait(timeout=3)  # the term's publish, if it can, commits meanwhile
        return glossary

    monkeypatch.setattr(glossary_linker, "get_glossary", pausing)
    errors: list = []

    def publish_article():
        try:
            workflow.publish(Article.objects.get(pk=article.pk), editor)
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=publish_article, name="article")
    thread.start()
    assert linked_without_commit.wait(timeout=30)
    workflow.publish(term_item, editor)  # the immediate backend re-links after its commit
    release.set()
    thread.join(timeout=60)
    assert not errors
    assert linked(article)
    assert page_check() == {"stale": [], "pending": 0}
