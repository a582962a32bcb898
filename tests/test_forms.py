"""The admin forms validate and never write: the admin's ``save_model`` calls the workflow (issue 11, item 2)."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from healthlib import workflow
from healthlib.exceptions import InvalidContent, NotPermitted, StaleVersion
from healthlib.forms import ArticleAdminForm, GlossaryTermAdminForm, references_to_text
from healthlib.models import ContentItem, Revision, RevisionAuthor, Topic, WorkflowEvent
from tests.conftest import ARTICLE_CONTENT, edited

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def article_data(article, **changes) -> dict:
    latest = article.latest_revision
    data = {
        "slug": article.slug,
        "article_type": article.article_type,
        "topics": [t.pk for t in article.topics.all()],
        "owner": article.owner_id or "",
        "title": latest.content["title"],
        "summary": latest.content["summary"],
        "body": latest.content["body"],
        "references": references_to_text(latest.content["references"]),
        "review_interval_days": article.review_interval_days or "",
        "based_on": latest.pk,
    }
    return {**data, **changes}


def rows() -> dict[str, int]:
    models = (ContentItem, Revision, RevisionAuthor, WorkflowEvent, LogEntry)
    return {model.__name__: model.objects.count() for model in models}


def assert_validates_without_writing(form) -> bool:
    """``form.is_valid()``, asserting that it sent no write to the database and changed no row."""
    before = rows()
    with CaptureQueriesContext(connection) as queries:
        valid = form.is_valid()
    writes = [q["sql"] for q in queries.captured_queries if WRITE.match(q["sql"])]
    assert writes == [], writes
    assert rows() == before
    return valid


def test_a_valid_edit_writes_nothing_while_validating(article, editor):
    topic = Topic.objects.create(name="Side effects", slug="side-effects")
    data = article_data(
        article, body="A new paragraph.", article_type="drug", topics=[topic.pk], review_interval_days="90"
    )
    form = ArticleAdminForm(data, instance=article)
    assert assert_validates_without_writing(form)
    assert form.build_content()["body"] == "A new paragraph."
    article.refresh_from_db()
    assert (article.latest_revision.number, article.article_type, article.review_interval_days) == (
        1,
        "treatment",
        None,
    )


def test_a_valid_new_article_writes_nothing_while_validating(editor):
    data = {
        "slug": "car-t",
        "article_type": "treatment",
        "owner": editor.pk,
        "title": "CAR T-cell therapy",
        "summary": "Your own T cells, changed to find cancer.",
        "body": "## Overview\n\nA treatment.",
        "references": "",
    }
    assert assert_validates_without_writing(ArticleAdminForm(data))


def test_a_valid_new_glossary_term_writes_nothing_while_validating(editor):
    data = {"slug": "cytokine", "owner": editor.pk, "term": "Cytokine", "short_definition": "A messenger protein."}
    assert assert_validates_without_writing(GlossaryTermAdminForm(data))


@pytest.mark.parametrize(
    "refusal, where",
    [
        (InvalidContent("The content is not valid.", {"title": ["Too long."]}), "title"),
        (InvalidContent("Not valid at all."), None),
        (NotPermitted("You do not have permission to save draft."), None),
    ],
)
def test_a_refusal_of_the_workflow_is_shown_as_form_errors(article, editor, refusal, where):
    form_class = type("Refused", (ArticleAdminForm,), {"refusal": refusal})
    form = form_class(article_data(article, body="Changed."), instance=article)
    assert not assert_validates_without_writing(form)
    expected = list(refusal.errors.values())[0] if where else [refusal.message]
    assert form.errors[where or "__all__"] == expected


def test_a_stale_refusal_names_what_changed_and_lets_a_second_save_build_on_it(article, editor, editor2):
    data = article_data(article, body="My careful paragraph.")
    newer = workflow.save_draft(
        article, editor2, edited(ARTICLE_CONTENT, summary="Theirs."), based_on=article.latest_revision
    )
    refusal = StaleVersion("“Checkpoint inhibitors” changed while you were looking at it.")
    form = type("Refused", (ArticleAdminForm,), {"refusal": refusal})(data, instance=article)
    assert not assert_validates_without_writing(form)
    [error] = form.non_field_errors()
    assert error.startswith(refusal.message) and "Summary" in error
    assert form.stale_revision == newer
    assert form["based_on"].value() == str(newer.pk)
    assert form["body"].value() == "My careful paragraph."
