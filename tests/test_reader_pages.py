"""Stored article pages (healthlib.reader_pages): what a reader gets is what a full render gives,
kept current by every change that shows on the page, and never used when it is stale."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test import override_settings

from healthlib import publishing, reader_pages
from healthlib.models import Article, ArticleType, TermMention, Topic
from tests import reader_fixtures
from tests.conftest import ARTICLE_CONTENT, edited
from tests.reader_fixtures import TERM_CONTENT, publish, republish

library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

ARTICLE_URL = "/health/articles/checkpoint-inhibitors/"


def page(client, url=ARTICLE_URL, **extra) -> str:
    response = client.get(url, **extra)
    assert response.status_code == 200
    return response.content.decode()


def stored(article) -> str:
    return Article.objects.get(pk=article.pk).live_page_html


def full_render(client, monkeypatch) -> str:
    """The page rendered per request: a fingerprint that cannot match forces the full render."""
    with monkeypatch.context() as patch:
        patch.setattr(reader_pages, "FORMAT", "not the stored one")
        return page(client)


@pytest.fixture(autouse=True)
def fresh_fingerprint():
    reader_pages.clear_fingerprint_cache()
    yield
    reader_pages.clear_fingerprint_cache()


def test_publish_stores_the_page_and_readers_get_it_with_two_queries(client, library, django_assert_num_queries):
    html = stored(library["article"])
    assert reader_pages.RELATED_MARKER in html and reader_pages.ORIGIN_PLACEHOLDER in html
    with django_assert_num_queries(2):  # the stored page, the related articles
        served = page(client)
    assert "Checkpoint inhibitors" in served and "CAR T-cell therapy" in served
    assert reader_pages.RELATED_MARKER not in served and reader_pages.ORIGIN_PLACEHOLDER not in served


def test_stored_page_is_exactly_what_a_full_render_gives(client, library, monkeypatch):
    assert page(client) == full_render(client, monkeypatch)


def test_signed_in_users_get_a_page_rendered_for_them(client, library, editor):
    client.force_login(editor)
    anonymous_html = stored(library["article"])
    response = client.get(ARTICLE_URL)
    assert response.status_code == 200
    assert reader_pages.RELATED_MARKER not in response.content.decode()
    assert stored(library["article"]) == anonymous_html  # a signed-in request stores nothing


def test_absolute_urls_use_the_requests_host(client, library, settings):
    settings.ALLOWED_HOSTS = ["testserver", "health.example.org"]
    html = page(client, HTTP_HOST="health.example.org")
    assert '<link rel="canonical" href="http://health.example.org/health/articles/checkpoint-inhibitors/">' in html
    assert '"url":"http://health.example.org/health/articles/checkpoint-inhibitors/"' in html
    assert "testserver" not in html


def test_a_host_outside_allowed_hosts_is_refused(client, library):
    assert client.get(ARTICLE_URL, HTTP_HOST="evil.example.com").status_code == 400


def test_related_articles_are_current_without_restoring_the_page(wf, client, library, editor, reviewer, topic):
    before = stored(library["article"])
    newcomer = wf.create_article(
        editor, slug="adoptive-cell-therapy", article_type="treatment",
        content=edited(ARTICLE_CONTENT, title="Adoptive cell therapy", summary="Cells grown in a lab."),
    )  # fmt: skip
    newcomer.topics.add(topic)
    publish(wf, newcomer, editor, reviewer)
    assert stored(library["article"]) == before
    assert "Adoptive cell therapy" in page(client)
    wf.archive(newcomer, editor)
    assert "Adoptive cell therapy" not in page(client)


def test_related_sql_matches_the_orm(wf, library, editor, reviewer, topic):
    other_topic = Topic.objects.create(name="Side effects", slug="side-effects")
    for n, title in enumerate(["Zebra", "Alpha", "Mid", "Beta", "Gamma", "Delta"]):
        item = wf.create_article(
            editor, slug=f"a{n}", article_type="treatment", content=edited(ARTICLE_CONTENT, title=title)
        )
        item.topics.add(topic if n % 2 else other_topic)
        publish(wf, item, editor, reviewer)
    library["article"].topics.add(other_topic)
    for article in Article.objects.all():
        expected = list(
            Article.objects.filter(live_revision__isnull=False, live_title__gt="", topics__in=article.topics.all())
            .exclude(article_type=ArticleType.POLICY)
            .exclude(pk=article.pk)
            .distinct()
            .order_by("live_title")
            .values_list("slug", flat=True)[:5]
        )
        assert [r.slug for r in reader_pages.related_articles(article.pk)] == expected


@override_settings(HEALTHLIB={"SHOW_NEXT_REVIEW_DUE": True})
def test_reaffirm_and_review_interval_update_the_stored_page(wf, client, library, editor, reviewer2, monkeypatch):
    article = library["article"]
    wf.set_review_interval(article, editor, 30)
    article.refresh_from_db()
    assert f'datetime="{article.next_review_due:%Y-%m-%d}"' in stored(article)
    assert page(client) == full_render(client, monkeypatch)
    review = wf.reaffirm(article, reviewer2)
    article.refresh_from_db()
    assert review.reviewer_name in stored(article)
    assert page(client) == full_render(client, monkeypatch)


def test_new_live_revision_replaces_the_stored_page(wf, client, library, editor, reviewer):
    republish(wf, library["article"], editor, reviewer, edited(ARTICLE_CONTENT, title="Checkpoint drugs, updated"))
    assert "Checkpoint drugs, updated" in stored(library["article"])
    assert "Checkpoint drugs, updated" in page(client)


def test_a_draft_never_reaches_the_stored_page(wf, client, library, editor):
    article = library["article"]
    before = stored(article)
    wf.save_draft(article, editor, edited(ARTICLE_CONTENT, title="UNREVIEWED DRAFT"), based_on=article.latest_revision)
    wf.submit(article, editor)
    assert "UNREVIEWED DRAFT" not in stored(article)
    assert stored(article) == before
    assert "UNREVIEWED DRAFT" not in page(client)


def test_archive_clears_the_stored_page_and_its_mentions(wf, client, library, editor):
    article = library["article"]
    assert TermMention.objects.filter(article=article).exists()
    wf.archive(article, editor)
    archived = Article.objects.get(pk=article.pk)
    assert (archived.live_page_html, archived.live_page_key) == ("", "")
    assert not TermMention.objects.filter(article=article).exists()
    assert client.get(ARTICLE_URL).status_code == 410  # it was live: gone (tests/test_retired.py)


def test_filing_details_and_topic_renames_update_the_stored_page(
    wf, client, library, editor, monkeypatch, django_capture_on_commit_callbacks
):
    article = library["article"]
    moved = Topic.objects.create(name="Living well", slug="living-well")
    wf.set_article_details(article, editor, article_type="guide", topics=[moved])
    assert 'href="/health/topics/living-well/">Living well</a>' in page(client)
    moved.name = "Living well with cancer"
    with django_capture_on_commit_callbacks(execute=True):
        moved.save()
    assert "Living well with cancer" in stored(article)
    assert page(client) == full_render(client, monkeypatch)


@override_settings(HEALTHLIB={"AD_SLOTS": ["after_section_1"]})
def test_a_page_stored_for_other_settings_is_not_served(client, library):
    # Stored without advertising (the library was published with the default settings).
    assert 'class="healthlib-ad"' not in stored(library["article"])
    assert 'class="healthlib-ad"' in page(client)


def test_a_changed_template_changes_the_fingerprint(library, tmp_path, settings):
    before = reader_pages.fingerprint()
    (tmp_path / "healthlib").mkdir()
    (tmp_path / "healthlib" / "disclaimer.html").write_text("<p>Site disclaimer</p>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    changed = reader_pages.fingerprint()
    assert changed != before
    (tmp_path / "healthlib" / "disclaimer.html").write_text("<p>Another disclaimer</p>")
    reader_pages.clear_fingerprint_cache()
    assert reader_pages.fingerprint() not in (before, changed)


@pytest.mark.parametrize(
    "options, message", [((), "Re-linked 3 article(s)."), (("--pages-only",), "Stored 3 article page(s) again.")]
)
def test_relink_command_stores_pages_for_the_current_templates(client, library, settings, tmp_path, options, message):
    from django.core.management import call_command

    (tmp_path / "healthlib").mkdir()
    (tmp_path / "healthlib" / "disclaimer.html").write_text("<p>Site disclaimer</p>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    assert "Site disclaimer" in page(client)  # rendered per request: the stored page is stale
    assert "Site disclaimer" not in stored(library["article"])
    mentions = sorted(TermMention.objects.values_list("pk", "article_id", "slug"))
    assert mentions
    out = io.StringIO()
    call_command("healthlib_relink", *options, stdout=out)
    assert out.getvalue().startswith(message)
    assert "Site disclaimer" in stored(library["article"])
    assert Article.objects.get(pk=library["article"].pk).live_page_key == reader_pages.fingerprint()
    # The links did not change, so the mention index was left as it was, not rewritten.
    assert sorted(TermMention.objects.values_list("pk", "article_id", "slug")) == mentions


def test_content_cannot_forge_the_related_marker_or_the_origin(wf, client, library, editor, reviewer):
    body = (
        f"Before.\n\n{reader_pages.RELATED_MARKER}\n\nVisit {reader_pages.ORIGIN_PLACEHOLDER}/x for more.\n\n"
        "## Section\n\nAfter."
    )
    title = f"Title {reader_pages.RELATED_MARKER}"
    republish(wf, library["article"], editor, reviewer, edited(ARTICLE_CONTENT, title=title, body=body))
    html = page(client)
    assert html.count('class="healthlib-related"') == 1
    assert "&lt;!--healthlib:related-articles--&gt;" in html  # the title's copy, escaped


def test_glossary_changes_update_mentions_and_the_term_page(wf, client, library, editor, reviewer):
    term = library["term"]
    article = library["article"]
    assert set(TermMention.objects.filter(article=article).values_list("slug", flat=True)) == {"t-cell"}
    assert "Checkpoint inhibitors" in page(client, "/health/glossary/t-cell/")
    republish(wf, term, editor, reviewer, {**TERM_CONTENT, "short_definition": "A white blood cell that fights germs."})
    # In the inline definition and in the JSON-LD mention of the stored page.
    assert stored(article).count("A white blood cell that fights germs.") == 2
    assert page(client).count("A white blood cell that fights germs.") == 2
    wf.archive(term, editor)
    assert "/health/glossary/t-cell/" not in stored(article)
    assert not TermMention.objects.filter(slug="t-cell").exists()
    assert client.get("/health/glossary/t-cell/").status_code == 410


def test_the_term_page_lists_only_live_articles_that_link_it(wf, client, library, editor):
    assert "Checkpoint inhibitors" in page(client, "/health/glossary/t-cell/")
    wf.archive(library["article"], editor)
    assert "Checkpoint inhibitors" not in page(client, "/health/glossary/t-cell/")


@pytest.mark.django_db(transaction=True)
def test_migration_indexes_mentions_of_existing_articles(library):
    from django.db.migrations.executor import MigrationExecutor

    indexed = set(TermMention.objects.values_list("article__slug", "slug"))
    assert ("checkpoint-inhibitors", "t-cell") in indexed
    TermMention.objects.all().delete()
    executor = MigrationExecutor(connection)
    executor.migrate([("healthlib", "0005_title_indexes")])
    executor.loader.build_graph()
    try:
        executor.migrate([("healthlib", "0006_reader_pages")])
        assert set(TermMention.objects.values_list("article__slug", "slug")) == indexed
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_settings_that_cannot_change_the_page_keep_the_stored_pages(client, library, settings):
    before = reader_pages.fingerprint()
    settings.HEALTHLIB = {"CACHE_ALIAS": "default", "REQUIRED_APPROVALS": 2, "FEED_ITEMS": 5}
    assert reader_pages.fingerprint() == before
    settings.HEALTHLIB = {"SITE_NAME": "Another library"}
    assert reader_pages.fingerprint() != before


def test_only_a_topics_name_or_slug_re_stores_its_articles(
    library, topic, monkeypatch, django_capture_on_commit_callbacks
):
    refreshed: list[int] = []
    monkeypatch.setattr(publishing, "store_page", lambda article_id, *args, **kwargs: refreshed.append(article_id))
    with django_capture_on_commit_callbacks(execute=True):
        topic.description = "A new description (shown on the topic page only)."
        topic.save()
    assert refreshed == []
    with django_capture_on_commit_callbacks(execute=True):
        topic.name = "Kinds of treatment"
        topic.save()
    assert sorted(refreshed) == sorted([library["article"].pk, library["other"].pk])
