"""healthlib.purge: each change purges exactly the tags it affects, after commit, durably; a failing
backend is retried with backoff, logged and shown in the admin, and never fails the transition."""

from __future__ import annotations

import datetime
import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from healthlib import derived_work, purge, workflow
from healthlib.models import DerivedWork, PurgeRequest, Topic, WorkAction
from healthlib.purge.backends import PurgeBackend, PurgeFailed
from tests import reader_fixtures
from tests.conftest import ARTICLE_CONTENT, edited

clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

LISTINGS = {"hl-home", "hl-articles", "hl-feeds", "hl-sitemap", "hl-search"}


class RecordingBackend(PurgeBackend):
    """Records every batch; fails while ``failures`` is above zero."""

    batches: list[list[str]] = []
    failures = 0
    max_tags = 3

    def purge(self, tags):
        if RecordingBackend.failures:
            RecordingBackend.failures -= 1
            raise PurgeFailed("edge said 503", retry_after=None)
        RecordingBackend.batches.append(list(tags))


BACKEND = {"edge": {"BACKEND": "tests.test_purge.RecordingBackend"}}


@pytest.fixture(autouse=True)
def _backend(settings):
    settings.HEALTHLIB = {"CACHE_TAG_HEADER": "Surrogate-Key", "PURGE_BACKENDS": BACKEND}
    RecordingBackend.batches = []
    RecordingBackend.failures = 0


def sent() -> set[str]:
    return {tag for batch in RecordingBackend.batches for tag in batch}


def recorded(**filters) -> set[str]:
    return set(PurgeRequest.objects.filter(**filters).values_list("tag", flat=True))


def test_publishing_an_article_purges_it_and_the_listings_it_appears_in(library, wf, editor, reviewer):
    RecordingBackend.batches = []
    article = library["article"]
    reader_fixtures.republish(wf, article, editor, reviewer, edited(ARTICLE_CONTENT, title="New title"))
    assert sent() == {"hl-a-checkpoint-inhibitors", "hl-type-treatment", "hl-t-treatment-types", *LISTINGS}
    assert not PurgeRequest.objects.exists()  # sent after commit and deleted
    assert all(len(batch) <= RecordingBackend.max_tags for batch in RecordingBackend.batches)


def test_a_reaffirm_purges_the_page_and_the_dated_lists_only(library, wf, reviewer):
    RecordingBackend.batches = []
    wf.reaffirm(library["article"], reviewer, comment="Still right.")
    assert sent() == {"hl-a-checkpoint-inhibitors", "hl-home", "hl-feeds", "hl-sitemap"}


def test_an_archive_purges_the_page_and_its_listings(library, wf, editor):
    RecordingBackend.batches = []
    wf.archive(library["other"], editor)
    assert sent() == {"hl-a-car-t-cell-therapy", "hl-type-treatment", "hl-t-treatment-types", *LISTINGS}


def test_nothing_readers_cannot_see_purges_anything(library, wf, editor, reviewer):
    RecordingBackend.batches = []
    article = library["article"]
    wf.save_draft(article, editor, edited(ARTICLE_CONTENT, title="Draft"), based_on=article.latest_revision)
    wf.submit(article, editor)
    wf.approve(article, reviewer)
    assert sent() == set()
    assert not PurgeRequest.objects.exists()


def test_a_term_change_purges_its_page_at_once_and_its_articles_after_the_relink(
    library, editor, reviewer, django_capture_on_commit_callbacks, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # nothing runs by itself
    term = library["term"]
    RecordingBackend.batches = []
    with django_capture_on_commit_callbacks(execute=True):
        workflow.save_draft(
            term,
            editor,
            {**reader_fixtures.TERM_CONTENT, "short_definition": "Changed."},
            based_on=term.latest_revision,
        )
        workflow.submit(term, editor)
        workflow.approve(term, reviewer)
        workflow.publish(term, editor)
    assert recorded(after_page_work=False) == {"hl-g-t-cell", "hl-glossary", "hl-sitemap", "hl-search"}
    assert recorded(after_page_work=True) == {"hl-m-t-cell"}
    assert DerivedWork.objects.filter(action=WorkAction.RELINK_TERM).exists()
    purge.send_pending()
    # The term's own page at once; the articles that show it wait for their pages to be stored again.
    assert sent() == {"hl-g-t-cell", "hl-glossary", "hl-sitemap", "hl-search"}
    assert recorded() == {"hl-m-t-cell"}
    derived_work.run_pending()
    purge.send_pending()
    assert "hl-m-t-cell" in sent()
    assert not PurgeRequest.objects.exists()


def test_moving_an_article_between_topics_purges_both_topics(library, wf, editor):
    RecordingBackend.batches = []
    other_topic = Topic.objects.create(name="Side effects", slug="side-effects")
    RecordingBackend.batches = []
    wf.set_article_details(library["article"], editor, article_type="treatment", topics=[other_topic])
    assert {"hl-t-treatment-types", "hl-t-side-effects", "hl-a-checkpoint-inhibitors"} <= sent()


def test_a_topic_rename_purges_the_topic_and_its_articles_after_their_pages(
    library, django_capture_on_commit_callbacks
):
    RecordingBackend.batches = []
    topic = library["topic"]
    with django_capture_on_commit_callbacks(execute=True):
        topic.name, topic.slug = "Treatments", "treatments"
        topic.save()
    assert {"hl-t-treatment-types", "hl-t-treatments", "hl-home", "hl-sitemap"} <= sent()
    assert not any(tag.startswith("hl-a-") for tag in sent())  # the topic tag covers its articles


def test_without_backends_nothing_is_recorded(library, wf, editor, reviewer, settings):
    settings.HEALTHLIB = {"CACHE_TAG_HEADER": "Surrogate-Key"}
    reader_fixtures.republish(wf, library["article"], editor, reviewer, edited(ARTICLE_CONTENT, title="Again"))
    assert not PurgeRequest.objects.exists()


def test_a_failing_backend_keeps_the_transition_logs_and_retries_with_backoff(
    library, wf, editor, reviewer, caplog, admin_client
):
    RecordingBackend.batches = []
    RecordingBackend.failures = 10
    article = library["article"]
    with caplog.at_level(logging.ERROR, logger="healthlib.purge"):
        reader_fixtures.republish(wf, article, editor, reviewer, edited(ARTICLE_CONTENT, title="Kept"))
    article.refresh_from_db()
    assert article.live_title == "Kept"  # the transition stands
    assert "could not purge" in caplog.text
    rows = PurgeRequest.objects.all()
    assert rows.count() == 8 and all(row.attempts == 1 and "503" in row.last_error for row in rows)
    due = rows.first().next_attempt_at
    assert datetime.timedelta(seconds=25) < due - timezone.now() <= datetime.timedelta(seconds=30)
    # Not due yet: nothing is sent.
    RecordingBackend.failures = 0
    purge.send_pending()
    assert sent() == set()
    # Failing again waits longer (the delay doubles).
    RecordingBackend.failures = 10
    purge.send_pending(now=due)
    assert {row.attempts for row in PurgeRequest.objects.all()} == {2}
    assert PurgeRequest.objects.first().next_attempt_at - due == datetime.timedelta(seconds=60)
    # Visible in the admin, with the error.
    response = admin_client.get(reverse("admin:healthlib_purgerequest_changelist") + "?status=failed")
    assert response.status_code == 200
    assert "hl-a-checkpoint-inhibitors" in response.content.decode()
    assert "503" in response.content.decode()
    # Once the edge answers, the next run sends every tag and clears the rows.
    RecordingBackend.failures = 0
    purge.send_pending(now=due + datetime.timedelta(hours=2))
    assert "hl-a-checkpoint-inhibitors" in sent()
    assert not PurgeRequest.objects.exists()


def test_retry_after_from_the_server_is_honoured():
    assert purge._delay(0, 120) == datetime.timedelta(seconds=120)
    assert purge._delay(0, 1) == datetime.timedelta(seconds=30)
    assert purge._delay(20, None) == purge.MAX_RETRY_DELAY


def test_a_purge_recorded_in_a_rolled_back_transaction_is_never_sent(db):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        purge.record(["hl-a-x"])
        raise RuntimeError
    assert not PurgeRequest.objects.exists()


def test_a_new_term_purges_the_articles_that_now_link_it(library, wf, editor, reviewer):
    """Their pages at the edge lack the new term's tag: each is purged by its own tag once re-linked."""
    RecordingBackend.batches = []
    content = {**reader_fixtures.TERM_CONTENT, "term": "Rash", "aliases": [], "short_definition": "Red, itchy skin."}
    term = wf.create_glossary_term(editor, slug="rash", content=content)
    reader_fixtures.publish(wf, term, editor, reviewer)
    linking = set(
        library["article"].term_mentions.model.objects.filter(slug="rash").values_list("article__slug", flat=True)
    )
    assert "checkpoint-inhibitors" in linking
    assert {f"hl-a-{slug}" for slug in linking} | {"hl-g-rash", "hl-m-rash"} <= sent()
    assert not PurgeRequest.objects.exists()


def test_the_purge_command_sends_pending_and_given_tags(db):
    purge.record(["hl-a-waiting"])
    out = StringIO()
    call_command("healthlib_purge", "hl-a-flu", "--all", stdout=out)
    assert sent() == {"hl-a-waiting", "hl-a-flu", "hl"}
    assert "edge: purged 3 tag(s)." in out.getvalue()
    RecordingBackend.failures = 1
    with pytest.raises(CommandError, match="1 purge"):
        call_command("healthlib_purge", "hl-home", stdout=out)
    assert PurgeRequest.objects.get().attempts == 1
