"""The glossary loader: the published terms, read once per glossary version into one automaton."""

from __future__ import annotations

import pytest

from healthlib import glossary_linker, workflow
from healthlib.markup import render_document

from .test_publishing import TERM, publish


@pytest.fixture
def term(editor):
    return workflow.create_glossary_term(editor, slug="t-cell", content=TERM)


def test_glossary_is_cached_per_version(term, editor, reviewer, django_assert_num_queries):
    publish(term, editor, reviewer)
    first = glossary_linker.get_glossary()
    with django_assert_num_queries(1):  # the version check only
        assert glossary_linker.get_glossary() is first
    workflow.archive(term, editor)
    assert glossary_linker.get_glossary() is not first
    assert glossary_linker.get_glossary().terms == []


def test_only_published_terms_are_linked(term, editor, reviewer):
    workflow.create_glossary_term(editor, slug="cancer", content={"term": "cancer", "short_definition": "x"})
    body = render_document("T cells fight cancer.").html
    assert glossary_linker.link_article_html(body).slugs == ()
    publish(term, editor, reviewer)
    linked = glossary_linker.link_article_html(body)
    assert linked.slugs == ("t-cell",)
    assert '<a class="glossary-term" href="/health/glossary/t-cell/"' in linked.html
    assert "/health/glossary/cancer/" not in linked.html
