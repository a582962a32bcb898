"""Publishing: the live fields of a published revision, glossary links, term mentions and stored pages,
kept in line by the workflow's transitions and the derived work after glossary changes."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from healthlib import derived_work, publishing, search, workflow
from healthlib.models import Article, TermMention

from .conftest import ARTICLE_CONTENT, edited

TERM = {"term": "T cell", "aliases": ["T lymphocyte"], "short_definition": "A white blood cell that fights germs."}


def publish(item, editor, reviewer):
    workflow.submit(item, editor)
    workflow.approve(item, reviewer)
    workflow.publish(item, editor)
    item.refresh_from_db()
    return item


def term_link(slug="t-cell"):
    return f'<a class="glossary-term" href="/health/glossary/{slug}/"'


@pytest.fixture
def term(editor):
    return workflow.create_glossary_term(editor, slug="t-cell", content=TERM)


def test_publishing_an_article_links_published_terms_only(term, article, editor, reviewer, client):
    draft_term = workflow.create_glossary_term(
        editor, slug="cancer", content={"term": "cancer", "short_definition": "x"}
    )
    publish(term, editor, reviewer)
    publish(article, editor, reviewer)
    assert term_link() in article.live_body_html
    assert term_link("cancer") not in article.live_body_html
    assert draft_term.live_revision is None
    page = client.get(article.get_absolute_url())
    assert page.status_code == 200
    assert term_link().encode() in page.content
    assert b"A white blood cell that fights germs." in page.content


def test_new_term_relinks_live_articles_after_commit(
    term, published_article, editor, reviewer, django_capture_on_commit_callbacks
):
    assert "glossary-term" not in published_article.live_body_html
    with django_capture_on_commit_callbacks(execute=True):
        publish(term, editor, reviewer)
    published_article.refresh_from_db()
    assert term_link() in published_article.live_body_html


def test_archiving_a_term_removes_its_links(
    term, published_article, editor, reviewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        publish(term, editor, reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.archive(term, editor)
    published_article.refresh_from_db()
    assert "glossary-term" not in published_article.live_body_html
    assert "T cells attack cancer" in published_article.live_body_html


def test_republished_term_with_a_new_definition_relinks(
    term, published_article, editor, reviewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        publish(term, editor, reviewer)
    workflow.save_draft(term, editor, {**TERM, "short_definition": "Updated words."}, based_on=term.latest_revision)
    with django_capture_on_commit_callbacks(execute=True):
        publish(term, editor, reviewer)
    published_article.refresh_from_db()
    assert "Updated words." in published_article.live_body_html


def test_relink_touches_only_articles_that_mention_the_term(
    term, published_article, editor, reviewer, django_capture_on_commit_callbacks
):
    other = workflow.create_article(
        editor, slug="other", article_type="guide", content=edited(ARTICLE_CONTENT, body="Nothing relevant here.")
    )
    publish(other, editor, reviewer)
    for article in (published_article, other):  # as the published signal does after commit
        search.index_item(article)
    before = Article.objects.get(pk=other.pk).updated_at
    with django_capture_on_commit_callbacks(execute=True):
        publish(term, editor, reviewer)
    assert derived_work.affected_article_ids(term) == {published_article.pk}
    assert Article.objects.get(pk=other.pk).updated_at == before


def test_a_draft_edit_of_a_live_article_is_not_what_gets_relinked(
    term, published_article, editor, reviewer, django_capture_on_commit_callbacks
):
    workflow.save_draft(
        published_article,
        editor,
        edited(ARTICLE_CONTENT, body="Draft text about T cells and a secret."),
        based_on=published_article.latest_revision,
    )
    with django_capture_on_commit_callbacks(execute=True):
        publish(term, editor, reviewer)
    published_article.refresh_from_db()
    assert "secret" not in published_article.live_body_html
    assert "These drugs help " + term_link() in published_article.live_body_html


def test_relink_command_rebuilds_every_live_article(term, published_article, editor, reviewer):
    publish(term, editor, reviewer)  # no on-commit receivers run here: the article is stale
    assert "glossary-term" not in Article.objects.get(pk=published_article.pk).live_body_html
    out = StringIO()
    call_command("healthlib_relink", stdout=out)
    assert term_link() in Article.objects.get(pk=published_article.pk).live_body_html
    assert "1" in out.getvalue()


# ---------------------------------------------------------------- the live fields, mentions and pages


def live_fields(item) -> dict:
    """Every reader-facing copy of the revision (not the live revision itself, its reviewers or the stored page)."""
    derived = {"live_revision", "live_reviewers", "live_page_html", "live_page_key"}
    return {
        f.attname: getattr(item, f.attname)
        for f in type(item)._meta.concrete_fields
        if f.name.startswith("live_") and f.name not in derived
    }


def test_set_live_content_renders_and_links_a_copy_without_saving(term, article, editor, reviewer):
    publish(term, editor, reviewer)
    copy = Article.objects.get(pk=article.pk)
    publishing.set_live_content(copy, article.latest_revision)
    assert copy.live_title == ARTICLE_CONTENT["title"]
    assert term_link() in copy.live_body_html
    assert copy.live_toc_html and copy.live_references == ARTICLE_CONTENT["references"]
    assert Article.objects.get(pk=article.pk).live_body_html == ""  # a preview writes nothing


def test_set_live_content_of_a_term_renders_its_definitions(term):
    publishing.set_live_content(term, term.latest_revision)
    assert (term.live_term, term.live_aliases) == ("T cell", ["T lymphocyte"])
    assert term.live_short_definition == TERM["short_definition"]


def test_clear_live_content_empties_every_live_field(term, article, editor, reviewer):
    for item in (publish(term, editor, reviewer), publish(article, editor, reviewer)):
        assert any(live_fields(item).values())
        publishing.clear_live_content(item)
        assert not any(live_fields(item).values()), live_fields(item)


def test_term_mentions_follow_the_live_body_including_hand_written_links(term, editor, reviewer):
    publish(term, editor, reviewer)
    publish(
        workflow.create_glossary_term(editor, slug="antibody", content={"term": "antibody", "short_definition": "x"}),
        editor,
        reviewer,
    )
    body = "T cells help. See [the glossary page](/health/glossary/antibody/#more)."
    article = workflow.create_article(
        editor, slug="a", article_type="guide", content=edited(ARTICLE_CONTENT, body=body)
    )
    publish(article, editor, reviewer)
    assert set(TermMention.objects.filter(article=article).values_list("slug", flat=True)) == {"t-cell", "antibody"}
    workflow.archive(article, editor)
    assert not TermMention.objects.filter(article=article).exists()


def test_refresh_stores_the_page_again_only_when_it_changed(published_article):
    assert publishing.refresh(published_article.pk) is False
    Article.objects.filter(pk=published_article.pk).update(live_page_html="stale")
    assert publishing.refresh(published_article.pk) is True
    stored = Article.objects.get(pk=published_article.pk)
    assert stored.live_page_html != "stale" and published_article.live_title in stored.live_page_html
