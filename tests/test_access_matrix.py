"""Every URL x every actor: who may see and do what, asserted cell by cell.

Actors: anonymous, a logged-in user without staff status, an editor, a medical reviewer and a
superuser. The world (an article and a glossary term in each workflow state, each carrying a unique
marker word) is built once per module inside a transaction that is rolled back at the end.

- Reader pages of content that is not live (draft, in review, changes requested, approved) are 404
  for everyone, staff included; archived content that was live is 410 Gone; live content is 200 and never shows a pending
  draft; listings, search, feeds and sitemaps never show a marker that is not live.
- The staff preview is 403 for anonymous and non-staff users; shared preview links are 200 when
  valid, 410 once the item is archived, 403 when tampered with or expired, whoever opens them.
- Every admin URL of healthlib: anonymous and non-staff users get the admin's login redirect
  (``302`` to ``/admin/login/?next=<the url>``); staff get exactly the status in the table below.
- Every workflow POST endpoint: the right role succeeds (302 and the state changes); a staff user
  with the wrong role gets 403 and nothing changes.
- CSRF: every POST endpoint refuses a POST without a token (403, nothing changes).

The number of cells checked is printed at the end.
"""

from __future__ import annotations

import datetime
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.core import signing
from django.core.cache import caches
from django.db import transaction
from django.test import Client, TestCase
from django.utils import timezone

from healthlib import preview_links, problem_reports, workflow
from healthlib.conf import healthlib_settings
from healthlib.models import (
    ContentItem,
    ProblemReport,
    Review,
    ReviewerProfile,
    Revision,
    State,
    Topic,
    WorkflowEvent,
)
from tests.conftest import ARTICLE_CONTENT, edited, make_user
from tests.reader_fixtures import TERM_CONTENT

ACTORS = ("anonymous", "user", "editor", "reviewer", "superuser")
STAFF = ("editor", "reviewer", "superuser")
STATES = ("draft", "in_review", "changes_requested", "approved", "published", "published_with_draft", "archived")
LIVE_STATES = {"published", "published_with_draft"}
KINDS = ("article", "term")
CELLS = {"count": 0}


#: No state's word is a prefix of another's (search matches the last word as a prefix).
STATE_WORDS = {"draft": "drafted", "in_review": "reviewing", "changes_requested": "returned", "approved": "approved",
               "published": "live", "published_with_draft": "updating", "archived": "archived"}  # fmt: skip


def marker(kind: str, state: str, which: str = "") -> str:
    """A word that appears only in that item's revision (letters only, so search indexes it as one word)."""
    return f"zq{kind}{STATE_WORDS[state]}{which}"


def content(kind: str, word: str) -> dict:
    if kind == "article":
        return edited(
            ARTICLE_CONTENT, title=f"Article {word}", summary=f"About {word}.", body=f"## {word}\n\nText {word}."
        )
    return {**TERM_CONTENT, "term": f"Term {word}", "short_definition": f"Means {word}.", "full_definition": word}


def _build_world() -> dict:
    editor = make_user("m-editor", healthlib_settings.EDITOR_GROUP)
    reviewer = make_user("m-reviewer", healthlib_settings.REVIEWER_GROUP, credentials="MD")
    other_reviewer = make_user("m-reviewer2", healthlib_settings.REVIEWER_GROUP, credentials="PharmD")
    # A superuser who judges content needs verified credentials like any reviewer.
    root = make_user("m-root", superuser=True, credentials="MD")
    plain = User.objects.create_user("m-plain", "plain@example.org", "pw")  # logged in, not staff
    users = {"editor": editor, "reviewer": reviewer, "superuser": root, "user": plain}
    items: dict[tuple[str, str], ContentItem] = {}
    for kind in KINDS:
        for state in STATES:
            word = marker(kind, state)
            slug = f"{kind}-{state.replace('_', '-')}"
            if kind == "article":
                item = workflow.create_article(editor, slug=slug, article_type="treatment", content=content(kind, word))
            else:
                item = workflow.create_glossary_term(editor, slug=slug, content=content(kind, word))
            if state != "draft":
                workflow.submit(item, editor)
            if state == "changes_requested":
                workflow.request_changes(item, reviewer, comment="Please cite a newer source.")
            if state in {"approved", "published", "published_with_draft", "archived"}:
                workflow.approve(item, reviewer)
            if state in {"published", "published_with_draft", "archived"}:
                workflow.publish(item, editor)
            if state == "published_with_draft":
                item.refresh_from_db()
                workflow.save_draft(
                    item, editor, content(kind, marker(kind, state, "pending")), based_on=item.latest_revision
                )
                workflow.submit(item, editor)
            if state == "archived":
                workflow.archive(item, editor)
            item.refresh_from_db()
            expected = {"published_with_draft": State.IN_REVIEW}.get(state, state)
            assert item.state == expected, (kind, state, item.state)
            items[(kind, state)] = item
    topic = Topic.objects.create(name="Treatments", slug="treatments")
    items[("article", "published")].topics.add(topic)
    report = problem_reports.send_report(items[("article", "published")], message="The dose looks wrong.")
    clients = {"anonymous": Client()}
    for name, user in users.items():
        clients[name] = Client()
        clients[name].force_login(user)
    published = items[("article", "published")]
    return {
        "users": users,
        "clients": clients,
        "items": items,
        "topic": topic,
        "other_profile": ReviewerProfile.objects.get(user=other_reviewer),
        "own_profile": ReviewerProfile.objects.get(user=reviewer),
        "revision": published.live_revision,
        "review": Review.objects.filter(revision=published.live_revision).first(),
        "event": WorkflowEvent.objects.filter(item=published).first(),
        "problem_report": report,
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            with TestCase.captureOnCommitCallbacks(execute=True):
                data = _build_world()
            caches["default"].clear()
            yield data
            transaction.set_rollback(True)
        caches["default"].clear()


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    print(f"\n\nAccess matrix: {CELLS['count']} cells (URL x actor, POST endpoint x actor, CSRF) checked")


def cell(problems: list[str], what: str, got, expected) -> None:
    CELLS["count"] += 1
    if got != expected:
        problems.append(f"{what}: expected {expected}, got {got}")


def is_login_redirect(response, url: str) -> bool:
    """The admin's answer to anonymous and non-staff users: 302 to its login page, coming back to ``url``."""
    if response.status_code != 302:
        return False
    location = urlsplit(response["Location"])
    return location.path == "/admin/login/" and parse_qs(location.query) == {"next": [url]}


# ---------------------------------------------------------------- the readers' side


def reader_url(item) -> str:
    return item.specific().get_absolute_url()


def reader_urls(kind: str, item) -> list[str]:
    """The item's page and, for an article, its public review trail and live JSON (healthlib.review_trail)."""
    url = reader_url(item)
    return [url, f"{url}reviews/", f"{url}reviews/live.json"] if kind == "article" else [url]


def test_reader_pages_show_live_content_only(db, world):
    problems: list[str] = []
    for (kind, state), item in world["items"].items():
        for url, actor in [(url, actor) for url in reader_urls(kind, item) for actor in ACTORS]:
            caches["default"].clear()  # a page cached for one actor must not decide another's cell
            response = world["clients"][actor].get(url)
            expected = 200 if state in LIVE_STATES else 410 if state == "archived" else 404
            cell(problems, f"{actor} GET {url} ({kind} {state})", response.status_code, expected)
            page = response.content.decode()
            if state == "published_with_draft":
                assert marker(kind, state) in page
                assert marker(kind, state, "pending") not in page, f"{actor} sees a pending draft at {url}"
            elif state != "published":
                assert marker(kind, state) not in page
    assert not problems, "\n".join(problems)


def test_report_pages_exist_for_live_articles_only(db, world):
    problems: list[str] = []
    for (kind, state), item in world["items"].items():
        if kind != "article":
            continue
        for page in ("report/", "report/sent/"):
            url = reader_url(item) + page
            for actor in ACTORS:
                response = world["clients"][actor].get(url)
                cell(problems, f"{actor} GET {url}", response.status_code, 200 if state in LIVE_STATES else 404)
                assert "no-store" in response.get("Cache-Control", "no-store"), f"{url} may be cached"
    assert not problems, "\n".join(problems)


LISTINGS = [
    "/health/",
    "/health/articles/",
    "/health/glossary/",
    "/health/types/treatment/",
    "/health/topics/treatments/",
    "/health/feeds/rss/",
    "/health/feeds/atom/",
    "/health/sitemap.xml",
    "/sitemap.xml",
]


def hidden_markers() -> list[str]:
    words = [marker(kind, state) for kind in KINDS for state in STATES if state not in LIVE_STATES]
    return words + [marker(kind, "published_with_draft", "pending") for kind in KINDS]


def test_listings_feeds_and_sitemaps_never_show_content_that_is_not_live(db, world):
    problems: list[str] = []
    for url in LISTINGS:
        for actor in ACTORS:
            response = world["clients"][actor].get(url)
            cell(problems, f"{actor} GET {url}", response.status_code, 200)
            page = response.content.decode()
            leaked = [word for word in hidden_markers() if word in page]
            assert not leaked, f"{actor} GET {url} shows {leaked}"
    # The live ones are listed (so the check above is not vacuous).
    assert marker("article", "published") in world["clients"]["anonymous"].get("/health/articles/").content.decode()
    assert "/health/glossary/term-published/" in world["clients"]["anonymous"].get("/sitemap.xml").content.decode()
    assert not problems, "\n".join(problems)


def test_search_finds_live_content_only(db, world):
    problems: list[str] = []
    for actor in ACTORS:
        client = world["clients"][actor]
        for word in hidden_markers():
            response = client.get("/health/search/", {"q": word})
            cell(
                problems, f"{actor} search {word}", (response.status_code, response.context["results"].total), (200, 0)
            )
        for kind in KINDS:
            response = client.get("/health/search/", {"q": marker(kind, "published")})
            cell(problems, f"{actor} search live {kind}", response.context["results"].total, 1)
    assert not problems, "\n".join(problems)


def test_staff_preview(db, world):
    problems: list[str] = []
    expected = {"anonymous": 403, "user": 403, "editor": 200, "reviewer": 200, "superuser": 200}
    for (kind, state), item in world["items"].items():
        url = f"/health/preview/revision/{item.latest_revision_id}/"
        for actor in ACTORS:
            response = world["clients"][actor].get(url)
            cell(problems, f"{actor} GET staff preview of {kind} {state}", response.status_code, expected[actor])
            if response.status_code == 200:
                assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert not problems, "\n".join(problems)


def _tampered(token: str) -> list[str]:
    value, signature = token.rsplit(":", 1)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    head, rest = token[0], token[1:]
    return [
        f"{value}:{flipped}",  # a changed signature
        f"{('B' if head != 'B' else 'C')}{rest}",  # a changed payload
        value,  # no signature at all
        signing.TimestampSigner(key="another key", salt=preview_links.SALT).sign_object({"r": 1, "s": 3600}),
    ]


def test_shared_preview_links(db, world):
    problems: list[str] = []
    editor = world["users"]["editor"]
    for (kind, state), item in world["items"].items():
        revision = item.latest_revision
        valid = preview_links.create_link(editor, revision, datetime.timedelta(days=1))
        old = timezone.now() - datetime.timedelta(days=2)
        with mock.patch.object(
            signing.TimestampSigner, "timestamp", lambda self, old=old: signing.b62_encode(int(old.timestamp()))
        ):
            expired = preview_links.make_token(revision, expires_in=datetime.timedelta(days=1), created_by=editor)
        # A genuine link stops working once its item is archived (410, issue 17 finding 11).
        valid_status = 410 if state == "archived" else 200
        links = [("valid", valid, valid_status), ("expired", expired, 403)]
        links += [("tampered", t, 403) for t in _tampered(valid)]
        for actor in ACTORS:
            for label, token, status in links:
                response = world["clients"][actor].get(preview_links.url_for(token))
                cell(problems, f"{actor} GET {label} review link to {kind} {state}", response.status_code, status)
                if status == 200:
                    assert (
                        marker(kind, state, "pending" if state == "published_with_draft" else "")
                        in response.content.decode()
                    )
            response = world["clients"][actor].post(preview_links.url_for(valid))
            cell(problems, f"{actor} POST review link", response.status_code, 405)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the markdownx endpoints


def test_markdownx_preview_and_upload(db, world):
    problems: list[str] = []
    preview = {"anonymous": 403, "user": 403, "editor": 200, "reviewer": 200, "superuser": 200}
    # No file: editors get the form error (400); reviewers may not upload at all.
    upload = {"anonymous": 403, "user": 403, "editor": 400, "reviewer": 403, "superuser": 400}
    for actor in ACTORS:
        client = world["clients"][actor]
        cell(
            problems,
            f"{actor} POST markdownify",
            client.post("/markdownx/markdownify/", {"content": "*x*"}).status_code,
            preview[actor],
        )
        cell(problems, f"{actor} GET markdownify", client.get("/markdownx/markdownify/").status_code, 405)
        cell(problems, f"{actor} POST upload (no file)", client.post("/markdownx/upload/").status_code, upload[actor])
        cell(problems, f"{actor} GET upload", client.get("/markdownx/upload/").status_code, 405)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- admin pages

OK, NO = 200, 403


def admin_table(world) -> list[tuple[str, dict[str, int]]]:
    """Admin GET URLs and what each staff actor gets (anonymous and non-staff: the login redirect)."""
    items = world["items"]
    article, term = items[("article", "published")], items[("term", "published")]
    in_review = items[("article", "in_review")]
    all_ok = {"editor": OK, "reviewer": OK, "superuser": OK}
    nobody = {"editor": NO, "reviewer": NO, "superuser": NO}
    editors = {"editor": OK, "reviewer": NO, "superuser": OK}
    reviewers = {"editor": NO, "reviewer": OK, "superuser": OK}
    root_only = {"editor": NO, "reviewer": NO, "superuser": OK}
    rows = [("/admin/", all_ok), ("/admin/healthlib/", all_ok)]
    for model, obj in (("article", article), ("glossaryterm", term)):
        rows += [
            (f"/admin/healthlib/{model}/", all_ok),
            (f"/admin/healthlib/{model}/?state=in_review", all_ok),
            (f"/admin/healthlib/{model}/add/", editors),
            (f"/admin/healthlib/{model}/{obj.pk}/change/", all_ok),
            (f"/admin/healthlib/{model}/{obj.pk}/history/", all_ok),
            (f"/admin/healthlib/{model}/{obj.pk}/history/?a={obj.live_revision_id}&b={obj.latest_revision_id}", all_ok),
            (f"/admin/healthlib/{model}/{obj.pk}/delete/", nobody),
        ]
    topic = world["topic"]
    rows += [
        ("/admin/healthlib/topic/", all_ok),
        ("/admin/healthlib/topic/add/", editors),
        (f"/admin/healthlib/topic/{topic.pk}/change/", all_ok),
        (f"/admin/healthlib/topic/{topic.pk}/delete/", root_only),
    ]
    for model, obj in (("revision", world["revision"]), ("review", world["review"]), ("workflowevent", world["event"])):
        rows += [
            (f"/admin/healthlib/{model}/", all_ok),
            (f"/admin/healthlib/{model}/{obj.pk}/change/", all_ok),
            (f"/admin/healthlib/{model}/{obj.pk}/history/", all_ok),
            (f"/admin/healthlib/{model}/add/", nobody),
            (f"/admin/healthlib/{model}/{obj.pk}/delete/", nobody),
        ]
    own, other = world["own_profile"], world["other_profile"]
    rows += [
        ("/admin/healthlib/reviewerprofile/", all_ok),
        ("/admin/healthlib/reviewerprofile/add/", root_only),
        (f"/admin/healthlib/reviewerprofile/{own.pk}/change/", all_ok),  # the reviewer's own: editable
        (f"/admin/healthlib/reviewerprofile/{other.pk}/change/", all_ok),  # someone else's: read-only
        (f"/admin/healthlib/reviewerprofile/{own.pk}/delete/", root_only),
        ("/admin/healthlib/reviewqueue/", reviewers),
        (f"/admin/healthlib/reviewqueue/{in_review.pk}/", reviewers),
        ("/admin/healthlib/reviewdates/", all_ok),
    ]
    report = world["problem_report"]
    rows += [
        ("/admin/healthlib/problemreport/", all_ok),
        ("/admin/healthlib/problemreport/?status=all", all_ok),
        (f"/admin/healthlib/problemreport/{report.pk}/change/", all_ok),
        ("/admin/healthlib/problemreport/add/", nobody),
        (f"/admin/healthlib/problemreport/{report.pk}/delete/", nobody),
    ]
    return rows


def test_admin_pages(db, world):
    problems: list[str] = []
    for url, expected in admin_table(world):
        for actor in ACTORS:
            response = world["clients"][actor].get(url)
            if actor in STAFF:
                cell(problems, f"{actor} GET {url}", response.status_code, expected[actor])
            else:
                cell(problems, f"{actor} GET {url} -> admin login", is_login_redirect(response, url), True)
    assert not problems, "\n".join(problems)


def test_reviewer_can_edit_only_their_own_profile(db, world):
    problems: list[str] = []
    client = world["clients"]["reviewer"]
    own, other = world["own_profile"], world["other_profile"]
    response = client.post(
        f"/admin/healthlib/reviewerprofile/{own.pk}/change/",
        {"display_name": "Dr Own", "credentials": "MD", "specialty": "", "bio_url": ""},
    )
    cell(problems, "reviewer POST own profile", response.status_code, 302)
    response = client.post(
        f"/admin/healthlib/reviewerprofile/{other.pk}/change/",
        {"display_name": "Hijacked", "credentials": "MD", "specialty": "", "bio_url": ""},
    )
    cell(problems, "reviewer POST someone else's profile", response.status_code, 403)
    other.refresh_from_db()
    assert other.display_name != "Hijacked"
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- workflow POST endpoints

EDITORS = {"editor", "superuser"}
REVIEWERS = {"reviewer", "superuser"}

#: action -> (state the item starts in, actors allowed, extra POST data)
ACTIONS: dict[str, tuple[str, set[str], dict]] = {
    "submit": ("draft", EDITORS, {}),
    "withdraw": ("in_review", EDITORS, {}),
    "approve": ("in_review", REVIEWERS, {"comment": "Accurate.", "change_summary": "First version"}),
    "request_changes": ("in_review", REVIEWERS, {"comment": "Cite a newer source."}),
    "publish": ("approved", EDITORS, {}),
    "schedule": ("approved", EDITORS, {"publish_at": "2099-01-01 09:00"}),
    "cancel_schedule": ("scheduled", EDITORS, {}),
    "reaffirm": ("published", REVIEWERS, {"comment": "Still accurate."}),
    "archive": ("published", EDITORS, {}),
    "restore": ("archived", EDITORS, {}),
    "review_link": ("draft", EDITORS, {}),
}


def fresh_item(world, kind: str, state: str, n: int) -> ContentItem:
    editor, reviewer = world["users"]["editor"], world["users"]["reviewer"]
    word = f"zqfresh{kind}{n}"
    if kind == "article":
        item = workflow.create_article(editor, slug=f"fresh-{n}", article_type="treatment", content=content(kind, word))
    else:
        item = workflow.create_glossary_term(editor, slug=f"fresh-{n}", content=content(kind, word))
    if state == "draft":
        return item
    workflow.submit(item, editor)
    if state == "in_review":
        return item
    workflow.approve(item, reviewer)
    if state == "scheduled":
        workflow.schedule_publish(item, editor, at=timezone.now() + datetime.timedelta(days=3))
    if state in {"published", "archived"}:
        workflow.publish(item, editor)
    if state == "archived":
        workflow.archive(item, editor)
    item.refresh_from_db()
    return item


def snapshot(item) -> tuple:
    item = ContentItem.objects.get(pk=item.pk)
    return (item.state, item.latest_revision_id, item.live_revision_id, item.publish_at,
            WorkflowEvent.objects.filter(item=item).count(), Review.objects.filter(revision__item=item).count(),
            Revision.objects.filter(item=item).count())  # fmt: skip


def action_url(item, action: str) -> str:
    model = "article" if item.kind == "article" else "glossaryterm"
    return f"/admin/healthlib/{model}/{item.pk}/workflow/{action}/"


def post_data(item, action: str, extra: dict) -> dict:
    revision = item.live_revision_id if action == "reaffirm" else item.latest_revision_id
    data = {"revision": revision, **extra}
    if action == "restore":
        data["based_on"] = item.latest_revision_id
    return data


def test_workflow_endpoints_by_role(db, world):
    problems: list[str] = []
    n = 0
    for kind in KINDS:
        for action, (state, allowed, extra) in ACTIONS.items():
            for actor in ACTORS:
                n += 1
                item = fresh_item(world, kind, state, n)
                before = snapshot(item)
                url = action_url(item, action)
                response = world["clients"][actor].post(url, post_data(item, action, extra))
                what = f"{actor} POST {action} on a {kind} ({state})"
                if actor in allowed:
                    cell(problems, what, response.status_code, 302)
                    if action != "review_link":  # a review link changes nothing: it is signed, not stored
                        assert snapshot(item) != before, f"{what}: nothing changed"
                elif actor in STAFF:
                    cell(problems, what, response.status_code, 403)
                    assert snapshot(item) == before, f"{what}: refused but changed"
                else:
                    cell(problems, f"{what} -> admin login", is_login_redirect(response, url), True)
                    assert snapshot(item) == before, f"{what}: refused but changed"
                # GET is never an action.
                response = world["clients"][actor].get(url)
                expected_get = 405 if actor in STAFF else "login"
                got_get = (
                    405
                    if response.status_code == 405
                    else ("login" if is_login_redirect(response, url) else response.status_code)
                )
                cell(problems, f"{actor} GET {action}", got_get, expected_get)
    assert not problems, "\n".join(problems)


def test_reviewer_who_wrote_the_revision_cannot_approve_it(db, world):
    author = make_user("m-dual", healthlib_settings.EDITOR_GROUP, healthlib_settings.REVIEWER_GROUP, credentials="MD")
    item = workflow.create_article(
        author, slug="own-work", article_type="treatment", content=content("article", "zqownwork")
    )
    workflow.submit(item, author)
    client = Client()
    client.force_login(author)
    before = snapshot(item)
    response = client.post(action_url(item, "approve"), {"revision": item.latest_revision_id})
    problems: list[str] = []
    cell(problems, "author-reviewer POST approve on own revision", response.status_code, 403)
    assert snapshot(item) == before
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- CSRF


def csrf_endpoints(world) -> list[tuple[str, dict, ContentItem | None]]:
    items = world["items"]
    endpoints: list[tuple[str, dict, ContentItem | None]] = []
    for kind in KINDS:
        for action, (state, _allowed, extra) in ACTIONS.items():
            source = {"draft": "draft", "in_review": "in_review", "approved": "approved", "published": "published",
                      "archived": "archived", "scheduled": "approved"}[state]  # fmt: skip
            item = items[(kind, source)]
            endpoints.append((action_url(item, action), post_data(item, action, extra), item))
    article, term, draft = items[("article", "published")], items[("term", "published")], items[("article", "draft")]
    topic, profile = world["topic"], world["own_profile"]
    endpoints += [
        ("/admin/healthlib/article/add/", {"title": "T", "summary": "S", "body": "B", "slug": "csrf-new", "article_type": "treatment"}, None),
        (f"/admin/healthlib/article/{draft.pk}/change/", {"title": "Changed", "summary": "S", "body": "B", "article_type": "treatment", "based_on": draft.latest_revision_id}, draft),
        ("/admin/healthlib/glossaryterm/add/", {"term": "T", "short_definition": "S", "slug": "csrf-new"}, None),
        (f"/admin/healthlib/glossaryterm/{term.pk}/change/", {"term": "Changed", "short_definition": "S"}, term),
        ("/admin/healthlib/article/", {"action": "delete_selected", "_selected_action": [article.pk]}, article),
        ("/admin/healthlib/topic/add/", {"name": "CSRF", "slug": "csrf"}, None),
        (f"/admin/healthlib/topic/{topic.pk}/change/", {"name": "Changed", "slug": "treatments"}, None),
        (f"/admin/healthlib/topic/{topic.pk}/delete/", {"post": "yes"}, None),
        ("/admin/healthlib/reviewerprofile/add/", {"display_name": "X", "user": world["users"]["editor"].pk}, None),
        (f"/admin/healthlib/reviewerprofile/{profile.pk}/change/", {"display_name": "Changed"}, None),
        (f"/admin/healthlib/reviewerprofile/{profile.pk}/delete/", {"post": "yes"}, None),
        ("/markdownx/markdownify/", {"content": "*x*"}, None),
        ("/markdownx/upload/", {}, None),
        ("/admin/logout/", {}, None),
        (f"{article.get_absolute_url()}report/", {"message": "No token."}, None),
        (f"/admin/healthlib/problemreport/{world['problem_report'].pk}/close/", {"note": "No token."}, None),
    ]  # fmt: skip
    return endpoints


def world_state(world) -> tuple:
    return (
        tuple(snapshot(item) for item in world["items"].values()),
        Topic.objects.filter(pk=world["topic"].pk).values_list("name", flat=True).first(),
        tuple(ReviewerProfile.objects.order_by("pk").values_list("display_name", flat=True)),
        ContentItem.objects.count(),
        tuple(ProblemReport.objects.order_by("pk").values_list("status", "closing_note")),
    )


def test_csrf_is_enforced_on_every_post_endpoint(db, world):
    problems: list[str] = []
    before = world_state(world)
    for actor in ("editor", "reviewer", "superuser"):
        client = Client(enforce_csrf_checks=True)
        client.force_login(world["users"][actor])
        for url, data, _item in csrf_endpoints(world):
            response = client.post(url, data)
            refused = response.status_code == 403 and b"CSRF" in response.content
            cell(problems, f"{actor} POST {url} without a CSRF token", refused, True)
    # The login form itself (anonymous).
    response = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "m-root", "password": "pw"})
    cell(problems, "anonymous POST /admin/login/ without a CSRF token", response.status_code, 403)
    # A reader's report (the form's one real user is anonymous).
    report_url = world["items"][("article", "published")].get_absolute_url() + "report/"
    response = Client(enforce_csrf_checks=True).post(report_url, {"message": "No token."})
    cell(problems, f"anonymous POST {report_url} without a CSRF token", response.status_code, 403)
    assert world_state(world) == before, "a POST without a CSRF token changed something"
    assert not problems, "\n".join(problems)


def test_csrf_token_makes_the_same_post_work(db, world):
    """Control for the test above: with the token, the superuser's submit goes through."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["users"]["superuser"])
    item = fresh_item(world, "article", "draft", 999)
    page = client.get(f"/admin/healthlib/article/{item.pk}/change/")
    token = page.cookies["csrftoken"].value
    response = client.post(
        action_url(item, "submit"), {"revision": item.latest_revision_id, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.state == State.IN_REVIEW
