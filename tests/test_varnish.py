"""End to end through a real Varnish: the shipped VCL (docs/varnish/healthlib.vcl) with vmod_xkey in front
of two gunicorn app servers that share the database (SQLite file, or PostgreSQL under
tests/with_postgres.sh) and a Redis cache; workflow changes made in another process purge by xkey after
their commit (tests/varnish_stack.py starts and stops it all, once for the module).

Every change answers only once it has committed and its purge was accepted, so each check reads the
page right after it, once: no sleeping, no polling.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from healthlib.purge.varnish import VarnishBackend
from tests import varnish_stack
from tests.conftest import ARTICLE_CONTENT

LACKING = varnish_stack.missing()

ROOT = Path(__file__).resolve().parent.parent
#: One article per test, so that the tests hold in any order; "unrelated" is never changed.
SLUGS = [
    "draft-holder",
    "cached",
    "to-publish",
    "to-link",
    "links-term",
    "to-reaffirm",
    "to-archive",
    "signed-in",
    "acl",
    "banned",
    "unrelated",
]
#: Headers that differ between two deliveries of the same object.
VOLATILE = {"date", "x-varnish", "x-cache", "age", "via", "connection", "keep-alive"}


def page(slug: str) -> str:
    return f"/health/articles/{slug}/"


@pytest.fixture(scope="module")
def stack():
    if LACKING:
        pytest.skip(f"!!! {', '.join(LACKING)} missing (make varnish-deps redis-deps): Varnish tests SKIPPED !!!")
    with varnish_stack.running_stack(SLUGS) as running:
        yield running


def cached(stack, path: str) -> varnish_stack.Response:
    """Read ``path`` until Varnish has it (at most twice) and prove the second read is a hit."""
    stack.get(path)
    response = stack.get(path)
    assert (response.status, response.cache) == (200, "HIT"), (path, response.status, response.headers)
    return response


def test_reader_pages_are_served_from_varnish_after_the_first_read(stack):
    first = stack.get(page("cached"))
    second = stack.get(page("cached"))
    assert (first.status, first.cache) == (200, "MISS")
    assert (second.status, second.cache) == (200, "HIT")
    assert second.body == first.body and '<h1 id="article-title">Article cached</h1>' in second.body
    # The same headers as the fresh answer (security headers included), and nothing meant for the edge.
    assert {k: v for k, v in second.headers.items() if k not in VOLATILE} == {
        k: v for k, v in first.headers.items() if k not in VOLATILE
    }
    for name in ("xkey", "surrogate-control", "cdn-cache-control", "set-cookie", "age"):
        assert name not in second.headers
    assert "public" in second.headers["cache-control"] and "private" not in second.headers["cache-control"]
    # Listings, the glossary and the review trail too.
    for path in ("/health/", "/health/articles/", "/health/glossary/", page("cached") + "reviews/"):
        cached(stack, path)


def change(stack, command: str, slug: str, is_new: Callable[[int, str], bool], **arguments) -> None:
    """Run a workflow change in the editor's process. A reader asking Varnish the moment the purge was
    accepted already got the new page (``is_new(status, body)``): Varnish did not store the old one again."""
    answer = stack.do(command, slug=slug, **arguments)
    assert answer["pending_purges"] == 0  # Varnish accepted the purge
    assert answer["readers"], "no purge was sent"
    for reader in answer["readers"]:
        assert is_new(reader["status"], reader["body"]), (reader["status"], reader["body"][:3000])


def test_both_app_servers_answer_and_share_the_content(stack):
    titles = {
        re.search(r'<h1 id="article-title">([^<]*)</h1>', stack.get(page("unrelated"), port=p).body)[1]
        for p in stack.app_ports
    }
    assert titles == {"Article unrelated"}


def test_publish_shows_the_new_revision_on_the_next_request(stack):
    assert "Article to-publish" in cached(stack, page("to-publish")).body
    unrelated = cached(stack, page("unrelated"))
    change(stack, "publish", "to-publish", lambda status, body: "A new revision" in body, title="A new revision")
    after = stack.get(page("to-publish"))
    assert after.status == 200  # stored again by the reader right after the purge, or fetched now
    assert '<h1 id="article-title">A new revision</h1>' in after.body and "Article to-publish" not in after.body
    assert cached(stack, page("to-publish")).body == after.body
    # The listings it appears in are purged too; an unrelated page is still the stored object.
    assert "A new revision" in stack.get("/health/articles/").body
    still = stack.get(page("unrelated"))
    assert still.cache == "HIT" and still.body == unrelated.body


def test_publish_of_a_revision_linking_a_new_term_shows_it_on_the_next_request(stack):
    # Its purge of the term's page is recorded before the transition's own (publishing.save_mentions):
    # the transition still announces them all after healthlib's page cache is retired.
    cached(stack, page("to-link"))
    body = ARTICLE_CONTENT["body"] + "\n\nAsk your oncologist about it."
    change(
        stack, "publish", "to-link", lambda status, body: "Linked revision" in body, title="Linked revision", body=body
    )
    after = stack.get(page("to-link"))
    assert "Linked revision" in after.body and "/health/glossary/oncologist/" in after.body


def test_publishing_a_term_shows_its_link_in_the_articles_on_the_next_request(stack):
    # The body of every article says "T cells": they are all re-linked after the term's commit
    # (healthlib.derived_work), and each page is purged once the page cache no longer holds the old one.
    assert "/health/glossary/t-cell/" not in cached(stack, page("links-term")).body
    change(
        stack,
        "publish_term",
        "links-term",
        lambda s, b: "/health/glossary/t-cell/" in b,
        term_slug="t-cell",
        term="T cell",
    )
    assert "/health/glossary/t-cell/" in stack.get(page("links-term")).body


def test_reaffirm_shows_the_new_review_date_on_the_next_request(stack):
    old = stack.content["old_review_date"]
    today = datetime.now(UTC).date().isoformat()
    before = cached(stack, page("to-reaffirm"))
    trail = cached(stack, page("to-reaffirm") + "reviews/")
    assert f'Last reviewed on <time datetime="{old}">' in before.body
    cached(stack, page("unrelated"))
    change(stack, "reaffirm", "to-reaffirm", lambda status, body: f'Last reviewed on <time datetime="{today}">' in body)
    after = stack.get(page("to-reaffirm"))
    assert f'Last reviewed on <time datetime="{today}">' in after.body
    assert f'datetime="{old}">' not in after.body.split("Last reviewed on", 1)[1][:60]
    assert stack.get(page("to-reaffirm") + "reviews/").body != trail.body
    assert stack.get(page("unrelated")).cache == "HIT"


def test_archive_takes_the_page_off_varnish_on_the_next_request(stack):
    cached(stack, page("to-archive"))
    cached(stack, page("unrelated"))
    change(stack, "archive", "to-archive", lambda status, body: status in (404, 410))
    gone = stack.get(page("to-archive"))
    assert gone.status in (404, 410) and "Article to-archive" not in gone.body
    assert "Article to-archive" not in stack.get("/health/articles/").body
    assert stack.get(page("unrelated")).cache == "HIT"


def test_signed_in_pages_are_never_cached_nor_served_to_readers(stack):
    session = {"Cookie": stack.content["session_cookie"]}
    for _ in range(2):
        signed_in = stack.get(page("signed-in"), session)
        assert (signed_in.status, signed_in.cache) == (200, "MISS")
        assert "private" in signed_in.headers["cache-control"]
    # Nothing was stored: the first anonymous read goes to the app and gets the public page.
    reader = stack.get(page("signed-in"))
    assert reader.cache == "MISS" and "private" not in reader.headers["cache-control"]
    # Once readers' copy is stored, a signed-in user still gets a page of their own.
    cached(stack, page("signed-in"))
    again = stack.get(page("signed-in"), {"Cookie": f"theme=dark; {stack.content['session_cookie']}"})
    assert again.cache == "MISS" and "private" in again.headers["cache-control"]
    # A token in Authorization is a signed-in request too; another cookie alone is not.
    assert stack.get(page("signed-in"), {"Authorization": "Bearer x"}).cache == "MISS"
    assert stack.get(page("signed-in"), {"Cookie": "theme=dark"}).cache == "HIT"


def test_previews_are_never_cached_nor_served_to_readers(stack):
    session = {"Cookie": stack.content["session_cookie"]}
    path = stack.content["preview_path"]
    for _ in range(2):
        preview = stack.get(path, session)
        assert (preview.status, preview.cache) == (200, "MISS")
        assert "Draft title never for readers" in preview.body
    for _ in range(2):
        reader = stack.get(path)
        assert reader.status in (302, 403) and "Draft title never for readers" not in reader.body
    assert "Draft title never for readers" not in stack.get(page("draft-holder")).body


def test_review_links_are_never_cached(stack):
    path = stack.content["review_link_path"]
    for _ in range(2):  # a review link needs no account: only its own headers keep it out of the cache
        shared = stack.get(path)
        assert (shared.status, shared.cache) == (200, "MISS")
        assert "Draft title never for readers" in shared.body
        assert re.search(r"private|no-store", shared.headers["cache-control"])
    assert "Draft title never for readers" not in stack.get(page("draft-holder")).body


def test_purges_are_accepted_only_from_the_acl(stack):
    before = cached(stack, page("acl"))
    tags = {"xkey-purge": "hl-a-acl"}
    assert stack.request("PURGE", tags, source="127.0.0.2") == 403
    assert stack.request("BAN", {"X-Healthlib-Ban": "hl-a-acl"}, source="127.0.0.2") == 403
    assert stack.get(page("acl")).cache == "HIT"
    assert stack.request("PURGE", {}) == 400  # no tags: nothing to purge, said so
    assert stack.request("PURGE", tags) == 200
    after = stack.get(page("acl"))
    assert after.cache == "MISS" and after.body == before.body


def test_the_ban_mode_of_the_varnish_backend(stack):
    cached(stack, page("banned"))
    cached(stack, page("unrelated"))
    backend = VarnishBackend("varnish", {"URLS": [f"http://127.0.0.1:{stack.varnish_port}"], "MODE": "ban"})
    backend.purge(["hl-a-banned", "hl-a-nothing-like-it"])
    assert stack.get(page("banned")).cache == "MISS"
    assert stack.get(page("unrelated")).cache == "HIT"


def test_the_vcl_in_the_docs_is_the_shipped_file():
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    assert "docs/varnish/healthlib.vcl" in deploy
    assert "vcl 4.1;" not in deploy  # no second, diverging copy
