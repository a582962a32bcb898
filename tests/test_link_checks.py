"""Reference link checks against a local HTTP server started by the test (never the internet):
200, 301 to a 200, 404, 500, a hang (timeout), HEAD refused then GET, and redirects that must not
be followed. Then the stored results, the command, the dashboard, the reminders and the checklist."""

from __future__ import annotations

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from healthlib import checklist, link_checks, tasks
from healthlib.models import ReferenceCheck
from tests.conftest import ARTICLE_CONTENT, edited
from tests.reader_fixtures import CommittedWorkflow, publish, republish

TIMEOUT = 0.5


class _Handler(BaseHTTPRequestHandler):
    routes = {
        "/ok": (200, {}),
        "/moved": (301, {"Location": "/ok"}),
        "/missing": (404, {}),
        "/error": (500, {}),
        "/loop": (302, {"Location": "/loop"}),
        "/to-file": (302, {"Location": "file:///etc/passwd"}),
        "/caf%C3%A9%20menu": (200, {}),
    }

    def log_message(self, *args) -> None:  # keep the test output clean
        pass

    def _answer(self) -> None:
        self.server.requests.append((self.command, self.path))
        if self.path == "/hang":
            self.server.release.wait(5)  # far longer than the client waits
            return
        if self.path == "/no-head" and self.command == "HEAD":
            status, headers = 405, {"Allow": "GET"}
        elif self.path == "/no-head":
            status, headers = 200, {}
        else:
            status, headers = self.routes.get(self.path, (404, {}))
        body = b"hello" if self.command == "GET" else b""
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET = _answer


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.requests = []
    httpd.release = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def base(server, monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    server.requests.clear()
    return f"http://127.0.0.1:{server.server_address[1]}"


# ---------------------------------------------------------------- one URL


@pytest.mark.parametrize(
    "path, status, final, broken",
    [
        ("/ok", 200, "/ok", False),
        ("/moved", 200, "/ok", False),
        ("/missing", 404, "/missing", True),
        ("/error", 500, "/error", True),
        ("/no-head", 200, "/no-head", False),
    ],
)
def test_answers(base, server, path, status, final, broken):
    result = link_checks.check_url(base + path, timeout=TIMEOUT)
    assert (result.status, result.final_url, result.broken, result.error) == (status, base + final, broken, "")


def test_head_first_then_get_only_when_head_fails(base, server):
    link_checks.check_url(base + "/ok", timeout=TIMEOUT)
    assert server.requests == [("HEAD", "/ok")]
    server.requests.clear()
    link_checks.check_url(base + "/no-head", timeout=TIMEOUT)
    assert server.requests == [("HEAD", "/no-head"), ("GET", "/no-head")]
    server.requests.clear()
    link_checks.check_url(base + "/moved", timeout=TIMEOUT)
    assert server.requests == [("HEAD", "/moved"), ("HEAD", "/ok")]  # the redirect is followed with HEAD


def test_an_address_as_typed_is_encoded(base, server):
    result = link_checks.check_url(base + "/café menu", timeout=TIMEOUT)
    assert (result.status, result.broken, result.error) == (200, False, "")
    assert server.requests == [("HEAD", "/caf%C3%A9%20menu")]


def test_a_hang_times_out(base):
    started = time.monotonic()
    result = link_checks.check_url(base + "/hang", timeout=TIMEOUT)
    assert time.monotonic() - started < 3
    assert result.broken and result.status is None and "0.5 seconds" in result.error


@pytest.mark.parametrize("path", ["/loop", "/to-file"])
def test_redirects_that_cannot_be_followed_are_broken(base, path):
    result = link_checks.check_url(base + path, timeout=TIMEOUT)
    assert result.broken and result.error.startswith("Redirect not followed")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/plain,hi", "javascript:1"])
def test_only_web_addresses_are_opened(url):
    result = link_checks.check_url(url, timeout=TIMEOUT)
    assert result.broken and result.status is None and "Not a web address" in result.error


def test_nobody_listening(db):
    result = link_checks.check_url("http://127.0.0.1:1/", timeout=TIMEOUT)
    assert result.broken and result.error.startswith("Could not connect")


# ---------------------------------------------------------------- stored per reference


def _refs(base, *paths):
    return [{"title": f"Source {p}", "publisher": "Test", "url": base + p, "year": 2025} for p in paths]


@pytest.fixture
def wf(django_capture_on_commit_callbacks):
    return CommittedWorkflow(django_capture_on_commit_callbacks)


@pytest.fixture
def articles(wf, base, editor, reviewer):
    first = wf.create_article(
        editor,
        slug="first",
        article_type="treatment",
        content=edited(ARTICLE_CONTENT, title="First", references=_refs(base, "/ok", "/moved", "/missing", "/hang")),
    )
    second = wf.create_article(
        editor,
        slug="second",
        article_type="treatment",
        content=edited(ARTICLE_CONTENT, title="Second", references=_refs(base, "/ok", "/error", "/no-head")),
    )
    draft = wf.create_article(
        editor,
        slug="draft",
        article_type="treatment",
        content=edited(ARTICLE_CONTENT, title="Draft", references=_refs(base, "/never-checked")),
    )
    return {
        "first": publish(wf, first, editor, reviewer),
        "second": publish(wf, second, editor, reviewer),
        "draft": draft,
    }


def test_check_all_keeps_one_result_per_live_reference(base, server, articles):
    rows = link_checks.check_all(timeout=TIMEOUT, workers=3)
    assert len(rows) == 7 and ReferenceCheck.objects.count() == 7
    assert ("HEAD", "/never-checked") not in server.requests  # drafts are not live
    assert (
        sum(1 for method, path in server.requests if path == "/ok" and method == "HEAD") == 2
    )  # once per URL + redirect
    by = {
        (row.article.slug, row.url.removeprefix(base)): row for row in ReferenceCheck.objects.select_related("article")
    }
    assert by["first", "/moved"].final_url == base + "/ok" and by["first", "/moved"].redirected
    assert not by["first", "/moved"].broken and by["first", "/moved"].status == 200
    assert by["first", "/missing"].status == 404 and by["first", "/missing"].broken
    assert by["first", "/hang"].status is None and "seconds" in by["first", "/hang"].error
    assert by["second", "/error"].status == 500 and not by["second", "/no-head"].broken
    broken = [(row.article.slug, row.url.removeprefix(base)) for row in link_checks.broken_references()]
    assert broken == [("first", "/hang"), ("first", "/missing"), ("second", "/error")]


def test_references_no_longer_live_are_forgotten(wf, base, articles, editor, reviewer):
    link_checks.check_all(timeout=TIMEOUT)
    first = articles["first"]
    republish(wf, first, editor, reviewer, edited(ARTICLE_CONTENT, title="First", references=_refs(base, "/ok")))
    # Until the next run, a reference the article no longer cites is not listed.
    assert [row.article.slug for row in link_checks.broken_references()] == ["second"]
    link_checks.check_all(timeout=TIMEOUT)
    assert ReferenceCheck.objects.filter(article=first).count() == 1
    wf.archive(articles["second"], editor)
    assert link_checks.broken_references() == []


# ---------------------------------------------------------------- the command, dashboard, reminders, checklist


def test_command_lists_broken_links_and_exits_1(base, articles):
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit:
        call_command("healthlib_check_links", "--timeout", str(TIMEOUT), "--workers", "2", stdout=out)
    assert exit.value.code == 1
    text = out.getvalue()
    assert "Checked 6 URL(s) of 7 live reference(s): 3 broken." in text
    assert f"First: {base}/missing  [404]" in text and f"Second: {base}/error  [500]" in text
    assert f"redirected: {base}/moved -> {base}/ok" in text


def test_command_exits_0_when_all_links_work(wf, base, editor, reviewer):
    article = wf.create_article(
        editor, slug="fine", article_type="treatment", content=edited(ARTICLE_CONTENT, references=_refs(base, "/ok"))
    )
    publish(wf, article, editor, reviewer)
    out = io.StringIO()
    call_command("healthlib_check_links", "--timeout", str(TIMEOUT), stdout=out)
    assert "0 broken" in out.getvalue()


def test_the_check_runs_as_a_background_task(base, articles, settings):
    settings.HEALTHLIB = {**getattr(settings, "HEALTHLIB", {}), "LINK_CHECK_TIMEOUT": TIMEOUT}
    out = io.StringIO()
    call_command("healthlib_check_links", "--enqueue", stdout=out)  # the immediate backend runs it at once
    assert "handed to the task backend" in out.getvalue()
    assert ReferenceCheck.objects.count() == 7
    assert {row.url for row in link_checks.broken_references()} == {f"{base}/missing", f"{base}/error", f"{base}/hang"}
    assert tasks.check_reference_links.call() == {"checked": 7, "broken": 3}


@pytest.mark.parametrize("args", [["--workers", "0"], ["--workers", "99"]])
def test_command_refuses_bad_options(db, args):
    with pytest.raises(CommandError):
        call_command("healthlib_check_links", *args)
    assert not ReferenceCheck.objects.exists()


def test_dashboard_and_review_due_list_broken_links(client, base, articles, editor):
    link_checks.check_all(timeout=TIMEOUT)
    client.force_login(editor)
    page = client.get(reverse("admin:healthlib_reviewdates_changelist")).content.decode()
    assert "Broken reference links (3)" in page
    assert f"{base}/missing" in page and f"{base}/error" in page and f"{base}/ok<" not in page
    out = io.StringIO()
    call_command("healthlib_review_due", "--email", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "Broken reference links (3)" in text
    assert "To: editor@example.org" in text and "Subject: Broken reference links: 3" in text
    assert f"- First: {base}/missing (404)" in text


def test_checklist_warns_about_references_last_checked_broken(wf, base, articles, editor):
    link_checks.check_all(timeout=TIMEOUT)
    second = articles["second"]
    wf.save_draft(second, editor, edited(ARTICLE_CONTENT, title="Second", references=_refs(base, "/error", "/ok")),
                  based_on=second.latest_revision)  # fmt: skip
    second.refresh_from_db()
    result = {r.code: r for r in checklist.evaluate(second)}["references_reachable"]
    assert not result.passed and result.level == "recommended" and not result.blocks
    assert f"{base}/error (500)" in result.message and "/ok" not in result.message
    wf.submit(second, editor)  # a warning, never a refusal
    fine = {r.code: r for r in checklist.evaluate(articles["draft"])}["references_reachable"]
    assert fine.passed  # never checked is not broken
