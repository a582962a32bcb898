"""Shareable review links: signing, expiry, tampering, permission and the read-only page."""

from __future__ import annotations

import datetime
import time

import pytest
from django.core import signing
from django.test import override_settings

from healthlib import preview_links, workflow
from healthlib.exceptions import InvalidContent, NotPermitted
from healthlib.preview_links import PreviewLinkExpired, PreviewLinkRevoked, PreviewLinkTampered
from tests.conftest import ARTICLE_CONTENT, edited

DAY = datetime.timedelta(days=1)


@pytest.fixture
def revision(article):
    return article.latest_revision


def signed_ago(monkeypatch, seconds: int) -> None:
    """Make the signer stamp tokens as if they had been created ``seconds`` ago."""
    monkeypatch.setattr(
        signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(int(time.time()) - seconds)
    )


def test_token_round_trip(revision, editor):
    token = preview_links.create_link(editor, revision, DAY)
    assert preview_links.load(token) == revision
    shared = preview_links.inspect(token)
    assert shared.created_by_id == editor.pk
    assert shared.expires_at - shared.created_at == DAY


def test_default_expiry_is_seven_days(revision, editor):
    shared = preview_links.inspect(preview_links.create_link(editor, revision))
    assert shared.expires_at - shared.created_at == datetime.timedelta(days=7)


def test_link_works_until_its_expiry(revision, editor, monkeypatch):
    signed_ago(monkeypatch, int((6 * DAY).total_seconds()))
    token_6_days_old = preview_links.make_token(revision, expires_in=7 * DAY, created_by=editor)
    monkeypatch.undo()
    assert preview_links.load(token_6_days_old) == revision


def test_expired_link_is_refused(revision, editor, monkeypatch, client):
    signed_ago(monkeypatch, int((8 * DAY).total_seconds()))
    token = preview_links.make_token(revision, expires_in=7 * DAY, created_by=editor)
    monkeypatch.undo()
    with pytest.raises(PreviewLinkExpired):
        preview_links.load(token)
    response = client.get(preview_links.url_for(token))
    assert response.status_code == 403
    assert b"expired" in response.content
    assert ARTICLE_CONTENT["title"].encode() not in response.content
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Cache-Control"] == "private, no-store"


def test_expiry_is_taken_from_the_token_not_a_global_age(revision, editor, monkeypatch):
    signed_ago(monkeypatch, 2 * 3600)
    short = preview_links.make_token(revision, expires_in=datetime.timedelta(hours=1), created_by=editor)
    long = preview_links.make_token(revision, expires_in=datetime.timedelta(hours=3), created_by=editor)
    monkeypatch.undo()
    with pytest.raises(PreviewLinkExpired):
        preview_links.load(short)
    assert preview_links.load(long) == revision


def _flip(char: str) -> str:
    return "A" if char != "A" else "B"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: _flip(t[0]) + t[1:],  # payload
        lambda t: t[:-1] + _flip(t[-1]),  # signature
        lambda t: t.rsplit(":", 1)[0],  # signature removed
        lambda t: t[: len(t) // 2],  # truncated
        lambda t: "garbage",
        lambda t: "",
    ],
)
def test_tampered_link_is_refused(revision, editor, client, tamper):
    token = preview_links.create_link(editor, revision, DAY)
    bad = tamper(token)
    with pytest.raises(PreviewLinkTampered):
        preview_links.load(bad)
    if bad:
        response = client.get(preview_links.url_for(bad))
        assert response.status_code == 403
        assert ARTICLE_CONTENT["title"].encode() not in response.content


def test_token_for_another_revision_cannot_be_forged(revision, editor):
    """Re-signing a payload with another salt or key is refused: the id cannot be swapped."""
    forged = signing.TimestampSigner(salt="other").sign_object({"r": revision.pk, "s": 3600, "u": None})
    with pytest.raises(PreviewLinkTampered):
        preview_links.load(forged)
    with override_settings(SECRET_KEY="another-key"):
        foreign = preview_links.make_token(revision, expires_in=DAY)
    with pytest.raises(PreviewLinkTampered):
        preview_links.load(foreign)


def test_payload_beyond_the_maximum_validity_is_refused(revision):
    token = signing.TimestampSigner(salt=preview_links.SALT).sign_object({"r": revision.pk, "s": 10**9, "u": None})
    with pytest.raises(PreviewLinkTampered):
        preview_links.load(token)


@pytest.mark.parametrize("expires_in", [31 * DAY, datetime.timedelta(0), -DAY, datetime.timedelta(seconds=5), 7])
def test_validity_must_be_between_a_minute_and_30_days(revision, editor, expires_in):
    with pytest.raises(InvalidContent, match="30 days"):
        preview_links.create_link(editor, revision, expires_in)


def test_thirty_days_is_allowed(revision, editor):
    assert preview_links.load(preview_links.create_link(editor, revision, 30 * DAY)) == revision


def test_only_editors_create_links(revision, reviewer, nobody, anonymous):
    for user in (reviewer, nobody, anonymous, None):
        with pytest.raises(NotPermitted):
            preview_links.create_link(user, revision, DAY)


def test_page_shows_exactly_that_revision_read_only(article, editor, client):
    first = article.latest_revision
    workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, title="Second title"), based_on=first)
    response = client.get(preview_links.url_for(preview_links.create_link(editor, first, DAY)))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Preview for review — not published, not medical advice" in html
    assert ARTICLE_CONTENT["title"] in html and "Second title" not in html
    assert ARTICLE_CONTENT["summary"] in html
    assert "<h2" in html and "Side effects" in html
    assert "https://www.cancer.gov/" in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Cache-Control"] == "private, no-store"
    assert "<form" not in html  # nothing to decide here; decisions need an account
    assert client.post(preview_links.url_for(preview_links.create_link(editor, first, DAY))).status_code == 405


def test_page_goes_through_the_sanitizer(editor, client):
    article = workflow.create_article(
        editor,
        slug="xss",
        article_type="drug",
        content=edited(
            ARTICLE_CONTENT,
            title="<script>alert(1)</script>Title",
            body='Hi <script>alert(2)</script> <img src=x onerror="alert(3)"> [x](javascript:alert(4))',
        ),
    )
    html = client.get(preview_links.url_for(preview_links.create_link(editor, article.latest_revision, DAY)))
    body = html.content.decode()
    assert "<script>alert" not in body
    assert "onerror" not in body
    assert "javascript:" not in body
    assert "&lt;script&gt;alert(1)" in body  # the title is escaped text


def test_glossary_term_preview(editor, client):
    term = workflow.create_glossary_term(
        editor,
        slug="t-cell",
        content={
            "term": "T cell",
            "aliases": ["T lymphocyte"],
            "short_definition": "A white blood cell.",
            "full_definition": "T cells **attack** infected cells.",
            "professional_definition": "CD3+ lymphocytes.",
        },
    )
    response = client.get(preview_links.url_for(preview_links.create_link(editor, term.latest_revision, DAY)))
    html = response.content.decode()
    assert response.status_code == 200
    assert "T cell" in html and "T lymphocyte" in html
    assert "<strong>attack</strong>" in html and "CD3+ lymphocytes." in html


# ---------------------------------------------------------------- links die with what they share (issue 17, finding 11)


def _revoked(client, token, reason: str) -> None:
    with pytest.raises(PreviewLinkRevoked, match=reason):
        preview_links.load(token)
    response = client.get(preview_links.url_for(token))
    assert response.status_code == 410
    page = response.content.decode()
    assert "This review link cannot be opened" in page and reason in page
    assert "These drugs help T cells" not in page  # the revision's text is not served
    assert response["Cache-Control"] == "private, no-store"


def test_link_stops_when_the_item_is_archived(published_article, editor, client):
    token = preview_links.create_link(editor, published_article.latest_revision, DAY)
    assert client.get(preview_links.url_for(token)).status_code == 200
    workflow.archive(published_article, editor)
    _revoked(client, token, "archived")


def test_link_stops_when_its_creator_is_deactivated(revision, editor, client):
    token = preview_links.create_link(editor, revision, DAY)
    editor.is_active = False
    editor.save()
    _revoked(client, token, "can no longer edit")


def test_link_stops_when_its_creator_loses_the_edit_permission(revision, editor, client):
    token = preview_links.create_link(editor, revision, DAY)
    editor.groups.clear()
    _revoked(client, token, "can no longer edit")


def test_link_stops_when_its_creator_is_deleted(revision, editor2, client):
    token = preview_links.create_link(editor2, revision, DAY)
    editor2.delete()
    _revoked(client, token, "can no longer edit")


def test_link_without_a_creator_is_refused(revision, client):
    _revoked(client, preview_links.make_token(revision, expires_in=DAY), "can no longer edit")


def test_link_keeps_working_for_an_active_editor_after_a_new_draft(published_article, editor, client):
    token = preview_links.create_link(editor, published_article.latest_revision, DAY)
    workflow.save_draft(
        published_article, editor, edited(ARTICLE_CONTENT, body="Newer"), based_on=published_article.latest_revision
    )
    assert client.get(preview_links.url_for(token)).status_code == 200
