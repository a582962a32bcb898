"""XSS: every payload of tests/xss_payloads.py through every entry point, output checked by parsing.

The corpus is published in bulk through the workflow (inside a transaction rolled back at the end),
so every payload sits in every field at once. It is built and checked in ``PARTS`` parts: payload i
belongs to part i % PARTS, each part is one parameter of the module-scoped ``corpus`` fixture, and
each part is an ``xdist_group`` of its own, so ``make test``'s workers (``--dist loadgroup``, see
tests/conftest.py) share the module instead of one of them building and checking all of it. Every
test runs once per part; together the parts cover every payload. In each part:

- article i: title, summary, body, reference title and publisher, and the reference URL when the
  validator accepts it; then a new draft holding payload i+1 is saved, the
  submit/approve comments are the payload, and every fourth article's draft is submitted and sent
  back with changes requested (comment = payload), so diffs, review pages, history and comments all
  carry payloads;
- glossary term i: term, aliases (plus an alias ``zetaN`` that article i mentions, so the linker
  puts term i's definition inline in article i), pronunciation, short/full/professional definitions;
- reviewer i (who approves article i and term i): display name, credentials, specialty, bio URL,
  validated by the admin's reviewer-profile form (whose re-rendered error page is checked too).

Where a validator rejects a payload that is a pass; the rejection is recorded and a benign value
is used instead. Each test then renders one kind of page for every payload and parses it with
html5lib (tests/html_safety.py). A summary of the counts is printed at the end of the module.
"""

from __future__ import annotations

import collections
import datetime
import os
import re
import time
import unicodedata
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import caches
from django.db import connection, transaction
from django.test import Client, TestCase, override_settings

from healthlib import editor_preview, notifications, preview_links, workflow
from healthlib.conf import DEFAULTS, healthlib_settings
from healthlib.exceptions import InvalidContent
from healthlib.models import Article, GlossaryTerm, ReviewerProfile
from healthlib.normalise import one_line
from tests.browser import CHROMIUM, launch_chromium
from tests.conftest import verify_for_test
from tests.html_safety import feed_problems, json_ld_blocks, problems
from tests.xss_payloads import PAYLOADS, Payload

# XSS_LIMIT=40 runs the first 40 payloads only (while working on this module); the default is all on
# SQLite. The PostgreSQL run (make test-postgres) takes every third payload of each class: the
# sanitizer does not depend on the database, search snippets (ts_headline) do, and building the
# corpus there is slower.
if os.environ.get("XSS_ONLY"):  # XSS_ONLY=markdown-052,script-001: just these (to reproduce a finding)
    PAYLOADS = [p for p in PAYLOADS if p.id in os.environ["XSS_ONLY"].split(",")]
elif os.environ.get("XSS_LIMIT"):
    PAYLOADS = PAYLOADS[: int(os.environ["XSS_LIMIT"])]
elif os.environ.get("HEALTHLIB_TEST_DB") == "postgres":
    PAYLOADS = PAYLOADS[::3]
N = len(PAYLOADS)
#: Parts of the corpus (see the module's docstring); ``make test`` runs two workers, and four parts let
#: them even out with the rest of the suite. Each part is built, checked and rolled back on its own.
PARTS = 4
#: The pre-publish checklist is not part of the sanitizing path; off, so bulk publishing is quicker.
NO_CHECKLIST = {"CHECKLIST": {rule: "off" for rule in DEFAULTS["CHECKLIST"]}}
STATS: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
#: Payloads refused by validation (a pass), per field, over the parts this process checked (for the report).
REJECTED: dict[str, set[str]] = collections.defaultdict(set)


def note(entry_point: str, pages: int = 1) -> None:
    STATS[entry_point]["pages"] += pages


def benign(text: str) -> str:
    """``text`` without control and format characters (NUL, vertical tab, bidi overrides), which validation refuses."""
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf"))


def single_line(text: str) -> str:
    return " ".join(benign(text).split("\n"))[:200]


def _clean_article(payload, index: int, rejected: dict[str, set[str]]) -> dict:
    text = payload.text
    content = {
        "title": text,
        "summary": text,
        "body": f"{text}\n\nSee zeta{index} for more.",
        "references": [{"title": text, "publisher": text, "url": text, "year": 2020}],
    }
    from healthlib.content_schema import clean_article_content

    fallbacks = {
        "title": single_line(text) or "x",
        "summary": benign(text),
        "body": f"{benign(text)}\n\nSee zeta{index} for more.",
        "references[0].title": single_line(text) or "x",
        "references[0].publisher": single_line(text),
        "references[0].url": f"https://example.org/ref/{index}",
    }
    for _ in range(3):
        try:
            return clean_article_content(content)
        except InvalidContent as error:
            for field in error.errors:
                rejected[f"article.{field.replace('[0]', '')}"].add(payload.id)
                if field.startswith("references[0]."):
                    content["references"][0][field.split(".", 1)[1]] = fallbacks[field]
                else:
                    content[field] = fallbacks[field]
    raise AssertionError(f"{payload.id}: no valid article content")


def _clean_term(payload, index: int, rejected: dict[str, set[str]]) -> dict:
    from healthlib.content_schema import clean_term_content

    text = payload.text
    content = {
        "term": text,
        "aliases": [text, f"zeta{index}"],
        "pronunciation": text,
        "short_definition": text,
        "full_definition": text,
        "professional_definition": text,
        "related_terms": [],
    }
    fallbacks = {
        "term": single_line(text) or "x",
        "aliases": [single_line(text), f"zeta{index}"],
        "pronunciation": single_line(text),
        "short_definition": benign(text),
        "full_definition": benign(text),
        "professional_definition": benign(text),
    }
    for _ in range(3):
        try:
            return clean_term_content(content)
        except InvalidContent as error:
            for field in error.errors:
                rejected[f"term.{field}"].add(payload.id)
                content[field] = fallbacks[field]
    raise AssertionError(f"{payload.id}: no valid term content")


def _profile_through_admin_form(root: User, user: User, payload, rejected: dict[str, set[str]]) -> ReviewerProfile:
    """Reviewer i's profile, validated by the admin's own form; refused fields are recorded and replaced."""
    from django.contrib import admin
    from django.test import RequestFactory

    request = RequestFactory().post("/admin/healthlib/reviewerprofile/add/")
    request.user = root
    form_class = admin.site._registry[ReviewerProfile].get_form(request)
    data = {"user": user.pk, **{field: payload.text for field in PROFILE_FIELDS}}
    for _ in range(3):
        form = form_class(data)
        if form.is_valid():
            return form.save()
        for field in form.errors:
            rejected[f"reviewer_profile.{field}"].add(payload.id)
            data[field] = f"https://example.org/bio/{user.pk}" if field in URL_FIELDS else f"Reviewer {user.pk}"
    raise AssertionError(f"{payload.id}: reviewer profile never accepted: {form.errors}")


PROFILE_FIELDS = (
    "display_name", "credentials", "specialty", "bio_url", "licensing_body", "licence_number", "registry_url"
)  # fmt: skip
URL_FIELDS = ("bio_url", "registry_url")


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(part, id=f"part{part}", marks=pytest.mark.xdist_group(f"xss-part{part}")) for part in range(PARTS)
    ],
)
def corpus(request, django_db_setup, django_db_blocker):
    """One part of the corpus in the database, built once per part; rolled back when the part is done."""
    part = request.param
    with django_db_blocker.unblock():
        if Group._meta.db_table not in connection.introspection.table_names():
            # pytest-django sets up the test database only for a selection with a database test in it.
            pytest.fail(
                "no test database: the Chromium tests alone do not ask pytest-django for one; "
                "select a database test with them, e.g. add tests/test_models.py"
            )
        with transaction.atomic():
            # Run the after-commit work (search index, glossary relinking) as a commit would. Mail is
            # plain text and not an HTML entry point: its recording is off while the corpus is built.
            notifications.disconnect()
            try:
                with override_settings(HEALTHLIB=NO_CHECKLIST), TestCase.captureOnCommitCallbacks(execute=True):
                    data = _build_corpus(part)
            finally:
                notifications.connect()
            caches["default"].clear()
            yield data
            transaction.set_rollback(True)
        caches["default"].clear()
    for field, ids in data["rejected"].items():
        REJECTED[field] |= ids


def _build_corpus(part: int) -> dict:
    payloads = [(index, payload) for index, payload in enumerate(PAYLOADS) if index % PARTS == part]
    rejected: dict[str, set[str]] = collections.defaultdict(set)
    editors = Group.objects.get(name=healthlib_settings.EDITOR_GROUP)
    reviewers = Group.objects.get(name=healthlib_settings.REVIEWER_GROUP)
    editor = User.objects.create_user("xss-editor", "e@example.org", "pw", is_staff=True)
    editor.groups.add(editors)
    root = User.objects.create_user("xss-root", "r@example.org", "pw", is_staff=True, is_superuser=True)
    admin_client = Client()
    admin_client.force_login(root)
    # Keyed by the payload's index in PAYLOADS (which names the slugs: article x{i}, term t{i}).
    reviewer_users: dict[int, User] = {}
    for index, payload in payloads:
        user = User.objects.create_user(f"xss-reviewer-{index}", f"r{index}@example.org", "pw", is_staff=True)
        user.groups.add(reviewers)
        profile = _profile_through_admin_form(root, user, payload, rejected)
        # The payload is in what was verified too: reviews snapshot the verified credentials.
        verify_for_test(profile, datetime.date.today() - datetime.timedelta(days=30))
        reviewer_users[index] = User.objects.select_related("reviewer_profile").get(pk=user.pk)

    terms: dict[int, GlossaryTerm] = {}
    articles: dict[int, Article] = {}
    for index, payload in payloads:
        reviewer = reviewer_users[index]
        term = workflow.create_glossary_term(editor, slug=f"t{index}", content=_clean_term(payload, index, rejected))
        workflow.submit(term, editor, comment=benign(payload.text))
        workflow.approve(term, reviewer, comment=benign(payload.text))
        workflow.publish(term, editor)
        terms[index] = term
    for index, payload in payloads:
        reviewer = reviewer_users[index]
        article = workflow.create_article(
            editor, slug=f"x{index}", article_type="treatment", content=_clean_article(payload, index, rejected)
        )
        comment = benign(payload.text)
        workflow.submit(article, editor, comment=comment)
        # The reviewer's one-line summary is shown to readers on the review trail.
        workflow.approve(article, reviewer, comment=comment, change_summary=payload.text)
        workflow.publish(article, editor)
        # A new draft carrying the next payload: the review page diffs it against the live one.
        following = PAYLOADS[(index + 1) % N]
        # Its refusals are counted where it is a payload of its own (another part, perhaps).
        following_content = _clean_article(following, index, collections.defaultdict(set))
        workflow.save_draft(article, editor, following_content, based_on=article.latest_revision)
        if index % 4 == 1:
            workflow.submit(article, editor, comment=comment)
            workflow.request_changes(article, reviewer, comment=comment)
        article.refresh_from_db()
        articles[index] = article
    editor_client = Client()
    editor_client.force_login(editor)
    caches["default"].clear()
    return {
        "part": part,
        "payloads": payloads,
        "rejected": rejected,
        "editor": editor,
        "root": root,
        "terms": terms,
        "articles": articles,
        "reviewers": reviewer_users,
        "admin": admin_client,
        "editor_client": editor_client,
    }


def check(entry_point: str, html: str, payload_id: str = "") -> list[str]:
    STATS[entry_point]["pages"] += 1
    return [f"{entry_point} [{payload_id}]: {p}" for p in problems(html)]


def get_ok(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    pages = sum(c["pages"] for c in STATS.values())
    print(f"\n\nXSS corpus: {N} payloads in {PARTS} parts, {len(STATS)} entry points/page types")
    print(f"  {pages} pages parsed and checked, in the parts checked here")
    for entry_point, counter in sorted(STATS.items()):
        print(f"  {entry_point}: {counter['pages']} pages")
    print("  refused by validation (a pass), in the parts checked here:")
    for field, ids in sorted(REJECTED.items()):
        print(f"    {field}: {len(ids)} payloads")


# ---------------------------------------------------------------- reader pages


def test_article_pages(db, corpus):
    client = Client()
    found: list[str] = []
    for index, payload in corpus["payloads"]:
        html = get_ok(client, f"/health/articles/x{index}/")
        found += check("article page", html, payload.id)
        # The JSON-LD block carries the payload in name, description, citation and reviewer fields.
        (data,) = json_ld_blocks(html)
        assert data["name"] == corpus["articles"][index].live_title
        STATS["article JSON-LD"]["pages"] += 1
    assert not found, "\n".join(found)


def test_review_trail_pages(db, corpus):
    """The trail shows the change summary and the verified credentials and licence, all reviewer-written."""
    client = Client()
    found: list[str] = []
    for index, payload in corpus["payloads"]:
        html = get_ok(client, f"/health/articles/x{index}/reviews/")
        found += check("review trail page", html, payload.id)
        (data,) = json_ld_blocks(html)
        (entry,) = data["mainEntity"]["itemListElement"]
        assert entry["item"].get("reviewBody", "") == one_line(payload.text)
        STATS["review trail JSON-LD"]["pages"] += 1
    assert not found, "\n".join(found)


def test_inline_glossary_definitions_carry_the_payload_escaped(db, corpus):
    """Article i mentions zeta{i}, an alias of term i, so term i's payload definition is inline."""
    client = Client()
    linked = 0
    for index, _payload in corpus["payloads"]:
        html = get_ok(client, f"/health/articles/x{index}/")
        if f'href="/health/glossary/t{index}/"' in html:
            linked += 1
    STATS["inline glossary definitions"]["pages"] += linked
    total = len(corpus["payloads"])
    assert linked >= total * 0.9, f"only {linked} of {total} articles link their term"


def test_term_pages(db, corpus):
    client = Client()
    found: list[str] = []
    for index, payload in corpus["payloads"]:
        html = get_ok(client, f"/health/glossary/t{index}/")
        found += check("glossary term page", html, payload.id)
        json_ld_blocks(html)
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "url",
    ["/health/", "/health/articles/", "/health/glossary/", "/health/types/treatment/"],
)
def test_listing_pages(db, corpus, url):
    found = check(f"listing {url}", get_ok(Client(), url))
    assert not found, "\n".join(found)


def test_search_queries_and_results(db, corpus):
    client = Client()
    found: list[str] = []
    for _index, payload in corpus["payloads"]:
        response = client.get("/health/search/", {"q": payload.text})
        assert response.status_code == 200
        found += check("search query", response.content.decode(), payload.id)
    # Words the payloads share, so the results and their snippets hold payload text.
    for word in ["script", "onerror", "javascript", "xss", "img", "svg", "alert", "iframe", "zeta1", "style"]:
        for page in (1, 2):
            response = client.get("/health/search/", {"q": word, "page": page})
            assert response.status_code in (200, 404)
            if response.status_code == 200:
                found += check("search results", response.content.decode(), word)
    assert not found, "\n".join(found)


def test_feeds_and_sitemap(db, corpus):
    client = Client()
    found: list[str] = []
    for url in ["/health/feeds/rss/", "/health/feeds/atom/"]:
        STATS["feeds"]["pages"] += 1
        found += [f"{url}: {p}" for p in feed_problems(get_ok(client, url))]
    for url in ["/health/sitemap.xml", "/sitemap.xml"]:
        STATS["sitemap"]["pages"] += 1
        found += [f"{url}: {p}" for p in feed_problems(get_ok(client, url))]
    assert not found, "\n".join(found)


# ---------------------------------------------------------------- previews


def test_staff_preview_of_drafts_and_live_revisions(db, corpus):
    client = corpus["editor_client"]
    found: list[str] = []
    for index, payload in corpus["payloads"]:
        article = corpus["articles"][index]
        for revision in (article.latest_revision_id, article.live_revision_id):
            found += check(
                "staff preview (article)", get_ok(client, f"/health/preview/revision/{revision}/"), payload.id
            )
        term = corpus["terms"][index]
        found += check(
            "staff preview (term)", get_ok(client, f"/health/preview/revision/{term.latest_revision_id}/"), payload.id
        )
    assert not found, "\n".join(found)


def test_shared_preview_links(db, corpus):
    client = Client()
    found: list[str] = []
    editor = corpus["editor"]
    for index, payload in corpus["payloads"]:
        for item in (corpus["articles"][index], corpus["terms"][index]):
            token = preview_links.create_link(editor, item.latest_revision, datetime.timedelta(days=1))
            found += check("shared preview link", get_ok(client, preview_links.url_for(token)), payload.id)
    assert not found, "\n".join(found)


def test_markdownx_preview_endpoint(db, corpus):
    client = corpus["editor_client"]
    found: list[str] = []
    for _index, payload in corpus["payloads"]:
        response = client.post("/markdownx/markdownify/", {"content": payload.text})
        assert response.status_code == 200
        found += check("markdownx preview", response.content.decode(), payload.id)
    assert not found, "\n".join(found)


# ---------------------------------------------------------------- the admin workspace


def test_review_pages_with_diffs(db, corpus):
    client = corpus["admin"]
    found: list[str] = []
    for index, payload in corpus["payloads"]:
        article = corpus["articles"][index]
        found += check(
            "admin review page (diff)", get_ok(client, f"/admin/healthlib/reviewqueue/{article.pk}/"), payload.id
        )
    for index, _payload in corpus["payloads"][::7]:
        term = corpus["terms"][index]
        found += check(
            "admin review page (diff)", get_ok(client, f"/admin/healthlib/reviewqueue/{term.pk}/"), str(index)
        )
    assert not found, "\n".join(found)


def test_history_and_compare(db, corpus):
    client = corpus["admin"]
    found: list[str] = []
    for index, payload in corpus["payloads"]:
        article = corpus["articles"][index]
        url = (
            f"/admin/healthlib/article/{article.pk}/history/"
            f"?a={article.live_revision_id}&b={article.latest_revision_id}"
        )
        found += check("admin history + compare", get_ok(client, url), payload.id)
    assert not found, "\n".join(found)


def test_change_forms(db, corpus):
    """The change form holds every content field (as form values), the preview, comments and actions.

    Every payload as the editor sees it; every tenth as the superuser (the same page with other buttons).
    """
    found: list[str] = []
    for client, who, step in ((corpus["editor_client"], "editor", 1), (corpus["admin"], "superuser", 10)):
        for index, payload in corpus["payloads"][::step]:
            article, term = corpus["articles"][index], corpus["terms"][index]
            found += check(f"admin article change form ({who})", get_ok(client, f"/admin/healthlib/article/{article.pk}/change/"), payload.id)  # fmt: skip
            found += check(f"admin term change form ({who})", get_ok(client, f"/admin/healthlib/glossaryterm/{term.pk}/change/"), payload.id)  # fmt: skip
    assert not found, "\n".join(found)


def test_reviewer_profile_form_rerendered_with_errors(db, corpus):
    """The add form comes back with refused values (mostly the bio URL) in it: still escaped.

    A payload that is a valid http(s) address is accepted everywhere: its saved profile is checked instead.
    """
    client = corpus["admin"]
    found: list[str] = []
    user = User.objects.create_user("xss-profile-probe", "p@example.org", "pw", is_staff=True)
    refused = 0
    for _index, payload in corpus["payloads"]:
        data = {"user": user.pk, **{field: payload.text for field in PROFILE_FIELDS}}
        response = client.post("/admin/healthlib/reviewerprofile/add/", data)
        if response.status_code == 302:
            profile = ReviewerProfile.objects.get(user=user)
            url = f"/admin/healthlib/reviewerprofile/{profile.pk}/change/"
            found += check("admin reviewer profile form", get_ok(client, url), payload.id)
            profile.delete()
            continue
        assert response.status_code == 200, (payload.id, response.status_code)
        assert response.context["adminform"].form.errors
        refused += 1
        found += check("admin reviewer profile form (errors)", response.content.decode(), payload.id)
    # Only a payload that is itself a valid http(s) address (markdown-051) gets through the bio URL field.
    assert refused >= len(corpus["payloads"]) - 1
    assert not ReviewerProfile.objects.filter(user=user).exists()
    assert not found, "\n".join(found)


def test_reviewer_profile_pages(db, corpus):
    client = corpus["admin"]
    found: list[str] = []
    # Every third profile: the same values are checked for every payload on the re-rendered add form.
    for index, payload in corpus["payloads"][::3]:
        reviewer = corpus["reviewers"][index]
        url = f"/admin/healthlib/reviewerprofile/{reviewer.reviewer_profile.pk}/change/"
        found += check("admin reviewer profile form", get_ok(client, url), payload.id)
    assert not found, "\n".join(found)


CHANGELISTS = [
    "/admin/",
    "/admin/healthlib/",
    "/admin/healthlib/article/",
    "/admin/healthlib/glossaryterm/",
    "/admin/healthlib/revision/",
    "/admin/healthlib/review/",
    "/admin/healthlib/workflowevent/",
    "/admin/healthlib/reviewerprofile/",
    "/admin/healthlib/reviewqueue/",
    "/admin/healthlib/reviewdates/",
]


@pytest.mark.parametrize("url", CHANGELISTS)
def test_admin_changelists(db, corpus, url):
    client = corpus["admin"]
    found: list[str] = []
    html = get_ok(client, url)
    found += check("admin changelists", html, url)
    pages = re.findall(r"[?&]p=(\d+)", html)
    for page in sorted({int(p) for p in pages}):
        found += check("admin changelists", get_ok(client, f"{url}?p={page}"), f"{url} p={page}")
    assert not found, "\n".join(found)


def test_admin_changelist_search_echoes_queries_safely(db, corpus):
    client = corpus["admin"]
    found: list[str] = []
    for _index, payload in corpus["payloads"]:
        response = client.get("/admin/healthlib/article/", {"q": benign(payload.text)})
        assert response.status_code == 200
        found += check("admin changelist search", response.content.decode(), payload.id)
    assert not found, "\n".join(found)


def test_admin_records_of_revisions_reviews_and_events(db, corpus):
    from healthlib.models import Review, Revision, WorkflowEvent

    client = corpus["admin"]
    found: list[str] = []
    every_fifth = [corpus["articles"][index].pk for index, _payload in corpus["payloads"][::5]]
    assert every_fifth
    for model, queryset in (
        ("revision", Revision.objects.filter(item__in=every_fifth)),
        ("review", Review.objects.filter(revision__item__in=every_fifth)),
        ("workflowevent", WorkflowEvent.objects.filter(item__in=every_fifth)),
    ):
        for pk in queryset.values_list("pk", flat=True):
            found += check(f"admin {model} record", get_ok(client, f"/admin/healthlib/{model}/{pk}/change/"), str(pk))
    assert not found, "\n".join(found)


def test_admin_add_form_rerendered_with_errors(db, corpus):
    """Typed payloads come back in a re-rendered form when something is refused: still escaped."""
    client = corpus["editor_client"]
    found: list[str] = []
    for index, payload in corpus["payloads"]:
        data = {
            "title": payload.text,
            "summary": payload.text,
            "body": payload.text,
            "references": f"{single_line(payload.text)} | {single_line(payload.text)} | {single_line(payload.text)} | 20x",
            "slug": f"not a slug {index}",  # refused: the form comes back with every value in it
            "article_type": "treatment",
            "owner": "",
        }
        response = client.post("/admin/healthlib/article/add/", data)
        assert response.status_code == 200, (payload.id, response.status_code)
        found += check("admin add form (errors)", response.content.decode(), payload.id)
        term_data = {
            "term": payload.text,
            "aliases": payload.text,
            "pronunciation": payload.text,
            "short_definition": payload.text,
            "full_definition": payload.text,
            "professional_definition": payload.text,
            "related_terms": payload.text,
            "slug": f"not a slug {index}",
        }
        if index % 2:  # the term form renders the same widgets: every other payload
            continue
        response = client.post("/admin/healthlib/glossaryterm/add/", term_data)
        assert response.status_code == 200, (payload.id, response.status_code)
        found += check("admin add form (errors)", response.content.decode(), payload.id)
    assert not Article.objects.filter(slug__startswith="not a slug").exists()
    assert not GlossaryTerm.objects.filter(slug__startswith="not a slug").exists()
    assert not found, "\n".join(found)


def test_every_payload_reached_storage_or_was_refused(db, corpus):
    """Guard against a vacuous run: the payloads really are in the live fields and the profiles."""
    from healthlib.normalise import normalise_text

    payloads, rejected = corpus["payloads"], corpus["rejected"]
    summaries = dict(Article.objects.filter(slug__startswith="x").values_list("slug", "live_summary"))
    assert len(summaries) == len(payloads)
    verbatim = sum(summaries[f"x{i}"] == normalise_text(p.text) for i, p in payloads)
    assert verbatim == len(payloads) - len(rejected.get("article.summary", ()))
    profiles = dict(
        ReviewerProfile.objects.filter(user__username__startswith="xss-reviewer-").values_list(
            "user__username", "credentials"
        )
    )
    assert len(profiles) == len(payloads)
    kept = sum(profiles[f"xss-reviewer-{i}"] == p.text.strip() for i, p in payloads)
    assert kept == len(payloads) - len(rejected.get("reviewer_profile.credentials", ()))


# ---------------------------------------------------------------- in Chromium

if not os.path.exists(CHROMIUM):  # pragma: no cover
    print(f"\n!!! {CHROMIUM} is missing: the Chromium XSS tests in {__name__} are SKIPPED (make browser-deps).\n")

#: Wait until every image has fired its load or error event (an onerror handler runs then), then two
#: frames and a task. ``complete`` alone is not enough: Chromium can report a broken image complete
#: before it has dispatched the error event. Events are recorded from the start of each document
#: (RECORD_PAGE_EVENTS), but only for images in the document when they fire: an image that loaded
#: while detached (the admin clones its empty inline rows) is complete and unrecorded. So an
#: unrecorded broken image gets a short grace period for its error event and then counts as settled;
#: an incomplete one must settle within 10 s or the check fails loudly.
SETTLE = """async () => {
  const settledImages = window.__settledImages;
  const settle = (img, ms, late) => new Promise((done, fail) => {
    const timer = setTimeout(() => late ? fail(new Error('image never fired load or error: ' +
      img.outerHTML.slice(0, 160))) : done(), ms);
    const finish = () => { clearTimeout(timer); done(); };
    img.addEventListener('load', finish); img.addEventListener('error', finish);
  }).then(() => settledImages.add(img));
  await Promise.all([...document.images]
    .filter(img => (img.hasAttribute('src') || img.hasAttribute('srcset')) && !settledImages.has(img))
    .map(img => !img.complete ? settle(img, 10000, true) : img.naturalWidth ? null : settle(img, 100, false)));
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 0))));
  return window.__xss;
}"""
#: What django-markdownx's widget does with the preview: POST the text, put the answer in innerHTML.
MARKDOWNX_PREVIEW = """async (text) => {
  const csrf = document.querySelector('input[name=csrfmiddlewaretoken]').value;
  const body = new FormData(); body.append('content', text);
  const response = await fetch('/markdownx/markdownify/', {method: 'POST', body, headers: {'X-CSRFToken': csrf}});
  if (!response.ok) throw new Error('preview answered ' + response.status);
  const preview = document.querySelector('.markdownx-preview');
  preview.innerHTML = await response.text();
}"""
#: Recorded from the start of every document, before its own scripts run:
#: - images that fired load or error (SETTLE);
#: - markdownx's answers. markdownx fills each editor's preview once the page is ready, from a
#:   request of its own; that answer can land after a test has put its own markup in the preview
#:   and wipe it out, so a visit waits for every widget's first answer (MARKDOWNX_ANSWERED).
RECORD_PAGE_EVENTS = """window.__settledImages = new WeakSet();
for (const type of ['load', 'error']) {
  window.addEventListener(type, event => {
    if (event.target instanceof HTMLImageElement) window.__settledImages.add(event.target);
  }, true);
}
window.__markdownxAnswers = 0;
for (const type of ['markdownx.update', 'markdownx.updateError']) {
  window.addEventListener(type, () => { window.__markdownxAnswers += 1; }, true);
}"""
MARKDOWNX_ANSWERED = "() => window.__markdownxAnswers >= document.getElementsByClassName('markdownx').length"


@pytest.fixture(scope="class")
def live_url(corpus, django_db_blocker):
    """A live server thread that shares the corpus's (uncommitted) connection, as LiveServerTestCase does.

    The browser tests take no per-test transaction (``db``): the server thread answers on the same
    connection, and rolling back a savepoint under it would race its queries.
    """
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.db import connections
    from django.test.testcases import LiveServerThread

    connection = connections["default"]
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        pytest.skip("!!! the Chromium XSS tests share the in-memory SQLite connection; SKIPPED on this database !!!")
    connection.inc_thread_sharing()
    thread = LiveServerThread("127.0.0.1", StaticFilesHandler, connections_override={"default": connection})
    thread.daemon = True
    with django_db_blocker.unblock():
        thread.start()
        thread.is_ready.wait()
        if thread.error:
            raise thread.error
        yield f"http://127.0.0.1:{thread.port}"
        thread.terminate()
    connection.dec_thread_sharing()


@pytest.fixture(scope="class")
def plan(corpus):
    """Sessions, review links and paths, made before Chromium starts.

    While Playwright's event loop runs, ORM calls in this thread would open a second connection to
    the shared in-memory database, which the corpus transaction keeps locked.
    """

    def session(user: User) -> str:
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value

    editor = corpus["editor"]
    links = {}
    for index, _payload in corpus["payloads"]:
        for item in (corpus["articles"][index], corpus["terms"][index]):
            token = preview_links.create_link(editor, item.latest_revision, datetime.timedelta(days=1))
            links[item.pk] = preview_links.url_for(token)
    return {
        "editor": session(editor),
        "root": session(corpus["root"]),
        "links": links,
        "profiles": {index: reviewer.reviewer_profile.pk for index, reviewer in corpus["reviewers"].items()},
        "payloads": corpus["payloads"],
    }


@pytest.fixture(scope="class")
def browser(plan):
    with launch_chromium() as chromium:
        yield chromium


class Tab:
    """One Chromium page that records dialogs and tells whether a payload ran."""

    def __init__(self, browser, live_url: str, session: str | None = None) -> None:
        self.context = browser.new_context()
        self.context.add_init_script(RECORD_PAGE_EVENTS)
        self.live_url = live_url
        if session is not None:
            self.context.add_cookies([{"name": "sessionid", "value": session, "url": live_url}])
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.dialogs: list[str] = []
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def ran(self) -> bool:
        """True if script set the global or opened a dialog since the last call."""
        value = self.page.evaluate(SETTLE)
        opened = bool(self.dialogs)
        self.dialogs.clear()
        return value is not None or opened

    def visit(self, path: str) -> bool:
        response = self.page.goto(self.live_url + path, wait_until="load")
        assert response is not None and response.status == 200, (path, response and response.status)
        self.page.wait_for_function(MARKDOWNX_ANSWERED)
        ran = self.ran()
        # A payload that navigates (meta refresh, base href, form) is as bad as one that runs.
        moved = self.page.url.split("#")[0] != self.live_url + path.split("#")[0]
        return ran or moved

    def close(self) -> None:
        self.context.close()


def browser_check(entry_point: str, outcomes: list[tuple[str, bool]]) -> list[str]:
    STATS[f"Chromium: {entry_point}"]["pages"] += len(outcomes)
    return [f"Chromium {entry_point} [{what}]: script ran or page navigated" for what, bad in outcomes if bad]


def representatives(payloads: list[tuple[int, Payload]]) -> list[tuple[int, Payload]]:
    """The first payload of each class in this part: every class on every page type, a different one
    per part (four of each class in all). Every payload is checked on every page type by the HTML
    checks above and in Chromium on the article page and the editor's preview; here Chromium renders
    twelve more page types, most of them admin pages, at about half a second a page: every other
    payload of each part took 4 to 7 of the XSS module's minutes on 2 cores."""
    firsts: dict[str, tuple[int, Payload]] = {}
    for index, payload in payloads:
        firsts.setdefault(payload.kind, (index, payload))
    return list(firsts.values())


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"!!! {CHROMIUM} is missing: browser tests SKIPPED !!!")
class TestInChromium:
    """The pages in Chromium. Its fixtures (the live server, the browser) last as long as this class:
    while Playwright's event loop runs, the ORM in this thread would open another connection to the
    in-memory database, which the corpus transaction keeps locked (see ``plan``), so no other test
    of a part may run between these."""

    def test_harness_detects_a_payload_that_runs(self, plan, live_url, browser):
        """Positive control: the same detection sees raw, unsanitized markup run, and a dialog open."""
        tab = Tab(browser, live_url, plan["editor"])
        try:
            assert not tab.visit("/admin/healthlib/article/add/")
            tab.page.evaluate(
                "() => { document.querySelector('.markdownx-preview').innerHTML = '<img src=x onerror=window.__xss=1>'; }"
            )
            # If this ever fails again, say what the preview held and what became of the image.
            assert tab.ran(), tab.page.evaluate(
                "() => { const img = document.querySelector('.markdownx-preview img');"
                " return {preview: document.querySelector('.markdownx-preview').innerHTML.slice(0, 200),"
                " image: img && {complete: img.complete, width: img.naturalWidth, recorded: window.__settledImages.has(img)}}; }"
            )
            tab.page.evaluate("() => { window.__xss = undefined; setTimeout(() => alert(1), 0); }")
            assert tab.ran()
        finally:
            tab.close()

    def test_visit_waits_for_the_editors_own_preview(self, plan, live_url, browser, monkeypatch):
        """A visit returns only after markdownx has filled every preview itself.

        Otherwise that late answer can replace what a test put in the preview before the test looks:
        CI once saw the positive control above miss its payload that way.
        """
        render = editor_preview.render_markdown

        def slow_render(text: str) -> str:
            time.sleep(0.5)
            return render(text)

        monkeypatch.setattr(editor_preview, "render_markdown", slow_render)
        tab = Tab(browser, live_url, plan["editor"])
        try:
            assert not tab.visit("/admin/healthlib/article/add/")
            widgets = tab.page.evaluate("() => document.getElementsByClassName('markdownx').length")
            assert widgets >= 1
            assert tab.page.evaluate("() => window.__markdownxAnswers") == widgets
        finally:
            tab.close()

    def test_article_pages_every_payload(self, corpus, live_url, browser):
        tab = Tab(browser, live_url)
        try:
            outcomes = [(p.id, tab.visit(f"/health/articles/x{i}/")) for i, p in corpus["payloads"]]
        finally:
            tab.close()
        found = browser_check("article page", outcomes)
        assert not found, "\n".join(found)

    def test_markdownx_preview_every_payload(self, plan, live_url, browser):
        """Every payload through the preview endpoint into the editor's preview pane, as the widget does it."""
        tab = Tab(browser, live_url, plan["editor"])
        try:
            assert not tab.visit("/admin/healthlib/article/add/")
            outcomes = []
            for _index, payload in plan["payloads"]:
                tab.page.evaluate(MARKDOWNX_PREVIEW, payload.text)
                outcomes.append((payload.id, tab.ran()))
            # And a few through the real widget: type into the editor, wait for markdownx to fill the preview.
            editor = tab.page.locator("textarea.markdownx-editor").first
            for _index, payload in plan["payloads"][:: max(1, len(plan["payloads"]) // 2)]:
                editor.fill(payload.text + "\n\nwidget-probe")
                tab.page.wait_for_function(
                    "() => document.querySelector('.markdownx-preview').textContent.includes('widget-probe')"
                )
                outcomes.append((f"{payload.id} (widget)", tab.ran()))
        finally:
            tab.close()
        found = browser_check("markdownx preview", outcomes)
        assert not found, "\n".join(found)

    def test_other_page_types_representative_payloads(self, corpus, plan, live_url, browser):
        reader = Tab(browser, live_url)
        staff, admin_tab = Tab(browser, live_url, plan["editor"]), Tab(browser, live_url, plan["root"])
        found: list[str] = []
        try:
            for index, payload in representatives(corpus["payloads"]):
                article, term = corpus["articles"][index], corpus["terms"][index]
                pages = [
                    ("glossary term page", reader, f"/health/glossary/t{index}/"),
                    ("review trail page", reader, f"/health/articles/x{index}/reviews/"),
                    ("search", reader, "/health/search/?" + urlencode({"q": benign(payload.text)})),
                    ("shared preview link", reader, plan["links"][article.pk]),
                    ("shared preview link", reader, plan["links"][term.pk]),
                    ("staff preview", staff, f"/health/preview/revision/{article.latest_revision_id}/"),
                    ("staff preview", staff, f"/health/preview/revision/{term.latest_revision_id}/"),
                    ("admin review page (diff)", admin_tab, f"/admin/healthlib/reviewqueue/{article.pk}/"),
                    ("admin history + compare", admin_tab,
                     f"/admin/healthlib/article/{article.pk}/history/?a={article.live_revision_id}&b={article.latest_revision_id}"),
                    ("admin change form", staff, f"/admin/healthlib/article/{article.pk}/change/"),
                    ("admin change form", staff, f"/admin/healthlib/glossaryterm/{term.pk}/change/"),
                    ("admin reviewer profile", admin_tab,
                     f"/admin/healthlib/reviewerprofile/{plan['profiles'][index]}/change/"),
                ]  # fmt: skip
                for entry_point, tab, path in pages:
                    found += browser_check(entry_point, [(payload.id, tab.visit(path))])
            for path in ["/health/", "/health/articles/", "/health/glossary/"]:
                found += browser_check("listing pages", [(path, reader.visit(path))])
            for path in ["/admin/healthlib/article/", "/admin/healthlib/glossaryterm/", "/admin/healthlib/reviewqueue/",
                         "/admin/healthlib/review/", "/admin/healthlib/workflowevent/", "/admin/healthlib/reviewerprofile/"]:  # fmt: skip
                found += browser_check("admin changelists", [(path, admin_tab.visit(path))])
        finally:
            for tab in (reader, staff, admin_tab):
                tab.close()
        assert not found, "\n".join(found)


def test_feeds_escape_plain_text_that_readers_render_as_html(db, editor, reviewer, django_capture_on_commit_callbacks):
    """Regression: RSS titles and descriptions and Atom ``type="html"`` summaries are HTML to feed
    readers, so a plain-text title, summary or reviewer name holding markup must arrive escaped."""
    import xml.etree.ElementTree as ET

    from tests.conftest import ARTICLE_CONTENT, edited

    evil = f"<img src=x onerror={PAYLOADS[0].text[8:-9]}>"
    ReviewerProfile.objects.filter(user=reviewer).update(credentials=evil)
    reviewer.refresh_from_db()
    verify_for_test(ReviewerProfile.objects.get(user=reviewer), datetime.date.today())
    with django_capture_on_commit_callbacks(execute=True):
        article = workflow.create_article(
            editor,
            slug="feed-escape",
            article_type="treatment",
            content=edited(ARTICLE_CONTENT, title=evil, summary=evil),
        )
        workflow.submit(article, editor)
        workflow.approve(article, reviewer)
        workflow.publish(article, editor)
    caches["default"].clear()
    client = Client()
    rss = ET.fromstring(client.get("/health/feeds/rss/").content)
    item = rss.find("./channel/item")
    assert item.findtext("title") == "&lt;img src=x onerror=window.__xss=1&gt;"
    assert item.findtext("description").startswith("&lt;img src=x onerror=window.__xss=1&gt;")
    assert "Reviewer, &lt;img" in item.findtext("description")
    atom = ET.fromstring(client.get("/health/feeds/atom/").content)
    entry = atom.find("{http://www.w3.org/2005/Atom}entry")
    assert entry.findtext("{http://www.w3.org/2005/Atom}title") == evil  # type text: shown as written
    summary = entry.find("{http://www.w3.org/2005/Atom}summary")
    assert summary.get("type") == "html" and "<img" not in summary.text
    for feed in ("/health/feeds/rss/", "/health/feeds/atom/"):
        assert feed_problems(client.get(feed).content.decode()) == []


def test_feeds_survive_control_characters_in_summaries_and_reviewer_names(
    db, editor, reviewer, django_capture_on_commit_callbacks
):
    """Regression: text that XML 1.0 cannot carry (a vertical tab in a summary, a form feed in a
    reviewer's credentials) made the feeds a 500; they now drop those characters."""
    import xml.etree.ElementTree as ET

    from tests.conftest import ARTICLE_CONTENT, edited

    ReviewerProfile.objects.filter(user=reviewer).update(credentials="MD\x0c oncology")
    reviewer.refresh_from_db()
    verify_for_test(ReviewerProfile.objects.get(user=reviewer), datetime.date.today())
    with django_capture_on_commit_callbacks(execute=True):
        article = workflow.create_article(
            editor,
            slug="feed-control",
            article_type="treatment",
            content=edited(ARTICLE_CONTENT, summary="Line one\x0bline two\x1b[31m."),
        )
        workflow.submit(article, editor)
        workflow.approve(article, reviewer)
        workflow.publish(article, editor)
    caches["default"].clear()
    client = Client()
    for feed in ("/health/feeds/rss/", "/health/feeds/atom/"):
        response = client.get(feed)
        assert response.status_code == 200
        text = ET.tostring(ET.fromstring(response.content), encoding="unicode")
        assert "Line oneline two[31m." in text and "MD oncology" in text
