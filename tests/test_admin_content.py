"""healthlib.admin.content: articles and glossary terms created and edited through the change form, which saves
through the workflow; the changelists."""

from __future__ import annotations

import unicodedata

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from healthlib import workflow
from healthlib.exceptions import InvalidContent
from healthlib.models import Article, GlossaryTerm, Revision, State, Topic
from tests.admin_pages import (
    _clear_cache,  # noqa: F401 (an autouse fixture: the presence notices live in the cache)
    change_url,
    form_data,
    in_review,
    make_articles,
    snapshot,
)
from tests.conftest import ARTICLE_CONTENT, edited
from tests.content_samples import nothing_written

# ---------------------------------------------------------------- view on site


def test_view_on_site_only_for_live_content(client, article, published_article, editor):
    client.force_login(editor)
    assert published_article.get_absolute_url() in client.get(change_url(published_article)).content.decode()
    draft = workflow.create_article(editor, slug="draft-only", article_type="drug", content=ARTICLE_CONTENT)
    assert draft.get_absolute_url() not in client.get(change_url(draft)).content.decode()


# ---------------------------------------------------------------- create and edit


def test_create_article_through_the_admin(client, editor):
    topic = Topic.objects.create(name="Immunotherapy", slug="immunotherapy")
    client.force_login(editor)
    response = client.post(
        reverse("admin:healthlib_article_add"),
        {
            "slug": "car-t",
            "article_type": "treatment",
            "topics": [topic.pk],
            "owner": "",
            "title": "CAR T-cell therapy",
            "summary": "Your own T cells, changed to fight cancer.",
            "body": "## How it works\n\nDoctors collect your T cells.",
            "references": "CAR T Cells | National Cancer Institute | https://www.cancer.gov/ | 2022",
            "review_interval_days": "180",
            "based_on": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    article = Article.objects.get(slug="car-t")
    assert article.state == State.DRAFT
    assert article.latest_revision.number == 1
    assert article.latest_revision.content["references"] == [
        {
            "title": "CAR T Cells",
            "publisher": "National Cancer Institute",
            "url": "https://www.cancer.gov/",
            "year": 2022,
        }
    ]
    assert list(article.topics.all()) == [topic]
    assert article.owner == editor
    assert article.review_interval_days == 180
    assert list(article.events.values_list("action", flat=True)) == ["healthlib.create"]


def test_create_with_invalid_reference_shows_field_errors(client, editor):
    client.force_login(editor)
    data = {
        "slug": "car-t",
        "article_type": "treatment",
        "title": "CAR T-cell therapy",
        "body": "Text",
        "references": "CAR T | NCI | javascript:alert(1) | 2022\nSecond | NCI | https://x.org/ | soon",
    }
    response = client.post(reverse("admin:healthlib_article_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Line 2" in errors["references"][0]
    data["references"] = "CAR T | NCI | javascript:alert(1) | 2022"
    response = client.post(reverse("admin:healthlib_article_add"), data)
    errors = response.context["adminform"].form.errors
    assert "Reference 1 (url)" in errors["references"][0]
    assert not Article.objects.exists()
    # The typed text is still there.
    assert "CAR T-cell therapy" in response.content.decode()


def test_create_with_taken_slug_is_a_form_error(client, article, editor):
    client.force_login(editor)
    response = client.post(
        reverse("admin:healthlib_article_add"),
        {"slug": article.slug, "article_type": "drug", "title": "Again", "body": ""},
    )
    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert Article.objects.count() == 1


def test_edit_saves_a_new_draft_revision(client, article, editor):
    client.force_login(editor)
    response = client.post(change_url(article), form_data(article, body="## New\n\nShorter text."))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.latest_revision.number == 2
    assert article.latest_revision.content["body"] == "## New\n\nShorter text."
    assert article.latest_revision.based_on.number == 1


def test_saving_unchanged_content_makes_no_revision(client, article, editor):
    client.force_login(editor)
    response = client.post(change_url(article), form_data(article, article_type="drug"))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.latest_revision.number == 1
    assert article.article_type == "drug"
    assert article.events.filter(action="healthlib.set_details").count() == 1


def test_editing_published_article_keeps_the_live_page(client, published_article, editor):
    client.force_login(editor)
    page = client.get(change_url(published_article)).content.decode()
    assert "Readers see revision 1" in page
    assert "Saving makes a new draft" in page
    client.post(change_url(published_article), form_data(published_article, title="A new title"))
    published_article.refresh_from_db()
    assert published_article.state == State.DRAFT
    assert published_article.live_revision.number == 1
    assert published_article.live_title == ARTICLE_CONTENT["title"]
    page = client.get(change_url(published_article)).content.decode()
    assert "Readers see revision 1" in page and "you are editing a new draft (revision 2)" in page


def test_stale_edit_is_refused_and_keeps_the_typed_text(client, article, editor, editor2):
    editor2.first_name, editor2.last_name = "Dana", "Jones"
    editor2.save()
    stale = form_data(article, body="My long careful paragraph that must not be lost.")
    workflow.save_draft(
        article, editor2, edited(ARTICLE_CONTENT, summary="Dana's summary."), based_on=article.latest_revision
    )
    client.force_login(editor)
    response = client.post(change_url(article), stale)
    assert response.status_code == 200
    page = response.content.decode()
    assert "My long careful paragraph that must not be lost." in page
    [error] = response.context["adminform"].form.non_field_errors()
    assert "revision 2" in error and "Dana Jones" in error and "Summary" in error
    article.refresh_from_db()
    assert article.latest_revision.number == 2
    assert article.latest_revision.content["summary"] == "Dana's summary."
    # A deliberate second save, after seeing the warning, builds on revision 2.
    again = dict(stale, based_on=response.context["adminform"].form["based_on"].value())
    assert str(again["based_on"]) == str(article.latest_revision_id)
    assert client.post(change_url(article), again).status_code == 302
    article.refresh_from_db()
    assert article.latest_revision.number == 3


def test_a_refusal_after_part_of_a_save_rolls_all_of_it_back(client, article, editor, monkeypatch):
    def refuse(*args, **kwargs):
        raise InvalidContent("The review interval is refused.")

    monkeypatch.setattr(workflow, "set_review_interval", refuse)
    client.force_login(editor)
    response = client.post(change_url(article), form_data(article, body="New text.", review_interval_days="90"))
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == ["The review interval is refused."]
    assert "New text." in response.content.decode()
    article.refresh_from_db()
    # The new draft revision saved before the refusal is gone with it; the admin logged nothing.
    assert (article.latest_revision.number, Revision.objects.count(), LogEntry.objects.count()) == (1, 1, 0)


def test_content_is_frozen_while_in_review(client, article, editor):
    in_review(article, editor)
    client.force_login(editor)
    response = client.post(change_url(article), form_data(article, body="Sneaky change"))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.latest_revision.number == 1  # disabled fields ignore posted values
    assert article.state == State.IN_REVIEW


def test_review_interval_goes_through_the_workflow(client, article, editor):
    client.force_login(editor)
    client.post(change_url(article), form_data(article, review_interval_days="90"))
    article.refresh_from_db()
    assert article.review_interval_days == 90
    assert article.events.filter(action="healthlib.set_review_interval").count() == 1


def test_glossary_term_create_and_edit(client, editor):
    client.force_login(editor)
    response = client.post(
        reverse("admin:healthlib_glossaryterm_add"),
        {
            "slug": "t-cell",
            "term": "T cell",
            "aliases": "T lymphocyte, T-cell",
            "short_definition": "A type of white blood cell.",
            "full_definition": "T cells **fight** infection.",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    term = GlossaryTerm.objects.get(slug="t-cell")
    assert term.latest_revision.content["aliases"] == ["T lymphocyte", "T-cell"]
    data = {
        "owner": editor.pk,
        "term": "T cell",
        "aliases": "T lymphocyte",
        "short_definition": "A white blood cell that fights infection.",
        "full_definition": "",
        "based_on": term.latest_revision_id,
        "related_terms": "no-such-term",
    }
    response = client.post(change_url(term), data)
    assert response.status_code == 200
    assert "Unknown glossary term" in response.context["adminform"].form.errors["related_terms"][0]
    data["related_terms"] = ""
    assert client.post(change_url(term), data).status_code == 302
    term.refresh_from_db()
    assert term.latest_revision.number == 2


def test_reviewer_sees_a_read_only_page(client, article, reviewer):
    client.force_login(reviewer)
    page = client.get(change_url(article))
    assert page.status_code == 200
    assert b"These drugs help T cells attack cancer." in page.content
    assert b'name="body"' not in page.content
    before = snapshot(article)
    assert client.post(change_url(article), form_data(article, body="x")).status_code == 403
    assert snapshot(article) == before


def test_markdownx_widget_is_on_the_body(client, article, editor):
    client.force_login(editor)
    page = client.get(change_url(article)).content.decode()
    assert 'class="markdownx"' in page and "markdownx-preview" in page
    assert "markdownx/js/markdownx" in page


def test_delete_is_disabled(client, article, superuser):
    client.force_login(superuser)
    assert client.get(reverse("admin:healthlib_article_delete", args=[article.pk])).status_code == 403
    page = client.get(reverse("admin:healthlib_article_changelist")).content.decode()
    assert "delete_selected" not in page
    assert Article.objects.filter(pk=article.pk).exists()


# ---------------------------------------------------------------- changelist


#: Rows per changelist page in the query-count tests: a few dozen rows fill several pages (the real
#: 100 took 200 items built through the workflow, about 50 s a test).
SMALL_PAGE = 10


@pytest.fixture
def small_pages(monkeypatch):
    for model in (Article, GlossaryTerm):
        monkeypatch.setattr(admin.site._registry[model], "list_per_page", SMALL_PAGE)


@pytest.mark.parametrize("n", [3, 25])
def test_changelist_query_count_does_not_grow(client, editor, reviewer, n, django_assert_max_num_queries, small_pages):
    topic = Topic.objects.create(name="T", slug="t")
    make_articles(editor, n, topic=topic)
    client.force_login(editor)
    with django_assert_max_num_queries(11):
        response = client.get(reverse("admin:healthlib_article_changelist"))
    assert response.context["cl"].result_count == n
    assert len(response.context["cl"].result_list) == min(n, SMALL_PAGE)


@pytest.mark.parametrize("n", [3, 25])
def test_glossary_changelist_query_count_does_not_grow(client, editor, n, django_assert_max_num_queries, small_pages):
    for i in range(n):
        workflow.create_glossary_term(
            editor,
            slug=f"t-{i}",
            content={
                "term": f"Term {i}",
                "short_definition": "A plain definition.",
                "aliases": [],
                "related_terms": [],
            },
        )
    client.force_login(editor)
    with django_assert_max_num_queries(11):
        response = client.get(reverse("admin:healthlib_glossaryterm_changelist"))
    assert response.context["cl"].result_count == n
    assert len(response.context["cl"].result_list) == min(n, SMALL_PAGE)


# ---------------------------------------------------------------- saves must name their base (issue 17, finding 5)


@pytest.mark.parametrize("based_on", [None, "", "0"])
def test_change_form_without_its_base_is_refused_and_writes_nothing(client, article, editor, editor2, based_on):
    # Someone else saved after the page was loaded: a post without its base must not replace their revision.
    newer = workflow.save_draft(
        article, editor2, edited(ARTICLE_CONTENT, body="Newer"), based_on=article.latest_revision
    )
    article.refresh_from_db()
    client.force_login(editor)
    data = form_data(article, body="Mine")
    if based_on is None:
        del data["based_on"]
    else:
        data["based_on"] = based_on
    before = snapshot(article)
    response = client.post(change_url(article), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert any("did not say which revision you started from" in e for e in errors), errors
    assert snapshot(article) == before
    assert article.latest_revision == newer


def test_glossary_form_without_its_base_is_refused(client, editor):
    term = workflow.create_glossary_term(
        editor, slug="t-cell", content={"term": "T cell", "short_definition": "A white blood cell."}
    )
    client.force_login(editor)
    before = snapshot(term)
    data = {"owner": editor.pk, "term": "T cell", "short_definition": "Changed without a base."}
    response = client.post(change_url(term), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    assert snapshot(term) == before


# ---------------------------------------------------------------- bad input at the limits: the add forms


def add_form(**changes) -> dict:
    data = {
        "slug": "car-t",
        "article_type": "treatment",
        "title": "CAR T-cell therapy",
        "summary": "Your own T cells, changed to fight cancer.",
        "body": "## How it works\n\nDoctors collect your T cells.",
        "references": "CAR T Cells | National Cancer Institute | https://www.cancer.gov/ | 2022",
        "based_on": "",
    }
    return {**data, **changes}


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"slug": "Bad Slug!"}, "slug"),
        ({"slug": "a" * 201}, "slug"),
        ({"slug": "x\x00y"}, "slug"),
        ({"title": "x" * 201}, "title"),
        ({"title": "Nul\x00"}, "title"),
        ({"summary": "x" * 1001}, "summary"),
        ({"body": "x" * 200_001}, "body"),
        ({"body": "Nul \x00 byte"}, "body"),
        ({"article_type": "nonsense"}, "article_type"),
    ],
    ids=lambda v: str(v)[:30] if isinstance(v, dict) else v,
)
def test_admin_add_form_shows_a_field_error(client, editor, changes, field):
    client.force_login(editor)
    client.raise_request_exception = False
    response = client.post(reverse("admin:healthlib_article_add"), add_form(**changes))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert nothing_written()


def test_admin_add_form_stores_nfc_and_drops_zero_width(client, editor):
    client.force_login(editor)
    title = unicodedata.normalize("NFD", "Café\u200b visits")
    response = client.post(reverse("admin:healthlib_article_add"), add_form(title=title))
    assert response.status_code == 302
    assert Article.objects.get().title == "Café visits"


def test_request_bodies_over_the_limit_are_a_400(client, editor, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    client.force_login(editor)
    client.raise_request_exception = False
    response = client.post(reverse("admin:healthlib_article_add"), add_form(body="x" * (1024 * 1024 + 1)))
    assert response.status_code == 400
    assert nothing_written()


def test_too_many_form_fields_are_a_400(client, editor):
    client.force_login(editor)
    client.raise_request_exception = False
    data = add_form() | {f"extra{i}": "x" for i in range(1100)}
    assert client.post(reverse("admin:healthlib_article_add"), data).status_code == 400


def test_glossary_add_form_with_bad_slug_and_alias(client, editor):
    client.force_login(editor)
    client.raise_request_exception = False
    response = client.post(
        reverse("admin:healthlib_glossaryterm_add"),
        {"slug": "bad slug", "term": "T cell", "short_definition": "A cell.", "aliases": "x\x00y", "based_on": ""},
    )
    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert not GlossaryTerm.objects.exists()
