"""Fixtures shared by the reader-side tests: a small published library."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from healthlib import workflow
from healthlib.models import Topic
from tests.conftest import ARTICLE_CONTENT, edited

TERM_CONTENT = {
    "term": "T cell",
    "aliases": ["T lymphocyte"],
    "pronunciation": "TEE sel",
    "short_definition": "A white blood cell that attacks infected cells and cancer cells.",
    "full_definition": "T cells are part of your **immune system**.",
    "professional_definition": "A lymphocyte that matures in the thymus and expresses a T-cell receptor.",
    "related_terms": [],
}


class CommittedWorkflow:
    """``healthlib.workflow`` whose after-commit signals run, as they do outside a test transaction."""

    def __init__(self, capture) -> None:
        self._capture = capture

    def __getattr__(self, name: str):
        action = getattr(workflow, name)

        def run(*args, **kwargs):
            with self._capture(execute=True):
                return action(*args, **kwargs)

        return run


@pytest.fixture
def wf(django_capture_on_commit_callbacks) -> CommittedWorkflow:
    return CommittedWorkflow(django_capture_on_commit_callbacks)


def publish(wf, item, editor, reviewer):
    wf.submit(item, editor)
    wf.approve(item, reviewer)
    wf.publish(item, editor)
    item.refresh_from_db()
    return item


def republish(wf, item, editor, reviewer, content):
    wf.save_draft(item, editor, content, based_on=item.latest_revision)
    return publish(wf, item, editor, reviewer)


@pytest.fixture(autouse=True)
def clear_page_cache():
    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture
def term(wf, editor, reviewer):
    item = wf.create_glossary_term(editor, slug="t-cell", content=TERM_CONTENT)
    return publish(wf, item, editor, reviewer)


@pytest.fixture
def topic(db):
    return Topic.objects.create(name="Treatment types", slug="treatment-types", description="How cancer is treated.")


@pytest.fixture
def library(wf, term, topic, editor, reviewer):
    """A live article on a topic that uses the glossary term, a related article and a policy page."""
    body = (
        ARTICLE_CONTENT["body"] + "\n\n## How T cells help\n\nYour T cells fight cancer.\n\n## Living with it\n\nRest."
    )
    main = wf.create_article(
        editor, slug="checkpoint-inhibitors", article_type="treatment", content=edited(ARTICLE_CONTENT, body=body)
    )
    main.topics.add(topic)
    publish(wf, main, editor, reviewer)
    other = wf.create_article(
        editor,
        slug="car-t-cell-therapy",
        article_type="treatment",
        content=edited(ARTICLE_CONTENT, title="CAR T-cell therapy", summary="Cells made to fight cancer."),
    )
    other.topics.add(topic)
    publish(wf, other, editor, reviewer)
    policy = wf.create_article(
        editor,
        slug="editorial-process",
        article_type="policy",
        content=edited(ARTICLE_CONTENT, title="Our editorial process", summary="How we write and review."),
    )
    publish(wf, policy, editor, reviewer)
    return {"article": main, "other": other, "policy": policy, "term": term, "topic": topic}
