"""Per-page invalidation of healthlib's page cache: a change retires exactly the pages that show it.

A page counts as served from the cache when the request runs no database query (every healthlib
reader page runs at least one when rendered); a page counts as fresh when it shows the change.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import resolve

from healthlib import cache as page_cache
from healthlib import cache_tags
from healthlib.models import Topic
from tests import reader_fixtures
from tests.conftest import ARTICLE_CONTENT, edited
from tests.reader_fixtures import TERM_CONTENT, publish, republish
from tests.test_cache_fast_path import FAST_MIDDLEWARE

clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

pytestmark = pytest.mark.page_cache

A = "/health/articles/checkpoint-inhibitors/"
SAME_TOPIC = "/health/articles/car-t-cell-therapy/"
B = "/health/articles/managing-fatigue/"
B_REVIEWS = "/health/articles/managing-fatigue/reviews/"
LINKED_TERM = "/health/glossary/t-cell/"
OTHER_TERM = "/health/glossary/cytokine/"
TOPIC = "/health/topics/treatment-types/"
OTHER_TOPIC = "/health/topics/side-effects/"
LISTINGS = ["/health/", "/health/articles/", "/health/types/treatment/", "/health/feeds/rss/", "/health/sitemap.xml"]
URLS = [A, SAME_TOPIC, B, B_REVIEWS, LINKED_TERM, OTHER_TERM, TOPIC, OTHER_TOPIC, "/health/glossary/", *LISTINGS]


@pytest.fixture(params=["decorator", "middleware"])
def stack(request):
    page_cache._local_pages.clear()
    page_cache._wsgi_pages.clear()
    middleware = FAST_MIDDLEWARE if request.param == "middleware" else settings.MIDDLEWARE
    with override_settings(MIDDLEWARE=middleware):
        yield request.param
    page_cache._local_pages.clear()
    page_cache._wsgi_pages.clear()


@pytest.fixture
def wider(wf, library, editor, reviewer):
    """The library, plus an article on another topic that links no term, and a term no article links."""
    side_effects = Topic.objects.create(name="Side effects", slug="side-effects")
    fatigue = wf.create_article(
        editor,
        slug="managing-fatigue",
        article_type="guide",
        content=edited(ARTICLE_CONTENT, title="Managing fatigue", body="## Rest\n\nPlan your day around rest."),
    )
    fatigue.topics.add(side_effects)
    publish(wf, fatigue, editor, reviewer)
    cytokine = wf.create_glossary_term(
        editor, slug="cytokine", content={**TERM_CONTENT, "term": "Cytokine", "aliases": [], "related_terms": []}
    )
    publish(wf, cytokine, editor, reviewer)
    return {**library, "fatigue": fatigue, "cytokine": cytokine, "side_effects": side_effects}


def get(url: str) -> tuple[str, int]:
    """The page's text and the number of queries it took (0: served from the cache)."""
    with CaptureQueriesContext(connection) as queries:
        response = Client().get(url)
    assert response.status_code == 200, url
    return response.content.decode(), len(queries)


def warm() -> dict[str, str]:
    pages = {url: get(url)[0] for url in URLS}
    assert all(get(url)[1] == 0 for url in URLS)  # all cached now
    return pages


def from_cache(before: dict[str, str], *urls: str) -> None:
    for url in urls:
        text, queries = get(url)
        assert queries == 0 and text == before[url], f"{url} was rendered again"


def rendered(*urls: str) -> list[str]:
    texts = []
    for url in urls:
        text, queries = get(url)
        assert queries > 0, f"{url} was served from the cache"
        texts.append(text)
    return texts


def test_publishing_one_article_retires_its_pages_and_no_other(wider, wf, editor, reviewer, stack):
    before = warm()
    republish(wf, wider["article"], editor, reviewer, edited(ARTICLE_CONTENT, title="Immune checkpoint inhibitors"))
    # Its page, its topic-mate (related articles), its topic, the term page that lists it, the listings.
    fresh = rendered(A, SAME_TOPIC, TOPIC, LINKED_TERM, "/health/articles/", "/health/types/treatment/")
    assert all("Immune checkpoint inhibitors" in text for text in fresh)
    rendered("/health/", "/health/feeds/rss/", "/health/sitemap.xml")
    # Another topic's article and its review trail, a term it does not link, the glossary: untouched.
    from_cache(before, B, B_REVIEWS, OTHER_TERM, OTHER_TOPIC, "/health/glossary/")


@pytest.fixture
def crowded(wf, wider, editor, reviewer) -> list[str]:
    """Seven more articles on the article's topic, all ahead of it by title (related lists show five)."""
    urls = []
    for n in range(7):
        content = edited(ARTICLE_CONTENT, title=f"Aa {n}", body="## Rest\n\nPlan your day around rest.")
        item = wf.create_article(editor, slug=f"aa-{n}", article_type="guide", content=content)
        item.topics.add(wider["topic"])
        publish(wf, item, editor, reviewer)
        urls.append(f"/health/articles/aa-{n}/")
    return urls


def test_a_publish_that_ranks_after_the_related_lists_leaves_the_topic_mates_cached(
    crowded, wider, wf, editor, reviewer, stack
):
    before = {url: get(url)[0] for url in [*crowded, SAME_TOPIC]}
    republish(wf, wider["article"], editor, reviewer, edited(ARTICLE_CONTENT, title="Zz checkpoint inhibitors"))
    assert "Zz checkpoint inhibitors" in rendered(A)[0] and "Zz checkpoint inhibitors" in rendered(TOPIC)[0]
    # Neither its old nor its new title is among the first six of the topic: no related list showed it.
    from_cache(before, *crowded, SAME_TOPIC)


def test_a_publish_that_ranks_among_the_related_lists_retires_the_topic_mates(
    crowded, wider, wf, editor, reviewer, stack
):
    for url in crowded:
        get(url)
    republish(wf, wider["article"], editor, reviewer, edited(ARTICLE_CONTENT, title="A first"))
    for text in rendered(*crowded):
        assert "A first" in text  # now first in every related list of the topic


def test_a_new_text_under_the_same_title_leaves_the_pages_that_list_it_cached(wider, wf, editor, reviewer, stack):
    before = warm()
    body = ARTICLE_CONTENT["body"] + "\n\n## How T cells help\n\nYour T cells fight cancer.\n\n## More\n\nNew text."
    republish(wf, wider["article"], editor, reviewer, edited(ARTICLE_CONTENT, body=body))
    assert "New text." in rendered(A)[0]
    rendered(TOPIC, "/health/articles/", "/health/types/treatment/", "/health/", "/health/feeds/rss/")
    # The term page and the topic-mate's related articles show its title and summary: unchanged.
    from_cache(before, LINKED_TERM, SAME_TOPIC, B, B_REVIEWS, OTHER_TERM, OTHER_TOPIC, "/health/glossary/")


def test_a_reaffirm_retires_the_page_and_the_dated_lists_only(wider, wf, reviewer, stack):
    before = warm()
    wf.reaffirm(wider["article"], reviewer)
    rendered(A, "/health/", "/health/feeds/rss/", "/health/sitemap.xml")
    from_cache(before, B, LINKED_TERM, SAME_TOPIC, OTHER_TERM, OTHER_TOPIC, "/health/types/treatment/")


def test_archiving_removes_the_page_and_its_mentions(wider, wf, editor, stack):
    before = warm()
    wf.archive(wider["article"], editor)
    assert Client().get(A).status_code == 410
    # The term page listed it: the mention is gone from the index, the page is rendered without it.
    (term_page,) = rendered(LINKED_TERM)
    assert "/health/articles/checkpoint-inhibitors/" not in term_page
    assert A not in rendered(SAME_TOPIC)[0]  # nor among its topic-mate's related articles
    from_cache(before, B, OTHER_TERM, OTHER_TOPIC)


def test_a_term_change_retires_the_pages_that_link_it(wider, wf, editor, reviewer, stack):
    before = warm()
    republish(wf, wider["term"], editor, reviewer, {**TERM_CONTENT, "short_definition": "A changed definition."})
    # The pages that link it show its definition; they are re-linked, stored again and retired.
    for text in rendered(A, SAME_TOPIC, LINKED_TERM):
        assert "A changed definition." in text
    rendered("/health/glossary/")
    from_cache(before, B, B_REVIEWS, OTHER_TERM, OTHER_TOPIC, TOPIC, "/health/articles/", *LISTINGS[2:4])


def test_a_topic_rename_retires_the_topic_and_its_articles(wider, django_capture_on_commit_callbacks, stack):
    before = warm()
    treatment = wider["topic"]
    with django_capture_on_commit_callbacks(execute=True):
        treatment.name = "Kinds of treatment"
        treatment.save()
    for text in rendered(TOPIC, A, SAME_TOPIC):
        assert "Kinds of treatment" in text
    from_cache(before, B, OTHER_TERM, OTHER_TOPIC, LINKED_TERM, "/health/glossary/")


def test_moving_an_article_to_another_topic(wider, wf, editor, stack):
    before = warm()
    wf.set_article_details(wider["fatigue"], editor, article_type="guide", topics=[wider["topic"]])
    assert "Managing fatigue" in rendered(TOPIC)[0]
    assert "Managing fatigue" not in rendered(OTHER_TOPIC)[0]
    rendered(B, A, SAME_TOPIC)  # a new topic-mate in their related articles
    from_cache(before, LINKED_TERM, OTHER_TERM, "/health/glossary/")


def test_what_readers_cannot_see_retires_nothing(wider, wf, editor, reviewer, stack):
    before = warm()
    article = wider["article"]
    wf.save_draft(article, editor, edited(ARTICLE_CONTENT, title="Draft title"), based_on=article.latest_revision)
    wf.submit(article, editor)
    wf.approve(article, reviewer)
    from_cache(before, *URLS)


def test_invalidate_retires_every_page(wider, stack):
    warm()
    page_cache.invalidate()
    rendered(*URLS)


def test_a_page_whose_generation_is_gone_is_rendered_again(wider, stack):
    """An evicted or cleared generation is created anew: pages stored under the old one are never read."""
    before = warm()
    page_cache._bookkeeping().delete(page_cache.TAG_KEY.format(tag="hl-a-managing-fatigue"))
    (text,) = rendered(B)
    assert text == before[B]
    from_cache(before, B, A)


def test_what_the_edge_purges_the_page_cache_retires(wider, settings):
    """For every reader page and every tag the HTTP cache knows it by, retiring that tag retires the page
    in healthlib's cache too: the page cache is never behind the edge."""
    settings.HEALTHLIB = {"CACHE_TAG_HEADER": "Surrogate-Key"}
    for url in URLS:
        response = Client().get(url)
        match = resolve(url)
        own = cache_tags.own(match.url_name, match.kwargs)
        assert own is not None, url
        for tag in response["Surrogate-Key"].split():
            if tag != "hl":
                assert own in cache_tags.pages_showing([tag]), (url, tag)


# ---------------------------------------------------------------- nothing private is stored


@pytest.mark.parametrize("middleware", ["decorator", "middleware"])
def test_no_private_response_is_ever_stored(wider, wf, editor, reviewer, middleware, rf):
    stack = FAST_MIDDLEWARE if middleware == "middleware" else settings.MIDDLEWARE
    page_cache._local_pages.clear()
    with override_settings(MIDDLEWARE=stack):
        caches["default"].clear()
        client = Client()
        client.force_login(editor)
        fatigue = wider["fatigue"]
        draft = wf.save_draft(
            fatigue, editor, edited(ARTICLE_CONTENT, title="Secret draft"), based_on=fatigue.latest_revision
        )
        urls = (A, B, LINKED_TERM, "/health/", f"/health/preview/revision/{draft.pk}/")
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            assert "private" in response["Cache-Control"]
        client.post(A)
        # Under the key an anonymous reader's page of that address would have: nothing.
        assert all(caches["default"].get(page_cache.page_key(rf.get(url))) is None for url in urls)
        assert not page_cache._local_pages
        # Nor is the draft ever served to a reader from any layer.
        assert "Secret draft" not in Client().get(B).content.decode()
        assert caches["default"].get(page_cache.page_key(rf.get(B))) is not None  # the reader's page is
    page_cache._local_pages.clear()
