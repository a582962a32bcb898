"""Reader error reports: the form page (CSRF, honeypot, rate limit, bad input), the stored report,
the owner's email. Never a 500; text only ever escaped. The workspace list and closing a report are in
tests/test_admin_reports.py."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from healthlib import problem_reports
from healthlib.exceptions import TransitionNotAllowed
from healthlib.models import ProblemReport, ReportStatus
from tests import reader_fixtures
from tests.conftest import ARTICLE_CONTENT, edited
from tests.html_safety import problems
from tests.reader_fixtures import republish
from tests.xss_payloads import PAYLOADS

clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

ARTICLE_URL = "/health/articles/checkpoint-inhibitors/"
REPORT_URL = ARTICLE_URL + "report/"
SENT_URL = REPORT_URL + "sent/"
MANY = {"REPORT_RATE_LIMIT": 100_000}


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def send(client, django_capture_on_commit_callbacks):
    """POST the form as a browser would (after-commit callbacks run, as outside a test transaction)."""

    def post(data, *, to=REPORT_URL, on=client, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return on.post(to, data, **extra)

    return post


@pytest.fixture
def outbox(library, mailoutbox):
    """The emails sent by the test itself (publishing the library sent some already)."""
    mailoutbox.clear()
    return mailoutbox


# ---------------------------------------------------------------- the pages


def test_article_page_links_to_the_report_page_and_holds_nothing_per_reader(client, library):
    response = client.get(ARTICLE_URL)
    page = text(response)
    assert f'href="{REPORT_URL}"' in page and "Report a problem with this page" in page
    assert "csrfmiddlewaretoken" not in page and '<form method="post"' not in page
    assert "csrftoken" not in response.cookies
    library["article"].refresh_from_db()
    assert REPORT_URL in library["article"].live_page_html  # the stored page carries the plain link


def test_report_page_sets_the_csrf_cookie_is_never_cached_and_says_what_happens(client, library):
    response = client.get(REPORT_URL)
    assert response.status_code == 200
    assert "csrftoken" in response.cookies
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    page = text(response)
    assert 'name="csrfmiddlewaretoken"' in page
    assert "What happens next" in page and "medical reviewer" in page
    assert "not for medical emergencies" in page and "call 911" in page and "emergency room" in page
    assert 'name="website"' in page and 'aria-hidden="true"' in page  # the honeypot, hidden from people


def test_a_report_is_stored_as_typed_tied_to_the_live_revision_and_the_owner_is_told(send, client, library, outbox):
    article = library["article"]
    message = "  The dose in “Side effects” looks wrong.\n\nSee <b>section 2</b> & fix it?  "
    response = send({"message": message, "email": "reader@example.net"})
    assert response.status_code == 302 and response["Location"] == SENT_URL
    report = ProblemReport.objects.get()
    assert (report.article_id, report.revision_id) == (article.pk, article.live_revision_id)
    assert report.message == message and report.email == "reader@example.net"
    assert report.status == ReportStatus.OPEN and report.closed_at is None
    assert [m.to for m in outbox] == [["editor@example.org"]]
    assert message in outbox[0].body  # plain text, as typed
    assert "reader@example.net" in outbox[0].body and "Checkpoint inhibitors" in outbox[0].subject
    sent = client.get(SENT_URL)
    assert sent.status_code == 200 and "Thank you" in text(sent) and "call 911" in text(sent)


def test_a_report_after_a_new_revision_is_tied_to_that_revision(wf, send, library, editor, reviewer):
    article = library["article"]
    send({"message": "Old wording is unclear."})
    first = article.live_revision_id
    republish(wf, article, editor, reviewer, edited(ARTICLE_CONTENT, title="Immune checkpoint inhibitors"))
    second = article.live_revision_id
    # A pending draft is not what the reader read.
    wf.save_draft(article, editor, edited(ARTICLE_CONTENT, title="Draft title"), based_on=article.latest_revision)
    send({"message": "Still unclear."})
    assert list(ProblemReport.objects.order_by("pk").values_list("revision_id", flat=True)) == [first, second]
    article.refresh_from_db()
    assert article.latest_revision_id != second


# ---------------------------------------------------------------- CSRF, honeypot, rate limit


def test_csrf_is_enforced(library, outbox):
    browser = Client(enforce_csrf_checks=True)
    refused = browser.post(REPORT_URL, {"message": "No token."})
    assert refused.status_code == 403
    assert browser.post(REPORT_URL, {"message": "Bad token.", "csrfmiddlewaretoken": "x" * 64}).status_code == 403
    assert not ProblemReport.objects.exists()
    browser.get(REPORT_URL)
    token = browser.cookies["csrftoken"].value
    assert browser.post(REPORT_URL, {"message": "With the token.", "csrfmiddlewaretoken": token}).status_code == 302
    assert ProblemReport.objects.get().message == "With the token."


def test_honeypot_is_answered_like_a_report_and_stores_nothing(send, library, outbox):
    response = send({"message": "Buy cheap pills", "website": "http://spam.example/"})
    assert response.status_code == 302 and response["Location"] == SENT_URL
    assert not ProblemReport.objects.exists() and not outbox


@override_settings(HEALTHLIB={"REPORT_RATE_LIMIT": 3, "REPORT_RATE_WINDOW": 600})
def test_rate_limit_per_client_answers_429_with_retry_after(send, library):
    assert send({"message": ""}).status_code == 400  # refused attempts count too
    assert send({"message": "one"}).status_code == 302
    assert send({"message": "two", "website": "bot"}).status_code == 302
    limited = send({"message": "three"})
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 600
    assert "Too many reports" in text(limited) and "call 911" in text(limited)
    assert list(ProblemReport.objects.values_list("message", flat=True)) == ["one"]
    other = send({"message": "from another address"}, REMOTE_ADDR="203.0.113.9")
    assert other.status_code == 302
    assert ProblemReport.objects.count() == 2


# ---------------------------------------------------------------- bad input


@override_settings(HEALTHLIB=MANY)
@pytest.mark.parametrize(
    "data, field",
    [
        ({}, "message"),
        ({"message": ""}, "message"),
        ({"message": " \n\t "}, "message"),
        ({"message": "x" * 5001}, "message"),
        ({"message": "a\x00b"}, "message"),
        ({"message": "fine", "email": "not an email"}, "email"),
        ({"message": "fine", "email": "a@" + "b" * 300 + ".com"}, "email"),
        # Valid, but longer than the column (254): a form error, not a database error (500 on PostgreSQL).
        ({"message": "fine", "email": "a" * 64 + "@" + ("b" * 60 + ".") * 4 + "com"}, "email"),
    ],
    ids=["missing", "empty", "blank", "too-long", "nul", "bad-email", "long-email", "email-over-254"],
)
def test_bad_input_is_a_form_error_and_changes_nothing(send, library, outbox, data, field):
    response = send(data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert 'class="errorlist' in text(response)
    assert not ProblemReport.objects.exists() and not outbox


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_405(client, library, method):
    assert getattr(client, method)(REPORT_URL).status_code == 405
    assert not ProblemReport.objects.exists()


def test_only_live_articles_take_reports(wf, send, client, library, editor):
    draft = wf.create_article(editor, slug="a-draft", article_type="treatment", content=ARTICLE_CONTENT)
    for url in ("/health/articles/a-draft/report/", "/health/articles/no-such-page/report/"):
        assert client.get(url).status_code == 404
        assert send({"message": "x"}, to=url).status_code == 404
    wf.archive(library["article"], editor)
    assert client.get(REPORT_URL).status_code == 404
    assert send({"message": "x"}).status_code == 404
    assert client.get(SENT_URL).status_code == 404
    assert draft.pk and not ProblemReport.objects.exists()


def test_archived_while_the_form_was_open_is_refused_by_the_service(wf, library, editor):
    article = library["article"]
    wf.archive(article, editor)
    with pytest.raises(TransitionNotAllowed):
        problem_reports.send_report(article, message="late")
    assert not ProblemReport.objects.exists()


# ---------------------------------------------------------------- escaping (payload corpus)


@override_settings(HEALTHLIB=MANY)
def test_payloads_are_stored_as_typed_and_only_ever_shown_escaped(send, client, library, editor, outbox):
    stored = []
    for payload in PAYLOADS:
        response = send({"message": payload.text, "email": ""})
        if "\x00" in payload.text:  # refused like any NUL (PostgreSQL cannot store it)
            assert response.status_code == 400, payload.id
            continue
        assert response.status_code == 302, payload.id
        stored.append(payload)
    reports = list(ProblemReport.objects.order_by("pk"))
    assert [r.message for r in reports] == [p.text for p in stored]
    assert [m.body.count(p.text) >= 1 for m, p in zip(outbox, stored, strict=True)] == [True] * len(stored)
    client.force_login(editor)
    listing = client.get(reverse("admin:healthlib_problemreport_changelist") + "?status=all")
    assert listing.status_code == 200 and not problems(text(listing))
    for report, payload in zip(reports, stored, strict=True):
        page = text(client.get(reverse("admin:healthlib_problemreport_change", args=[report.pk])))
        assert not problems(page), (payload.id, problems(page))


@override_settings(HEALTHLIB=MANY)
def test_payloads_given_back_in_a_refused_form_are_escaped(send, library):
    for payload in PAYLOADS:
        response = send({"message": payload.text, "email": payload.text})
        assert response.status_code == 400, payload.id
        assert not problems(text(response)), (payload.id, problems(text(response)))
    assert not ProblemReport.objects.exists()
