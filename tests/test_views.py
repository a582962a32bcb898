"""The readers' pages: what they show, what they refuse, how many queries, and the page cache."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core.cache import caches
from django.test import override_settings
from django.utils import timezone
from django.utils.http import http_date, parse_http_date

from healthlib import cache as page_cache
from healthlib import publishing
from healthlib.models import Topic
from tests import reader_fixtures
from tests.conftest import ARTICLE_CONTENT, edited, make_user
from tests.reader_fixtures import TERM_CONTENT, publish, republish

# Fixtures shared with the other reader test modules.
clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

pytestmark = pytest.mark.page_cache

ARTICLE_URL = "/health/articles/checkpoint-inhibitors/"
TERM_URL = "/health/glossary/t-cell/"


def text(response) -> str:
    return response.content.decode()


# ---------------------------------------------------------------- every page type


def test_home_lists_topics_types_and_recent_articles_but_not_policy_pages(client, library):
    page = text(client.get("/health/"))
    assert "Treatment types" in page
    assert 'href="/health/types/treatment/"' in page
    assert "Recently reviewed" in page and "CAR T-cell therapy" in page
    assert "Our editorial process" not in page
    assert 'href="/health/types/policy/"' not in page


def test_article_index_groups_by_letter(client, library):
    response = client.get("/health/articles/")
    page = text(response)
    assert response.status_code == 200
    assert '<h2 id="letter-c" class="healthlib-letter-heading">C</h2>' in page
    assert 'href="#letter-c"' in page
    assert "CAR T-cell therapy" in page and "Checkpoint inhibitors" in page
    assert "Our editorial process" not in page
    # Letters without articles are shown but not linked.
    assert 'href="#letter-z"' not in page and ">Z</span>" in page


def test_topic_page_lists_its_live_articles(client, library):
    page = text(client.get("/health/topics/treatment-types/"))
    assert "<h1>Treatment types</h1>" in page
    assert "How cancer is treated." in page
    assert ARTICLE_URL in page and "/health/articles/car-t-cell-therapy/" in page


def test_article_type_page(client, library):
    page = text(client.get("/health/types/treatment/"))
    assert "<h1>Treatment</h1>" in page and ARTICLE_URL in page


@pytest.mark.parametrize("kind", ["policy", "nonsense"])
def test_article_type_page_404_for_policy_and_unknown(client, library, kind):
    assert client.get(f"/health/types/{kind}/").status_code == 404


def test_article_page_shows_everything_a_reader_needs(client, library):
    response = client.get(ARTICLE_URL)
    page = text(response)
    assert response.status_code == 200
    assert page.count("<h1") == 1
    assert '<h1 id="article-title">Checkpoint inhibitors</h1>' in page
    assert '<p class="healthlib-summary">Drugs that take the brakes off your immune system.</p>' in page
    assert '<nav class="healthlib-toc"' in page and 'href="#side-effects"' in page
    assert '<h2 id="side-effects">Side effects</h2>' in page
    assert "References" in page and 'href="https://www.cancer.gov/"' in page
    assert re.search(r"Medically reviewed by\s*<span class=\"healthlib-reviewer\">Reviewer, MD</span>", page)
    reviewed = library["article"].last_reviewed_at
    assert f'Last reviewed on <time datetime="{reviewed:%Y-%m-%d}">{reviewed:%m/%d/%Y}</time>' in page
    assert "Next review due" not in page
    assert "It is not medical advice" in page
    assert 'href="/health/articles/editorial-process/"' in page
    assert "Related articles" in page and "/health/articles/car-t-cell-therapy/" in page
    assert "Advertisement" not in page  # ads are off by default
    # The review line comes after the body, near the end of the content.
    assert page.index("Call your care team") < page.index("Medically reviewed by") < page.index("not medical advice")


def test_article_page_links_glossary_terms_with_inline_definitions(client, library):
    page = text(client.get(ARTICLE_URL))
    assert 'class="glossary-term" href="/health/glossary/t-cell/"' in page
    assert '<span class="glossary-definition" role="tooltip"' in page


@override_settings(HEALTHLIB={"SHOW_NEXT_REVIEW_DUE": True, "DATE_FORMAT": "j F Y"})
def test_next_review_due_and_date_format_follow_settings(client, library):
    article = library["article"]
    page = text(client.get(ARTICLE_URL))
    due = article.next_review_due
    assert f'Next review due <time datetime="{due:%Y-%m-%d}">{due.day} {due:%B %Y}</time>' in page
    assert f"{article.last_reviewed_at.day} {article.last_reviewed_at:%B %Y}</time>" in page


def test_related_articles_are_live_only(wf, client, library, editor):
    wf.archive(library["other"], editor)
    page = text(client.get(ARTICLE_URL))
    assert "CAR T-cell therapy" not in page and "Related articles" not in page


def test_policy_page_is_served_by_the_article_view_without_self_link(client, library):
    response = client.get("/health/articles/editorial-process/")
    page = text(response)
    assert response.status_code == 200
    assert "Our editorial process" in page
    assert "How we write and review our content" not in page


def test_glossary_index_has_letter_navigation_and_terms(client, library):
    page = text(client.get("/health/glossary/"))
    assert 'aria-label="Glossary terms by first letter"' in page
    assert 'href="#letter-t"' in page and '<h2 id="letter-t"' in page
    assert f'<dt><a href="{TERM_URL}">T cell</a></dt>' in page
    assert "A white blood cell" in page


def test_term_page_shows_definitions_aliases_related_terms_and_articles(wf, client, library, editor, reviewer):
    related = wf.create_glossary_term(
        editor,
        slug="cancer",
        content=edited(TERM_CONTENT, term="Cancer", aliases=[], short_definition="Cells that grow out of control."),
    )
    publish(wf, related, editor, reviewer)
    republish(wf, library["term"], editor, reviewer, edited(TERM_CONTENT, related_terms=["cancer"]))
    page = text(client.get(TERM_URL))
    assert "<dfn>T cell</dfn>" in page
    assert "Pronounced" in page and "TEE sel" in page
    assert "Also called: T lymphocyte" in page
    assert "<strong>immune system</strong>" in page
    assert "For health professionals" in page and "thymus" in page
    assert 'href="/health/glossary/cancer/"' in page
    assert "Articles that use this term" in page and ARTICLE_URL in page
    assert page.count(f'href="{ARTICLE_URL}"') == 1
    # The policy page links the term too, but policy pages stay out of listings.
    assert "editorial-process" not in page.split("Articles that use this term", 1)[1].split("healthlib-review", 1)[0]


def test_feed_and_sitemap_are_served(client, library):
    assert client.get("/health/feeds/rss/").status_code == 200
    assert client.get("/health/feeds/atom/").status_code == 200
    assert client.get("/health/sitemap.xml").status_code == 200


# ---------------------------------------------------------------- 404 for everything not live


def _article(wf, editor, slug="draft-article"):
    return wf.create_article(editor, slug=slug, article_type="treatment", content=ARTICLE_CONTENT)


@pytest.mark.parametrize(
    "state", ["draft", "in_review", "changes_requested", "approved", "archived", "archived_unpublished"]
)
def test_non_live_articles_are_not_served(wf, client, editor, reviewer, state):
    """Never live: 404. Live once and archived: 410 Gone (tests/test_retired.py)."""
    article = _article(wf, editor)
    if state not in ("draft", "archived_unpublished"):
        wf.submit(article, editor)
    if state == "changes_requested":
        wf.request_changes(article, reviewer, comment="Please cite a source.")
    if state in ("approved", "archived"):
        wf.approve(article, reviewer)
    if state == "archived":
        wf.publish(article, editor)
        assert client.get("/health/articles/draft-article/").status_code == 200
    if state.startswith("archived"):
        wf.archive(article, editor)
    article.refresh_from_db()
    assert article.state == state.removesuffix("_unpublished")
    response = client.get("/health/articles/draft-article/")
    assert response.status_code == (410 if state == "archived" else 404)
    assert "Please cite a source." not in text(response) and "Draft" not in text(response)
    for listing in ("/health/", "/health/articles/", "/health/sitemap.xml", "/health/feeds/rss/"):
        assert "draft-article" not in text(client.get(listing))


@pytest.mark.parametrize("state", ["draft", "in_review", "archived"])
def test_non_live_terms_are_404(wf, client, editor, reviewer, state):
    item = wf.create_glossary_term(editor, slug="antigen", content=edited(TERM_CONTENT, term="Antigen"))
    if state == "in_review":
        wf.submit(item, editor)
    if state == "archived":
        publish(wf, item, editor, reviewer)
        wf.archive(item, editor)
    assert client.get("/health/glossary/antigen/").status_code == (410 if state == "archived" else 404)
    assert "antigen" not in text(client.get("/health/glossary/"))


@pytest.mark.parametrize(
    "url", ["/health/articles/no-such-thing/", "/health/glossary/no-such-thing/", "/health/topics/no-such-thing/"]
)
def test_unknown_content_is_404(client, db, url):
    assert client.get(url).status_code == 404


def test_editing_live_article_keeps_serving_the_live_revision(wf, client, library, editor, reviewer):
    article = library["article"]
    wf.save_draft(article, editor, edited(ARTICLE_CONTENT, title="Draft title"), based_on=article.latest_revision)
    wf.submit(article, editor)
    wf.approve(article, reviewer)
    page = text(client.get(ARTICLE_URL))
    assert "Draft title" not in page and "Checkpoint inhibitors" in page


# ---------------------------------------------------------------- query counts


@pytest.fixture
def big_article(wf, editor, reviewer, topic):
    """An article linking many glossary terms, with many references and topics."""
    names = [f"Marker {chr(65 + i)}" for i in range(12)]
    for index, name in enumerate(names):
        item = wf.create_glossary_term(
            editor, slug=f"marker-{index}", content=edited(TERM_CONTENT, term=name, aliases=[])
        )
        publish(wf, item, editor, reviewer)
    body = "\n\n".join(f"## Part {i}\n\nThe {name} level matters." for i, name in enumerate(names))
    references = [
        {"title": f"Study {i}", "publisher": "NCI", "url": f"https://example.org/{i}", "year": 2020} for i in range(25)
    ]
    article = wf.create_article(
        editor, slug="big", article_type="test", content=edited(ARTICLE_CONTENT, body=body, references=references)
    )
    article.topics.add(topic, *[Topic.objects.create(name=f"Topic {i}", slug=f"topic-{i}") for i in range(6)])
    return publish(wf, article, editor, reviewer)


def test_uncached_article_page_uses_at_most_four_queries(client, big_article, django_assert_max_num_queries):
    caches["default"].clear()
    with django_assert_max_num_queries(4):
        response = client.get("/health/articles/big/")
    page = text(response)
    assert response.status_code == 200
    assert page.count('class="glossary-term"') == 12
    assert page.count("https://example.org/") >= 25


@override_settings(HEALTHLIB={"AD_SLOTS": ["after_section_1", "after_section_5", "end"]})
def test_article_page_with_ads_is_rendered_per_request_until_stored_again(
    client, big_article, django_assert_max_num_queries, django_assert_num_queries
):
    # The page stored at publish has no ads: it is stale for these settings and rendered per request
    # (the stored-page lookup, article, topics, related articles, glossary mentions).
    with django_assert_max_num_queries(5):
        rendered = text(client.get("/health/articles/big/"))
    assert rendered.count('class="healthlib-ad"') == 3
    publishing.refresh_all()  # what `healthlib_relink --pages-only` does after such a deploy
    caches["default"].clear()
    with django_assert_num_queries(2):
        stored = text(client.get("/health/articles/big/"))
    assert stored == rendered


@pytest.mark.parametrize(
    "url, limit",
    [
        ("/health/", 4),
        ("/health/articles/", 2),
        ("/health/topics/treatment-types/", 3),
        ("/health/glossary/", 2),
        (TERM_URL, 4),
        ("/health/feeds/atom/", 2),
        ("/health/sitemap.xml", 8),
    ],
)
def test_other_pages_have_bounded_queries(client, library, django_assert_max_num_queries, url, limit):
    with django_assert_max_num_queries(limit):
        assert client.get(url).status_code == 200


def test_cached_page_needs_no_query(client, library, django_assert_num_queries):
    client.get(ARTICLE_URL)
    with django_assert_num_queries(0):
        response = client.get(ARTICLE_URL)
    assert response.status_code == 200 and "Checkpoint inhibitors" in text(response)


# ---------------------------------------------------------------- cache invalidation on every workflow action


def test_publish_invalidates_the_cached_page(wf, client, library, editor, reviewer):
    assert "Checkpoint inhibitors" in text(client.get(ARTICLE_URL))
    republish(wf, library["article"], editor, reviewer, edited(ARTICLE_CONTENT, title="Immune checkpoint inhibitors"))
    assert "Immune checkpoint inhibitors" in text(client.get(ARTICLE_URL))
    assert "Immune checkpoint inhibitors" in text(client.get("/health/articles/"))


def test_reaffirm_invalidates_the_cached_page(wf, client, library, reviewer2):
    article = library["article"]
    assert "Reviewer, MD" in text(client.get(ARTICLE_URL))
    wf.reaffirm(article, reviewer2)
    page = text(client.get(ARTICLE_URL))
    assert "Reviewer2, PharmD" in page and "Reviewer, MD" not in page


@override_settings(HEALTHLIB={"SHOW_NEXT_REVIEW_DUE": True})
def test_a_new_review_interval_invalidates_the_cached_page(wf, client, library, editor):
    article = library["article"]
    before = text(client.get(ARTICLE_URL))  # now in the page cache
    wf.set_review_interval(article, editor, 30)
    article.refresh_from_db()
    page = text(client.get(ARTICLE_URL))
    assert page != before
    assert f'Next review due <time datetime="{article.next_review_due:%Y-%m-%d}">' in page


def test_a_new_article_type_invalidates_the_cached_page(wf, client, library, editor, topic):
    with override_settings(HEALTHLIB={"AD_SLOTS": ["after_section_1"]}):
        assert 'class="healthlib-ad"' in text(client.get(ARTICLE_URL))  # cached with its ad
        # The same topics: only the type changes.
        wf.set_article_details(library["article"], editor, article_type="policy", topics=[topic])
        assert 'class="healthlib-ad"' not in text(client.get(ARTICLE_URL))  # policy pages carry none


def test_archive_invalidates_the_cached_page(wf, client, library, editor):
    assert client.get(ARTICLE_URL).status_code == 200
    assert client.get("/health/topics/treatment-types/").status_code == 200
    wf.archive(library["article"], editor)
    assert client.get(ARTICLE_URL).status_code == 410
    assert ARTICLE_URL not in text(client.get("/health/topics/treatment-types/"))


def test_glossary_publish_and_archive_invalidate_cached_pages(wf, client, library, editor, reviewer):
    assert "T lymphocyte" in text(client.get(TERM_URL))
    assert "attacks infected cells" in text(client.get(ARTICLE_URL))
    republish(
        wf, library["term"], editor, reviewer, edited(TERM_CONTENT, short_definition="A germ-fighting white cell.")
    )
    assert "A germ-fighting white cell." in text(client.get(TERM_URL))
    assert "A germ-fighting white cell." in text(client.get(ARTICLE_URL))
    assert "A germ-fighting white cell." in text(client.get("/health/glossary/"))
    wf.archive(library["term"], editor)
    assert client.get(TERM_URL).status_code == 410
    assert 'class="glossary-term"' not in text(client.get(ARTICLE_URL))


def test_topic_changes_invalidate_cached_pages(client, library, django_capture_on_commit_callbacks):
    assert "Treatment types" in text(client.get("/health/"))
    topic = library["topic"]
    topic.name = "Kinds of treatment"
    with django_capture_on_commit_callbacks(execute=True):  # pages are retired after commit
        topic.save()
    assert "Kinds of treatment" in text(client.get("/health/"))


def test_actions_that_change_nothing_readers_see_keep_the_cache(wf, client, library, editor):
    client.get(ARTICLE_URL)
    version = page_cache.content_version()
    article = library["article"]
    wf.save_draft(article, editor, edited(ARTICLE_CONTENT, title="Draft"), based_on=article.latest_revision)
    wf.submit(article, editor)
    assert page_cache.content_version() == version


def test_invalidate_bumps_the_version(db):
    first = page_cache.content_version()
    assert page_cache.invalidate() > first
    assert page_cache.content_version() > first


# ---------------------------------------------------------------- conditional GET and Cache-Control


def test_anonymous_pages_are_public_with_validators(client, library):
    response = client.get(ARTICLE_URL)
    assert response["ETag"].startswith('"')
    assert "public" in response["Cache-Control"] and "max-age=300" in response["Cache-Control"]
    assert "stale-while-revalidate=60" in response["Cache-Control"]
    assert "Cookie" in response["Vary"]
    # Not before the article's publication (later: the page also shows other items, see test_cache_validators.py).
    assert parse_http_date(response["Last-Modified"]) >= int(library["article"].last_published_at.timestamp())


@pytest.mark.parametrize("url", [ARTICLE_URL, TERM_URL, "/health/", "/health/glossary/"])
def test_conditional_get_with_etag_returns_304(client, library, url, django_assert_num_queries):
    etag = client.get(url)["ETag"]
    with django_assert_num_queries(0):
        response = client.get(url, headers={"if-none-match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert client.get(url, headers={"if-none-match": '"something-else"'}).status_code == 200


def test_conditional_get_with_if_modified_since(client, library):
    last_modified = client.get(ARTICLE_URL)["Last-Modified"]
    assert client.get(ARTICLE_URL, headers={"if-modified-since": last_modified}).status_code == 304
    earlier = http_date((timezone.now() - datetime.timedelta(days=2)).timestamp())
    assert client.get(ARTICLE_URL, headers={"if-modified-since": earlier}).status_code == 200


def test_etag_changes_after_publish(wf, client, library, editor, reviewer):
    etag = client.get(ARTICLE_URL)["ETag"]
    republish(wf, library["article"], editor, reviewer, edited(ARTICLE_CONTENT, summary="A new summary."))
    response = client.get(ARTICLE_URL, headers={"if-none-match": etag})
    assert response.status_code == 200 and "A new summary." in text(response)


def test_logged_in_responses_are_private_and_not_cached(client, library, editor, django_assert_max_num_queries):
    client.force_login(editor)
    response = client.get(ARTICLE_URL)
    assert response.status_code == 200
    assert "private" in response["Cache-Control"] and "public" not in response["Cache-Control"]
    client.logout()
    anonymous = client.get(ARTICLE_URL)
    assert "public" in anonymous["Cache-Control"]


# ---------------------------------------------------------------- advertising slots


@override_settings(HEALTHLIB={"AD_SLOTS": ["after_section_1", "end"], "AD_HTML": '<p class="house">Our shop</p>'})
def test_ad_slots_are_labelled_disclosed_and_between_sections(client, library):
    page = text(client.get(ARTICLE_URL))
    assert page.count('class="healthlib-ad"') == 2
    assert page.count(">Advertisement</p>") == 2
    assert page.count('<p class="house">Our shop</p>') == 2
    assert page.count('href="/health/articles/advertising-policy/"') == 2
    assert "Advertisers have no say in our medical content" in page
    body = page[page.index('<div class="healthlib-body">') : page.index('<section class="healthlib-references"')]
    first_ad = body.index('class="healthlib-ad"')
    # After section 1 ("Overview") and right before the heading of section 2, never inside a paragraph.
    assert body.index("These drugs help") < first_ad < body.index('<h2 id="side-effects">')
    between = body[first_ad : body.index('<h2 id="side-effects">')]
    assert "</div>" in between and "<p>These" not in between


@override_settings(HEALTHLIB={"AD_SLOTS": ["after_section_1", "end"]})
def test_policy_pages_carry_no_ads(client, library):
    assert "Advertisement" not in text(client.get("/health/articles/editorial-process/"))


# ---------------------------------------------------------------- staff preview


def test_preview_requires_edit_or_review_permission(client, library, nobody):
    url = f"/health/preview/revision/{library['article'].latest_revision_id}/"
    assert client.get(url).status_code == 403
    client.force_login(nobody)
    assert client.get(url).status_code == 403


def test_preview_of_a_draft_is_bannered_noindex_and_never_cached(wf, client, editor, reviewer):
    article = _article(wf, editor)
    client.force_login(editor)
    response = client.get(f"/health/preview/revision/{article.latest_revision_id}/")
    page = text(response)
    assert response.status_code == 200
    assert "Staff preview. Readers cannot see this page." in page
    assert "It has not been approved by a medical reviewer." in page
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    assert "Checkpoint inhibitors" in page
    client.logout()
    assert client.get("/health/articles/draft-article/").status_code == 404


def test_reviewer_previews_a_revision_in_review_with_its_approval(wf, client, editor, reviewer, term):
    article = _article(wf, editor)
    wf.submit(article, editor)
    client.force_login(reviewer)
    page = text(client.get(f"/health/preview/revision/{article.latest_revision_id}/"))
    assert "Not yet medically reviewed." in page
    wf.approve(article, reviewer)
    page = text(client.get(f"/health/preview/revision/{article.latest_revision_id}/"))
    assert "Reviewer, MD" in page and "Not yet medically reviewed." not in page


def test_preview_of_a_glossary_term(wf, client, editor):
    item = wf.create_glossary_term(editor, slug="antigen", content=edited(TERM_CONTENT, term="Antigen"))
    client.force_login(editor)
    page = text(client.get(f"/health/preview/revision/{item.latest_revision_id}/"))
    assert "Staff preview" in page and "<dfn>Antigen</dfn>" in page


def test_preview_of_unknown_revision_is_404(client, editor):
    client.force_login(editor)
    assert client.get("/health/preview/revision/999999/").status_code == 404


def test_superuser_may_preview(client, library, db):
    client.force_login(make_user("boss", superuser=True))
    assert client.get(f"/health/preview/revision/{library['article'].latest_revision_id}/").status_code == 200
