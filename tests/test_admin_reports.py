"""healthlib.admin.reports: the workspace list of reader error reports, and closing a report."""

from __future__ import annotations

import pytest
from django.urls import reverse

from healthlib import problem_reports
from healthlib.exceptions import InvalidContent, NotPermitted
from healthlib.models import ReportStatus
from tests import reader_fixtures

clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf


def text(response) -> str:
    return response.content.decode()


def _report(library, message="The dose looks wrong."):
    return problem_reports.send_report(library["article"], message=message)


def test_workspace_lists_open_reports_and_closing_needs_a_note(client, library, editor):
    report = _report(library)
    client.force_login(editor)
    listing = text(client.get(reverse("admin:healthlib_problemreport_changelist")))
    assert "The dose looks wrong." in listing
    page = client.get(reverse("admin:healthlib_problemreport_change", args=[report.pk]))
    assert page.status_code == 200 and "Close this report" in text(page)
    close_url = reverse("admin:healthlib_problemreport_close", args=[report.pk])
    refused = client.post(close_url, {"note": ""}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400
    report.refresh_from_db()
    assert report.is_open
    assert client.get(close_url).status_code == 405
    done = client.post(close_url, {"note": "Fixed in revision 2."})
    assert done.status_code == 302
    report.refresh_from_db()
    assert (report.status, report.closing_note, report.closed_by_name) == (
        ReportStatus.CLOSED,
        "Fixed in revision 2.",
        "editor",
    )
    assert "The dose looks wrong." not in text(client.get(reverse("admin:healthlib_problemreport_changelist")))
    closed = text(client.get(reverse("admin:healthlib_problemreport_changelist") + "?status=closed"))
    assert "The dose looks wrong." in closed
    again = client.post(close_url, {"note": "Again."}, HTTP_ACCEPT="application/json")
    assert again.status_code == 409
    report.refresh_from_db()
    assert report.closing_note == "Fixed in revision 2."


def test_reviewers_may_close_outsiders_may_not(client, library, reviewer, nobody):
    report = _report(library)
    with pytest.raises(NotPermitted):
        problem_reports.close_report(report, nobody, note="x")
    with pytest.raises(InvalidContent):
        problem_reports.close_report(report, reviewer, note="   ")
    client.force_login(nobody)
    close_url = reverse("admin:healthlib_problemreport_close", args=[report.pk])
    assert client.post(close_url, {"note": "x"}).status_code == 302  # the admin's login redirect
    assert client.get(reverse("admin:healthlib_problemreport_changelist")).status_code == 302
    report.refresh_from_db()
    assert report.is_open
    assert problem_reports.close_report(report, reviewer, note="Checked: correct.").closed_by_name == "reviewer"


def test_unknown_report_is_404(client, library, editor):
    client.force_login(editor)
    assert client.post(reverse("admin:healthlib_problemreport_close", args=[99999]), {"note": "x"}).status_code == 404
