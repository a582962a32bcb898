"""The editor's side of tests/test_varnish.py and bench/varnish.py, in a process of its own.

    DJANGO_SETTINGS_MODULE=tests.settings_varnish python -m tests.varnish_helper

Reads one JSON command per line on stdin and answers one JSON line on stdout, so the caller pays for
Django's start-up once. Every change goes through :mod:`healthlib.workflow` with the immediate task
backend: when the answer arrives, the change has committed and its purges were sent to Varnish (the
answer says how many are still pending: none, unless Varnish refused them).

Commands (``{"do": name, ...}``):
  setup {"slugs": [...]}       migrate; an editor and a reviewer; the articles published, last reviewed
                               40 days ago (so a reaffirm today shows a new date); answers
                               the editor's session cookie, a draft's preview path and its review link
  publish {"slug", "title"}    a new revision with that title (and "body", if given): save, submit,
                               approve, publish (the live term "oncologist" is linked by none before)
  reaffirm {"slug"}            the reviewer reaffirms the live revision
  archive {"slug"}             the editor archives the article
  publish_term {"slug", "term_slug", "term"}
                               publishes a new glossary term that the article's body uses; readers
                               read the article
Each change answers ``committed_at`` (``time.time()`` right after its commit), ``pending_purges`` and
``readers``: what a reader asking Varnish for the page right after each purge was answered (none
with ``"readers": false``).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import urllib.error
import urllib.request
from unittest import mock

import django


def _setup(slugs: list[str]) -> dict:
    import datetime

    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from healthlib import preview_links, workflow
    from healthlib.conf import healthlib_settings
    from healthlib.models import Article
    from tests.conftest import ARTICLE_CONTENT, edited, make_user

    call_command("migrate", verbosity=0)
    editor = make_user("editor", healthlib_settings.EDITOR_GROUP)
    reviewer = make_user("reviewer", healthlib_settings.REVIEWER_GROUP, credentials="MD")
    # A live glossary term that no article links yet (a new revision may: "publish" with a "body").
    term = workflow.create_glossary_term(
        editor,
        slug="oncologist",
        content={"term": "Oncologist", "short_definition": "A doctor who treats cancer."},
    )
    workflow.submit(term, editor)
    workflow.approve(term, reviewer)
    workflow.publish(term, editor)
    for slug in slugs:
        content = edited(ARTICLE_CONTENT, title=f"Article {slug}")
        article = workflow.create_article(editor, slug=slug, article_type="guide", content=content)
        workflow.submit(article, editor)
        workflow.approve(article, reviewer)
        workflow.publish(article, editor)
    # Test set-up, as tests/test_review_due.py does: the pages say they were last reviewed 40 days
    # ago (reviews themselves are append-only), so that a reaffirm today shows a new date.
    then = timezone.now() - datetime.timedelta(days=40)
    Article.objects.update(last_reviewed_at=then)
    call_command("healthlib_relink", "--pages-only", verbosity=0)
    # A draft of the first article, only for its preview and its review link.
    first = Article.objects.get(slug=slugs[0])
    draft = workflow.save_draft(
        first, editor, edited(ARTICLE_CONTENT, title="Draft title never for readers"), based_on=first.latest_revision
    )
    client = Client()
    client.force_login(editor)
    return {
        "session_cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}",
        "preview_path": f"/health/preview/revision/{draft.pk}/",
        "review_link_path": preview_links.url_for(preview_links.create_link(editor, draft)),
        "old_review_date": f"{then:%Y-%m-%d}",
    }


def _change(command: dict) -> dict:
    from django.contrib.auth.models import User
    from django.db import transaction

    from healthlib import workflow
    from healthlib.models import Article, PurgeRequest
    from tests.conftest import ARTICLE_CONTENT, edited

    editor, reviewer = User.objects.get(username="editor"), User.objects.get(username="reviewer")
    article = Article.objects.get(slug=command["slug"])
    committed: list[float] = []
    action = command["do"]
    if action == "publish":
        # The working draft left by set-up is replaced by this one (the live page never shows it).
        workflow.save_draft(
            article,
            editor,
            edited(ARTICLE_CONTENT, title=command["title"], body=command.get("body", ARTICLE_CONTENT["body"])),
            based_on=article.latest_revision,
        )
        workflow.submit(article, editor)
        workflow.approve(article, reviewer)
    if action == "publish_term":
        term = workflow.create_glossary_term(
            editor, slug=command["term_slug"], content={"term": command["term"], "short_definition": "A definition."}
        )
        workflow.submit(term, editor)
        workflow.approve(term, reviewer)
    readers: list[dict] = []
    reading = _reader_right_after_each_purge if command.get("readers", True) else _no_readers
    with reading(article.get_absolute_url(), readers):
        # The transition in an outer transaction whose first after-commit callback notes the time: it
        # runs right after the commit, before the purge that the transition recorded is sent.
        with transaction.atomic():
            transaction.on_commit(lambda: committed.append(time.time()))
            if action == "publish":
                workflow.publish(article, editor)
            elif action == "reaffirm":
                workflow.reaffirm(article, reviewer)
            elif action == "archive":
                workflow.archive(article, editor)
            elif action == "publish_term":
                workflow.publish(term, editor)  # the articles that use it are re-linked after commit
            else:
                raise ValueError(f"unknown command {action!r}")
    return {"committed_at": committed[0], "pending_purges": PurgeRequest.objects.count(), "readers": readers}


@contextlib.contextmanager
def _no_readers(path: str, readers: list[dict]):
    yield


@contextlib.contextmanager
def _reader_right_after_each_purge(path: str, readers: list[dict]):
    """A reader asks Varnish for ``path`` the moment each purge is accepted (before anything else runs
    after the commit): the worst timing for a page cache behind Varnish that is retired too late, which
    would hand the old page back to Varnish to keep. ``readers`` gets what each was answered."""
    from healthlib.purge.varnish import VarnishBackend

    original = VarnishBackend.purge

    def purge_then_read(backend, tags):
        original(backend, tags)
        for url in backend.options["URLS"]:
            request = urllib.request.Request(url.rstrip("/") + path, headers={"Host": "localhost"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    readers.append({"status": response.status, "body": response.read().decode()})
            except urllib.error.HTTPError as error:
                readers.append({"status": error.code, "body": error.read().decode()})

    with mock.patch.object(VarnishBackend, "purge", purge_then_read):
        yield


def main() -> None:
    # Answers only on the real stdout; whatever the commands print goes to stderr (the process's log).
    answers, sys.stdout = sys.stdout, sys.stderr
    django.setup()
    for line in sys.stdin:
        command = json.loads(line)
        try:
            answer = _setup(command["slugs"]) if command["do"] == "setup" else _change(command)
        except Exception as error:  # reported to the caller, which fails the test with it
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), file=answers, flush=True)


if __name__ == "__main__":
    main()
