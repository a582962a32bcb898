"""The public review trail (healthlib.review_trail): it equals the review records, its hashes verify, and it
shows readers nothing that was never published."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import override_settings
from selectolax.lexbor import LexborHTMLParser

from healthlib import cache as page_cache
from healthlib.models import Decision, Review, Revision
from healthlib.models.revisions import canonical_json
from tests import reader_fixtures
from tests.conftest import ARTICLE_CONTENT, edited
from tests.html_safety import json_ld_blocks, problems

clear_page_cache = reader_fixtures.clear_page_cache
wf = reader_fixtures.wf

pytestmark = pytest.mark.page_cache

SLUG = "checkpoint-inhibitors"
TRAIL = f"/health/articles/{SLUG}/reviews/"
LIVE_JSON = f"/health/articles/{SLUG}/reviews/live.json"
SECRETS = ("zqdraftsecret", "zqreviewsecret", "zqapprovedsecret", "zqcommentsecret")


@pytest.fixture
def history(wf, editor, reviewer, reviewer2):
    """Revision 1 published and reaffirmed; 2 sent back; 3 published; 4 approved but never published."""
    article = wf.create_article(editor, slug=SLUG, article_type="treatment", content=ARTICLE_CONTENT)
    wf.submit(article, editor)
    wf.approve(article, reviewer, change_summary="First version")
    wf.publish(article, editor)
    article.refresh_from_db()
    wf.reaffirm(article, reviewer2, comment="zqcommentsecret", change_summary="Checked against 2026 guidance")
    article.refresh_from_db()
    wf.save_draft(article, editor, edited(ARTICLE_CONTENT, body=ARTICLE_CONTENT["body"] + "\n\n## Fertility\n\nAsk."),
                  based_on=article.latest_revision)  # fmt: skip
    wf.submit(article, editor)
    wf.request_changes(article, reviewer, comment="zqcommentsecret: please cite")
    article.refresh_from_db()
    fixed = ARTICLE_CONTENT["body"] + "\n\n## Fertility\n\nAsk your care team."
    wf.save_draft(article, editor, edited(ARTICLE_CONTENT, body=fixed), based_on=article.latest_revision)
    wf.submit(article, editor)
    wf.approve(article, reviewer2, comment="zqcommentsecret", change_summary="Added: fertility section")
    wf.publish(article, editor)
    article.refresh_from_db()
    # Revision 4: approved, never published (its approval must not be shown).
    wf.save_draft(article, editor, edited(ARTICLE_CONTENT, title="zqapprovedsecret"), based_on=article.latest_revision)
    wf.submit(article, editor)
    wf.approve(article, reviewer, change_summary="zqapprovedsecret summary")
    article.refresh_from_db()
    return article


def rows(html: str) -> list[list[str]]:
    tree = LexborHTMLParser(html)
    return [
        [" ".join(cell.text(separator=" ").split()) for cell in row.css("td")]
        for row in tree.css("table.healthlib-review-trail tbody tr")
    ]


def test_trail_equals_the_review_records(client, history):
    response = client.get(TRAIL)
    assert response.status_code == 200
    expected = [
        r
        for r in Review.objects.filter(revision__item=history).select_related("revision", "credential_check")
        if r.decision in (Decision.APPROVED, Decision.REAFFIRMED) and r.revision.number in (1, 3)
    ]
    expected.sort(key=lambda r: (r.reviewed_at, r.pk), reverse=True)
    shown = rows(response.content.decode())
    assert len(shown) == len(expected) == 3
    for cells, review in zip(shown, expected, strict=True):
        date, decision, who, number, content_hash, summary = cells
        assert date == review.reviewed_at.strftime("%m/%d/%Y")
        assert decision == str(review.get_decision_display())
        assert who.startswith(f"{review.reviewer_name}, {review.reviewer_credentials}")
        check = review.credential_check
        assert f"{check.licensing_body}, licence {check.licence_number}" in who
        assert f"Credentials verified on {check.verified_on:%m/%d/%Y}" in who
        assert number.split()[0] == str(review.revision.number)
        assert content_hash == review.content_hash == review.revision.content_hash
        assert summary == review.change_summary
    assert [c[5] for c in shown] == ["Added: fertility section", "Checked against 2026 guidance", "First version"]
    assert [c[1] for c in shown] == ["Approved", "Reaffirmed as still accurate", "Approved"]
    assert shown[0][3] == "3 (live)"


def test_every_hash_on_the_trail_verifies(client, history):
    html = client.get(TRAIL).content.decode()
    for cells in rows(html):
        revision = Revision.objects.get(item=history, number=int(cells[3].split()[0]))
        assert hashlib.sha256(canonical_json(revision.content)).hexdigest() == cells[4]


def test_live_json_hashes_to_the_hash_shown(client, history):
    response = client.get(LIVE_JSON)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    digest = hashlib.sha256(response.content).hexdigest()
    assert digest == history.live_revision.content_hash
    html = client.get(TRAIL).content.decode()
    expected = LexborHTMLParser(html).css_first(".healthlib-verify .healthlib-hash").text()
    assert digest == expected
    assert f"curl -s http://testserver{LIVE_JSON} | sha256sum" in html
    assert json.loads(response.content) == history.live_revision.content


def test_live_json_follows_publication_not_drafts(client, history):
    content = json.loads(client.get(LIVE_JSON).content)
    assert content["title"] == ARTICLE_CONTENT["title"] and "Fertility" in content["body"]


def test_nothing_unpublished_leaks(client, history, editor):
    wf_draft = edited(ARTICLE_CONTENT, title="zqdraftsecret")
    pages = client.get(TRAIL).content.decode() + client.get(LIVE_JSON).content.decode()
    for secret in SECRETS:
        assert secret not in pages
    for number in (2, 4):  # sent back; approved but not published
        assert Revision.objects.get(item=history, number=number).content_hash not in pages
    assert wf_draft["title"] not in pages
    assert {row[3].split()[0] for row in rows(pages)} == {"1", "3"}


def test_a_newer_draft_in_review_leaks_nothing(client, wf, history, editor):
    wf.save_draft(history, editor, edited(ARTICLE_CONTENT, title="zqreviewsecret"), based_on=history.latest_revision)
    wf.submit(history, editor)
    history.refresh_from_db()
    pages = client.get(TRAIL).content.decode() + client.get(LIVE_JSON).content.decode()
    assert "zqreviewsecret" not in pages
    assert history.latest_revision.content_hash not in pages
    assert len(rows(pages)) == 3


@pytest.mark.parametrize("stage", ["draft", "in_review", "approved"])
def test_never_published_article_has_no_trail(client, wf, editor, reviewer, stage):
    article = wf.create_article(editor, slug=SLUG, article_type="treatment", content=ARTICLE_CONTENT)
    if stage != "draft":
        wf.submit(article, editor)
    if stage == "approved":
        wf.approve(article, reviewer, change_summary="zqapprovedsecret")
    for url in (TRAIL, LIVE_JSON):
        response = client.get(url)
        assert response.status_code == 404
        assert b"zqapprovedsecret" not in response.content


def test_archived_article_has_no_trail(client, wf, history, editor):
    wf.archive(history, editor)
    for url in (TRAIL, LIVE_JSON):  # retired, as the article page says (healthlib.views.retired)
        response = client.get(url)
        assert response.status_code == 410 and b"zqapprovedsecret" not in response.content
    assert client.get("/health/articles/no-such-article/reviews/").status_code == 404


def test_article_page_links_last_reviewed_to_the_trail(client, history):
    html = client.get(f"/health/articles/{SLUG}/").content.decode()
    line = LexborHTMLParser(html).css_first(".healthlib-last-reviewed a")
    assert line is not None and line.attributes["href"] == TRAIL
    assert "Last reviewed on" in line.text()


def test_term_pages_have_no_trail_link(client, wf, editor, reviewer):
    term = wf.create_glossary_term(editor, slug="t-cell", content=reader_fixtures.TERM_CONTENT)
    reader_fixtures.publish(wf, term, editor, reviewer)
    html = client.get("/health/glossary/t-cell/").content.decode()
    assert "Last reviewed on" in html and "/reviews/" not in html


def test_json_ld_lists_each_review_with_its_hash(client, history):
    [data] = json_ld_blocks(client.get(TRAIL).content.decode())
    assert data["@type"] == "WebPage" and data["about"]["@id"] == f"http://testserver/health/articles/{SLUG}/"
    items = data["mainEntity"]["itemListElement"]
    assert data["mainEntity"]["numberOfItems"] == len(items) == 3
    first = items[0]["item"]
    assert first["@type"] == "Review" and first["reviewBody"] == "Added: fertility section"
    assert first["itemReviewed"]["version"] == "3"
    assert first["itemReviewed"]["identifier"] == {
        "@type": "PropertyValue",
        "propertyID": "sha256",
        "value": history.live_revision.content_hash,
    }
    assert first["author"]["name"] == "Reviewer2" and first["author"]["honorificSuffix"] == "PharmD"
    assert [i["position"] for i in items] == [1, 2, 3]


def test_trail_is_cached_and_follows_publish_and_reaffirm(client, wf, history, editor, reviewer2):
    first = client.get(TRAIL)
    key = page_cache.page_key(first.wsgi_request)
    assert page_cache._cache().get(key) is not None  # stored like the article
    assert client.get(TRAIL).content == first.content
    first_json = client.get(LIVE_JSON).content
    wf.publish(history, editor)  # revision 4 goes live
    history.refresh_from_db()
    published = client.get(TRAIL).content.decode()
    assert [row[5] for row in rows(published)][:1] == ["zqapprovedsecret summary"]
    assert hashlib.sha256(client.get(LIVE_JSON).content).hexdigest() == history.live_revision.content_hash
    assert client.get(LIVE_JSON).content != first_json
    wf.reaffirm(history, reviewer2, change_summary="Still accurate")
    reaffirmed = rows(client.get(TRAIL).content.decode())
    assert reaffirmed[0][5] == "Still accurate" and len(reaffirmed) == 5


def test_reader_text_is_escaped(client, wf, editor, reviewer):
    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    article = wf.create_article(editor, slug=SLUG, article_type="treatment", content=ARTICLE_CONTENT)
    wf.submit(article, editor)
    wf.approve(article, reviewer, change_summary=evil)
    wf.publish(article, editor)
    html = client.get(TRAIL).content.decode()
    assert problems(html) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_change_summary_is_one_short_line(wf, editor, reviewer):
    from healthlib.exceptions import InvalidContent

    article = wf.create_article(editor, slug=SLUG, article_type="treatment", content=ARTICLE_CONTENT)
    wf.submit(article, editor)
    with pytest.raises(InvalidContent, match="too long"):
        wf.approve(article, reviewer, change_summary="x" * 201)
    assert not Review.objects.filter(revision__item=article).exists()
    review = wf.approve(article, reviewer, change_summary="  Added:\n fertility \x00\u202e  section\u200b ")
    assert review.change_summary == "Added: fertility section"


# ---------------------------------------------------------------- the reviewer's form


def test_admin_approval_needs_a_change_summary(client, wf, editor, reviewer):
    article = wf.create_article(editor, slug=SLUG, article_type="treatment", content=ARTICLE_CONTENT)
    wf.submit(article, editor)
    client.force_login(reviewer)
    url = f"/admin/healthlib/article/{article.pk}/workflow/approve/"
    data = {"revision": article.latest_revision_id}
    response = client.post(url, data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "what changed" in response.json()["error"]
    response = client.post(url, {**data, "change_summary": "x" * 201}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert not Review.objects.filter(revision__item=article).exists()
    review_page = client.get(f"/admin/healthlib/reviewqueue/{article.pk}/").content.decode()
    assert 'name="change_summary"' in review_page
    response = client.post(url, {**data, "change_summary": "First version"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert Review.objects.get(revision__item=article).change_summary == "First version"


def test_admin_reaffirm_summary_is_optional(client, wf, editor, reviewer, reviewer2):
    article = wf.create_article(editor, slug=SLUG, article_type="treatment", content=ARTICLE_CONTENT)
    reader_fixtures.publish(wf, article, editor, reviewer)
    client.force_login(reviewer2)
    url = f"/admin/healthlib/article/{article.pk}/workflow/reaffirm/"
    response = client.post(url, {"revision": article.live_revision_id}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200


@override_settings(HEALTHLIB={"CHECKLIST": {"comments_resolved": "off"}})
def test_a_sent_back_review_of_a_published_revision_is_not_shown(client, wf, editor, reviewer, reviewer2):
    """A site may let a sent-back revision go out unchanged; the request for changes stays internal."""
    article = wf.create_article(editor, slug=SLUG, article_type="treatment", content=ARTICLE_CONTENT)
    wf.submit(article, editor)
    wf.request_changes(article, reviewer, comment="zqcommentsecret")
    wf.submit(article, editor)
    wf.approve(article, reviewer2, change_summary="First version")
    wf.publish(article, editor)
    html = client.get(TRAIL).content.decode()
    assert [row[1] for row in rows(html)] == ["Approved"]
    assert "zqcommentsecret" not in html and "Changes requested" not in html
