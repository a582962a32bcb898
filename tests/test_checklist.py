"""The pre-publish checklist: each rule, its levels, and enforcement on submit and publish."""

from __future__ import annotations

import pytest
from django.test import override_settings

from healthlib import checklist, workflow
from healthlib.exceptions import ChecklistFailed, TransitionNotAllowed
from healthlib.models import Article, State, WorkflowEvent
from tests.conftest import ARTICLE_CONTENT, edited

HARD = (
    "Pharmacokinetic considerations notwithstanding, immunomodulatory monoclonal antibodies characteristically "
    "precipitate multisystemic inflammatory complications necessitating individualized corticosteroid administration."
)


def results(item, revision=None) -> dict[str, checklist.CheckResult]:
    return {result.code: result for result in checklist.evaluate(item, revision)}


def new_article(user, slug="a", **changes) -> Article:
    return workflow.create_article(
        user, slug=slug, article_type="treatment", content=edited(ARTICLE_CONTENT, **changes)
    )


def make_term(user, slug="t-cell", term="T cell"):
    return workflow.create_glossary_term(
        user, slug=slug, content={"term": term, "short_definition": "A white blood cell that fights infection."}
    )


def publish_term(term, editor, reviewer):
    workflow.submit(term, editor)
    workflow.approve(term, reviewer)
    workflow.publish(term, editor)


def test_good_article_passes_every_rule_in_order(article):
    found = checklist.evaluate(article)
    assert [r.code for r in found] == [
        "summary",
        "references",
        "readability",
        "glossary_published",
        "comments_resolved",
        "references_reachable",
    ]
    assert all(r.passed for r in found)
    assert [r.level for r in found] == ["required", "required", "recommended", "required", "required", "recommended"]
    assert all(str(r.label) for r in found)
    assert checklist.enforce(article) == found


def test_missing_summary_blocks_submit_and_changes_nothing(editor):
    article = new_article(editor, summary="")
    result = results(article)["summary"]
    assert (result.passed, result.level) == (False, "required")
    assert "summary" in result.message
    events = WorkflowEvent.objects.count()
    with pytest.raises(ChecklistFailed) as excinfo:
        workflow.submit(article, editor)
    assert isinstance(excinfo.value, TransitionNotAllowed)
    assert excinfo.value.status_code == 409
    assert "summary" in str(excinfo.value)
    assert [r.code for r in excinfo.value.failing] == ["summary"]
    assert len(excinfo.value.results) == 6
    assert Article.objects.get(pk=article.pk).state == State.DRAFT
    assert WorkflowEvent.objects.count() == events


def test_missing_references_blocks_submit(editor):
    article = new_article(editor, references=[])
    assert results(article)["references"].passed is False
    with pytest.raises(ChecklistFailed, match="reference"):
        workflow.submit(article, editor)


def test_both_failures_are_listed_in_the_message(editor):
    article = new_article(editor, summary="", references=[])
    with pytest.raises(ChecklistFailed) as excinfo:
        workflow.submit(article, editor)
    assert [r.code for r in excinfo.value.failing] == ["summary", "references"]
    assert "summary" in str(excinfo.value) and "reference" in str(excinfo.value)


def test_hard_text_only_warns_by_default(editor):
    article = new_article(editor, body=HARD)
    result = results(article)["readability"]
    assert (result.passed, result.level) == (False, "recommended")
    assert "grade 8" in result.message
    workflow.submit(article, editor)  # recommended failures never block
    assert Article.objects.get(pk=article.pk).state == State.IN_REVIEW


@override_settings(HEALTHLIB={"CHECKLIST": {"readability": "required"}})
def test_readability_can_be_required(editor):
    article = new_article(editor, body=HARD)
    with pytest.raises(ChecklistFailed, match="grade"):
        workflow.submit(article, editor)


@override_settings(HEALTHLIB={"READABILITY_TARGET_GRADE": 1.5})
def test_readability_follows_the_target_grade(article):
    assert article.latest_revision.readability_grade == 1.9
    assert results(article)["readability"].passed is False


@override_settings(HEALTHLIB={"CHECKLIST": {"summary": "off", "references": "recommended"}})
def test_off_rules_are_left_out_and_partial_settings_merge_with_defaults(editor):
    article = new_article(editor, summary="", references=[])
    found = results(article)
    assert "summary" not in found
    assert found["references"].level == "recommended" and found["references"].passed is False
    assert found["comments_resolved"].level == "required"
    workflow.submit(article, editor)
    assert Article.objects.get(pk=article.pk).state == State.IN_REVIEW


def test_glossary_terms_have_no_summary_or_reference_rules(editor):
    term = make_term(editor)
    assert [r.code for r in checklist.evaluate(term)] == ["readability", "glossary_published", "comments_resolved"]


@pytest.mark.parametrize(
    "link",
    [
        "[T cells](/health/glossary/t-cell/)",
        "[T cells](http://testserver/health/glossary/t-cell/)",
        "[T cells][tc]\n\n[tc]: /health/glossary/t-cell/",
        "[T cells](/health/glossary/t-cell/#definition)",
    ],
)
def test_link_to_unpublished_term_blocks_submit(editor, reviewer, link):
    make_term(editor)
    article = new_article(editor, body=f"Immune cells fight cancer: {link}")
    assert checklist.glossary_links(article, article.latest_revision) == ["t-cell"]
    result = results(article)["glossary_published"]
    assert result.passed is False and "t-cell" in result.message
    with pytest.raises(ChecklistFailed, match="t-cell"):
        workflow.submit(article, editor)


def test_link_to_missing_term_fails_and_published_term_passes(editor, reviewer):
    article = new_article(
        editor, body="See [T cells](/health/glossary/t-cell/) and [NK cells](/health/glossary/nk-cell/)."
    )
    assert "t-cell, nk-cell" in results(article)["glossary_published"].message
    publish_term(make_term(editor), editor, reviewer)
    result = results(article)["glossary_published"]
    assert result.passed is False
    assert "nk-cell" in result.message and "t-cell" not in result.message
    publish_term(make_term(editor, slug="nk-cell", term="NK cell"), editor, reviewer)
    assert results(article)["glossary_published"].passed is True
    workflow.submit(article, editor)


def test_archived_term_counts_as_unpublished(editor, reviewer):
    term = make_term(editor)
    publish_term(term, editor, reviewer)
    article = new_article(editor, body="See [T cells](/health/glossary/t-cell/).")
    assert results(article)["glossary_published"].passed is True
    workflow.archive(term, editor)
    assert results(article)["glossary_published"].passed is False


@pytest.mark.parametrize(
    "body",
    [
        "Read [elsewhere](https://example.com/health/glossary/t-cell/).",  # another site
        "Read [the article](/health/articles/t-cell/).",  # not a glossary page
        "Read [nothing](/no/such/page/).",
        "Mail [us](mailto:t-cell@example.org).",
        "A [relative](glossary/t-cell/) link.",
    ],
)
def test_other_links_are_not_glossary_links(editor, body):
    article = new_article(editor, body=body)
    assert checklist.glossary_links(article, article.latest_revision) == []
    assert results(article)["glossary_published"].passed is True


def test_glossary_term_definitions_are_checked_too(editor):
    make_term(editor, slug="b-cell", term="B cell")
    term = workflow.create_glossary_term(
        editor,
        slug="antibody",
        content={"term": "Antibody", "short_definition": "A protein made by [B cells](/health/glossary/b-cell/)."},
    )
    assert results(term)["glossary_published"].passed is False


def test_changes_requested_must_be_followed_by_a_new_revision(article, editor, reviewer):
    workflow.submit(article, editor)
    workflow.request_changes(article, reviewer, comment="Cite the trial.")
    result = results(article)["comments_resolved"]
    assert result.passed is False and "Reviewer" in result.message
    with pytest.raises(ChecklistFailed, match="asked for changes"):
        workflow.submit(article, editor)
    assert Article.objects.get(pk=article.pk).state == State.CHANGES_REQUESTED
    workflow.save_draft(
        article, editor, edited(ARTICLE_CONTENT, body="Now with the trial."), based_on=article.latest_revision
    )
    assert results(article)["comments_resolved"].passed is True
    workflow.submit(article, editor)
    assert Article.objects.get(pk=article.pk).state == State.IN_REVIEW


def test_an_explicit_older_revision_is_checked(article, editor, reviewer):
    first = article.latest_revision
    workflow.submit(article, editor)
    workflow.request_changes(article, reviewer, comment="Cite the trial.")
    workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, summary=""), based_on=first)
    assert results(article, first)["comments_resolved"].passed is False
    assert results(article, first)["summary"].passed is True
    assert results(article)["comments_resolved"].passed is True
    assert results(article)["summary"].passed is False


def test_publish_enforces_the_checklist_and_changes_nothing(article, editor, reviewer):
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    events = WorkflowEvent.objects.count()
    with override_settings(HEALTHLIB={"READABILITY_TARGET_GRADE": 1.0, "CHECKLIST": {"readability": "required"}}):
        with pytest.raises(ChecklistFailed, match="grade"):
            workflow.publish(article, editor)
    fresh = Article.objects.get(pk=article.pk)
    assert fresh.state == State.APPROVED and fresh.live_revision is None
    assert WorkflowEvent.objects.count() == events
    workflow.publish(article, editor)
    assert Article.objects.get(pk=article.pk).state == State.PUBLISHED
