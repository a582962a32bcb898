"""Search: ranking, only live content, safe snippets, hostile queries, pagination. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from healthlib import search, workflow
from healthlib.models import Article, SearchEntry

from .conftest import ARTICLE_CONTENT, edited

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run the after-commit signal receivers (indexing) as a real commit would."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


@pytest.fixture
def publish(editor, reviewer, on_commit):
    def publish(item):
        on_commit(workflow.submit, item, editor)
        on_commit(workflow.approve, item, reviewer)
        on_commit(workflow.publish, item, editor)
        item.refresh_from_db()
        return item

    return publish


@pytest.fixture
def make_article(editor, publish):
    def make(slug, title, body, *, live=True, summary="A plain summary."):
        article = workflow.create_article(
            editor,
            slug=slug,
            article_type="guide",
            content=edited(ARTICLE_CONTENT, title=title, body=body, summary=summary),
        )
        return publish(article) if live else article

    return make


def titles(results) -> list[str]:
    return [hit.title for hit in results.hits]


def test_finds_published_articles_and_terms(make_article, editor, publish):
    make_article("melanoma", "Melanoma", "A skin cancer that immunotherapy can treat.")
    term = workflow.create_glossary_term(
        editor, slug="melanocyte", content={"term": "Melanocyte", "short_definition": "A skin cell that makes pigment."}
    )
    publish(term)
    results = search.search("skin")
    assert results.total == 2
    assert {(hit.kind, hit.title, hit.url) for hit in results.hits} == {
        ("article", "Melanoma", "/health/articles/melanoma/"),
        ("glossary_term", "Melanocyte", "/health/glossary/melanocyte/"),
    }
    assert all(isinstance(hit.rank, float) for hit in results.hits)


def test_title_match_ranks_above_body_match(make_article):
    make_article("body-only", "Side effects", "Some people get a rash; fatigue is common too. " * 3)
    make_article("title", "Fatigue", "Feeling tired during treatment.")
    results = search.search("fatigue")
    assert titles(results) == ["Fatigue", "Side effects"]
    assert results.hits[0].rank > results.hits[1].rank


def test_every_word_must_match_and_the_last_is_a_prefix(make_article):
    make_article("a", "Checkpoint inhibitors", "They release the brakes on T cells.")
    make_article("b", "Vaccines", "They train the immune system.")
    assert titles(search.search("checkpoint inhib")) == ["Checkpoint inhibitors"]
    assert titles(search.search("brakes vaccines")) == []
    assert search.search("immun").total == 1


def test_case_does_not_matter(make_article):
    make_article("cafe", "Café au lait spots", "Flat brown patches of skin.")
    assert titles(search.search("PATCHES café")) == ["Café au lait spots"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL's english configuration keeps accents")
def test_accents_do_not_matter_on_sqlite(make_article):
    make_article("cafe", "Café au lait spots", "Flat brown patches of skin.")
    assert titles(search.search("CAFE")) == ["Café au lait spots"]


def test_the_entry_is_written_in_the_publish_transaction_not_after_it(editor, reviewer):
    """A glossary term's re-link runs as soon as the term commits and finds articles through the index:
    an article published a moment before must already be there (a flaky race on PostgreSQL when the
    entry was written by an after-commit receiver). No after-commit callback runs in this test."""
    article = workflow.create_article(
        editor, slug="in-step", article_type="guide", content=edited(ARTICLE_CONTENT, title="Zebrafish study")
    )
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    assert not SearchEntry.objects.filter(item_id=article.pk).exists()  # approved is not live
    workflow.publish(article, editor)
    assert SearchEntry.objects.get(item_id=article.pk).title == "Zebrafish study"
    assert search.articles_with_phrases(["zebrafish"]) == {article.pk}
    workflow.archive(Article.objects.get(pk=article.pk), editor, comment="Out of date.")
    assert not SearchEntry.objects.filter(item_id=article.pk).exists()


def test_drafts_in_review_approved_and_archived_content_is_never_found(
    make_article, editor, reviewer, on_commit, publish
):
    make_article("draft", "Zebrafish draft", "zebrafish", live=False)
    in_review = make_article("review", "Zebrafish in review", "zebrafish", live=False)
    on_commit(workflow.submit, in_review, editor)
    approved = make_article("approved", "Zebrafish approved", "zebrafish", live=False)
    on_commit(workflow.submit, approved, editor)
    on_commit(workflow.approve, approved, reviewer)
    archived = make_article("archived", "Zebrafish archived", "zebrafish")
    assert titles(search.search("zebrafish")) == ["Zebrafish archived"]
    on_commit(workflow.archive, archived, editor)
    assert search.search("zebrafish").total == 0
    assert not SearchEntry.objects.exists()


def test_a_draft_edit_of_a_published_article_is_not_found_until_published(
    make_article, editor, reviewer, on_commit, publish
):
    article = make_article("edit", "Interferon", "An older treatment.")
    on_commit(
        workflow.save_draft,
        article,
        editor,
        edited(ARTICLE_CONTENT, title="Interferon", body="Now mentions pembrolizumab.", summary="x"),
        based_on=article.latest_revision,
    )
    on_commit(workflow.submit, article, editor)
    on_commit(workflow.approve, article, reviewer)
    assert search.search("pembrolizumab").total == 0
    assert search.search("older").total == 1
    on_commit(workflow.publish, article, editor)
    assert search.search("pembrolizumab").total == 1
    assert search.search("older").total == 0


def test_glossary_definitions_inside_articles_are_not_indexed_as_article_text(make_article, editor, publish):
    term = workflow.create_glossary_term(
        editor, slug="t-cell", content={"term": "T cell", "short_definition": "Lymphocyte xylophone words."}
    )
    publish(term)
    make_article("uses-term", "Cells", "Your T cells help.")
    results = search.search("xylophone")
    assert [(hit.kind, hit.title) for hit in results.hits] == [("glossary_term", "T cell")]


def test_snippets_are_escaped_and_highlighted(make_article):
    make_article("xss", "Safety", 'Write `<script>alert("x")</script>` if a dose < 5 mg of nivolumab & more.')
    hit = search.search("nivolumab").hits[0]
    assert "<script>" not in hit.snippet_html
    assert "&lt; 5 mg" in hit.snippet_html
    assert "<mark>nivolumab</mark>" in hit.snippet_html
    assert "&amp; more" in hit.snippet_html
    if connection.vendor == "sqlite":  # PostgreSQL's parser drops tag-like text from headlines
        assert "&lt;script&gt;" in hit.snippet_html


def test_snippet_html_turns_only_sentinels_into_marks():
    assert search.snippet_html("a \x02<b>\x03 c") == "a <mark>&lt;b&gt;</mark> c"
    assert search.snippet_html("\x02open") == "<mark>open</mark>"
    assert search.snippet_html("close\x03 <i>") == "close &lt;i&gt;"


def test_snippets_start_just_before_the_first_match_and_mark_whole_words():
    text = " ".join(f"w{i}" for i in range(100)) + " the cell cells cellular T cell lymph nodes " + "end " * 50
    snippet = search.make_snippet(text.strip(), search.highlighter(["T", "cell"]))
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert len(snippet.split()) <= search.SNIPPET_WORDS + 2
    # Every word but the last must match whole; the last may be the start of a word.
    assert "the \x02cell\x03 \x02cells\x03 \x02cellular\x03 \x02T\x03 \x02cell\x03 lymph" in snippet
    assert "w99" in snippet and "w80" not in snippet
    assert search.make_snippet("no match here", search.highlighter(["zzz"])) == "no match here"


def test_sentinel_characters_in_content_cannot_forge_marks(make_article):
    # The workflow refuses control characters; the index strips them anyway, whatever wrote the live copy.
    article = make_article("sentinel", "Sentinel", "text about lymphoma")
    Article.objects.filter(pk=article.pk).update(
        live_body_html="<p>bad \x02&lt;img src=x&gt;\x03 text about lymphoma</p>"
    )
    search.index_item(article)
    entry = SearchEntry.objects.get()
    assert "\x02" not in entry.body_text and "\x03" not in entry.body_text
    snippet = search.search("lymphoma").hits[0].snippet_html
    assert snippet.count("<mark>") == 1 and "<img" not in snippet


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"unbalanced',
        "*",
        "NEAR(",
        "NEAR(a b",
        "AND OR",
        "OR",
        "NOT",
        "'",
        "\\",
        "((",
        "a) OR (b",
        "title:cancer",
        "^cancer",
        "-cancer",
        "cancer:*",
        "!cancer & |",
        "x" * 5000,
        "cancer " * 1000,
        "cancer\x00",
        "\x00",
        "😀",
        "cancer 😀",
        "   ",
        "",
        "_",
        "<script>",
        "%",
        "';--",
    ],
)
def test_hostile_queries_return_normally(make_article, query):
    make_article("c", "Cancer", "About cancer.")
    results = search.search(query)
    assert results.total == len(results.hits) or results.total > len(results.hits)
    assert all(hit.title == "Cancer" for hit in results.hits)


def test_hostile_queries_still_find_their_words(make_article):
    make_article("c", "Cancer", "About cancer.")
    for query in ('"cancer', "cancer)", "(cancer", "cancer*", "cancer'", "cancer\x00", "cancer 😀", "Cancer\\"):
        assert search.search(query).total == 1, query


def test_empty_query_finds_nothing(make_article):
    make_article("c", "Cancer", "About cancer.")
    assert search.search("") == search.SearchResults(total=0, hits=[])
    assert search.search("  !!! ").total == 0


def test_query_terms_are_words_in_any_script():
    assert search.query_terms('PD-1 "NEAR(x)" ñandú 免疫 a_b') == ["PD", "1", "NEAR", "x", "ñandú", "免疫", "a", "b"]
    assert len(search.query_terms("w " * 500)) == search.MAX_TERMS
    assert search.query_terms("x" * 5000) == ["x" * search.MAX_TERM_LENGTH]


def test_pagination(make_article):
    for i in range(5):
        make_article(f"a{i}", f"Lymphoma {i}", "lymphoma " * (i + 1))
    everything = search.search("lymphoma", limit=10)
    assert everything.total == 5 and len(everything.hits) == 5
    pages = [search.search("lymphoma", limit=2, offset=offset) for offset in (0, 2, 4, 6)]
    assert [len(page.hits) for page in pages] == [2, 2, 1, 0]
    assert all(page.total == 5 for page in pages)
    assert [hit.title for page in pages for hit in page.hits] == titles(everything)
    assert len(search.search("lymphoma", limit=10_000).hits) == 5
    assert search.search("lymphoma", limit=-3, offset=-8).hits == []


def test_reindex_command_rebuilds_from_live_content_only(make_article):
    make_article("live", "Live lymphoma", "lymphoma")
    make_article("draft", "Draft lymphoma", "lymphoma", live=False)
    SearchEntry.objects.all().delete()
    assert search.search("lymphoma").total == 0
    out = StringIO()
    call_command("healthlib_reindex", stdout=out)
    assert "1" in out.getvalue()
    assert titles(search.search("lymphoma")) == ["Live lymphoma"]


def test_index_item_of_a_non_live_item_removes_it(make_article):
    article = make_article("x", "Myeloma", "myeloma")
    SearchEntry.objects.filter(pk=article.pk).update(title="stale")
    article.live_revision = None  # what index_item sees is re-read from the database
    assert search.index_item(article) is True
    assert SearchEntry.objects.get(pk=article.pk).title == "Myeloma"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_fts_table_follows_the_entry_table_through_triggers(make_article):
    article = make_article("x", "Myeloma", "myeloma")
    SearchEntry.objects.filter(pk=article.pk).update(
        title="Leukaemia", aliases="Blood cancer", body_text="Blood cancer"
    )
    assert [(hit.title, hit.rank) for hit in search.search("leukaemia").hits] == [("Leukaemia", search.EXACT_NAME)]
    assert [hit.rank for hit in search.search("blood cancer").hits] == [search.NAME]  # from the names table
    assert search.search("myeloma total").total == 0
    SearchEntry.objects.all().delete()
    assert search.search("leukaemia").total == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM healthlib_searchentry_names")
        assert cursor.fetchone()[0] == 0


def test_the_full_text_index_exists_for_this_database(db):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE 'healthlib_searchentry%' ORDER BY name")
            assert {row[0] for row in cursor.fetchall()} >= {
                "healthlib_searchentry_fts",
                "healthlib_searchentry_ai",
                "healthlib_searchentry_ad",
                "healthlib_searchentry_au",
            }
        else:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'healthlib_searchentry_vector'")
            assert "gin (search_vector)" in cursor.fetchone()[0]


def test_term_aliases_and_definitions_are_searchable(editor, publish):
    term = workflow.create_glossary_term(
        editor,
        slug="pd-1",
        content={"term": "PD-1", "aliases": ["programmed death 1"], "short_definition": "A checkpoint protein."},
    )
    publish(term)
    assert titles(search.search("programmed death")) == ["PD-1"]
    assert titles(search.search("checkpoint protein")) == ["PD-1"]
    assert titles(search.search("PD-1")) == ["PD-1"]


# ---------------------------------------------------------------- ranking policy and the result cap


def test_a_title_match_ranks_above_newer_text_only_matches(make_article):
    make_article("title", "Fatigue", "Feeling tired during treatment.")
    make_article("newer-body", "Side effects", "Fatigue is common. " * 5)
    make_article("newest-body", "Diet", "Eat well against fatigue.")
    results = search.search("fatigue")
    assert titles(results) == ["Fatigue", "Diet", "Side effects"]  # text-only matches: newest first
    assert [hit.rank for hit in results.hits] == [search.EXACT_NAME, search.TEXT, search.TEXT]


def test_an_exact_title_ranks_first_then_shorter_titles(make_article):
    make_article("exact", "Lymphoma", "A cancer of lymphocytes.")
    make_article("long", "Living well with lymphoma after treatment", "Notes.")
    make_article("short", "Lymphoma in children", "Notes.")
    make_article("body", "Blood cancers", "Lymphoma and leukaemia.")
    results = search.search("  LYMPHOMA ")
    assert titles(results) == [
        "Lymphoma",
        "Lymphoma in children",
        "Living well with lymphoma after treatment",
        "Blood cancers",
    ]
    assert [hit.rank for hit in results.hits] == [search.EXACT_NAME, search.NAME, search.NAME, search.TEXT]


def test_a_glossary_term_found_by_its_alias_ranks_with_title_matches(make_article, editor, publish):
    term = workflow.create_glossary_term(
        editor,
        slug="pd-1",
        content={"term": "PD-1", "aliases": ["Programmed death 1", "CD279"], "short_definition": "A protein."},
    )
    publish(term)
    make_article("newer", "Checkpoints", "PD-1 is also called programmed death 1.")
    results = search.search("programmed death 1")
    assert titles(results) == ["PD-1", "Checkpoints"]
    assert [hit.rank for hit in results.hits] == [search.NAME, search.TEXT]
    assert results.hits[0].kind == "glossary_term"
    assert titles(search.search("cd279")) == ["PD-1"]
    assert SearchEntry.objects.get(pk=term.pk).aliases == "Programmed death 1\nCD279"


def test_when_more_names_match_than_the_cap_they_come_newest_first(make_article, monkeypatch):
    make_article("exact", "Melanoma", "Skin.")
    make_article("short", "Melanoma 2", "Skin.")
    make_article("long", "Melanoma in the eye and elsewhere", "Skin.")
    make_article("body", "Moles", "Melanoma.")
    assert titles(search.search("melanoma")) == ["Melanoma", "Melanoma 2", "Melanoma in the eye and elsewhere", "Moles"]
    monkeypatch.setattr(search.query, "RESULT_CAP", 2)
    # Ordering thousands of titles by length costs more than the page; newest first is index order.
    results = search.search("melanoma")
    assert (titles(results), results.capped) == (["Melanoma", "Melanoma in the eye and elsewhere"], True)


def test_pages_neither_overlap_nor_skip_across_the_tiers(make_article):
    for i in range(4):
        make_article(f"t{i}", f"Melanoma {'stage ' * i}{i}", "Skin.")
        make_article(f"b{i}", f"Skin {i}", "About melanoma.")
    make_article("exact", "melanoma", "Skin.")
    everything = search.search("melanoma", limit=50)
    assert everything.total == 9 and len({hit.url for hit in everything.hits}) == 9
    for size in (1, 2, 4, 5):
        pages = [search.search("melanoma", limit=size, offset=offset) for offset in range(0, 9, size)]
        assert [hit.url for page in pages for hit in page.hits] == [hit.url for hit in everything.hits], size
    assert [hit.rank for hit in everything.hits] == [search.EXACT_NAME] + [search.NAME] * 4 + [search.TEXT] * 4


def test_the_count_stops_at_the_cap_and_paging_stops_with_it(make_article, monkeypatch):
    for i in range(5):
        make_article(f"a{i}", f"Rash {i}", "rash")
    monkeypatch.setattr(search.query, "RESULT_CAP", 3)
    first = search.search("rash", limit=2)
    assert (first.total, first.capped, len(first.hits)) == (3, True, 2)
    second = search.search("rash", limit=2, offset=2)
    assert (second.total, second.capped, len(second.hits)) == (3, True, 1)
    assert search.search("rash", limit=2, offset=4).hits == []
    monkeypatch.setattr(search.query, "RESULT_CAP", 5)
    exact = search.search("rash")
    assert (exact.total, exact.capped, len(exact.hits)) == (5, False, 5)


def test_the_number_of_queries_does_not_grow_with_the_results(make_article):
    make_article("one", "Nausea", "nausea")
    with CaptureQueriesContext(connection) as few:
        assert len(search.search("nausea").hits) == 1
    for i in range(6):
        make_article(f"n{i}", f"Nausea {i}" if i % 2 else "Other", "nausea")
    with CaptureQueriesContext(connection) as many:
        assert len(search.search("nausea").hits) == 7
    assert len(few) == len(many)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_a_sqlite_site_never_imports_the_postgresql_backend():
    """On Django 6, django.contrib.postgres.search needs a PostgreSQL driver, which a SQLite site may not have."""
    script = (
        "import sys, django; django.setup(); from django.core.management import call_command; "
        "call_command('migrate', verbosity=0); from healthlib import search; from django.db import connection; "
        "search.search('cancer'); search.articles_with_phrases(['t cell']); "
        "print(connection.vendor, 'healthlib.search.postgres' in sys.modules, 'django.contrib.postgres.search' in sys.modules)"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "HEALTHLIB_TEST_DB": "sqlite"}
    environment.pop("HEALTHLIB_TEST_SQLITE_FILE", None)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split() == ["sqlite", "False", "False"], done.stderr
