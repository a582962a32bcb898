"""The immunotherapy content pack: it validates, imports, and meets its editorial promises."""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path

import pytest
from django.core.management import call_command

from healthlib.conf import healthlib_settings
from healthlib.content_files import ContentFolder, read_folder
from healthlib.markup import render_document
from healthlib.models import Article, ArticleType, GlossaryTerm, Revision
from healthlib.readability import measure

PACK = Path(__file__).resolve().parent.parent / "immunotherapy" / "content"
SECTIONS = [
    "Overview",
    "How it works",
    "Who it is for",
    "Risks and side effects",
    "Outlook",
    "When to call your care team",
]
# Terms the issue names explicitly.
REQUIRED_TERMS = [
    "t-cell", "checkpoint-protein", "pd-1", "pd-l1", "ctla-4", "antigen", "cytokine", "cytokine-release-syndrome",
    "icans", "monoclonal-antibody", "biosimilar", "bcg", "interleukin-2", "interferon", "neoantigen",
    "immune-related-adverse-event",
]  # fmt: skip
POLICY_PAGES = {"editorial-process", "advertising-policy"}


@cache
def pack() -> ContentFolder:
    return read_folder(PACK)


def articles():
    return pack().articles


def non_policy():
    return [a for a in articles() if a.article_type != ArticleType.POLICY]


def article_ids():
    return [a.slug for a in articles()]


def grade(article) -> float | None:
    """Exactly what Revision.readability_grade stores for this content."""
    content = article.content
    return measure(render_document("\n\n".join([content["summary"], content["body"]])).html).grade


def test_the_pack_validates():
    folder = pack()
    assert len(non_policy()) >= 10
    assert len(folder.terms) >= 60
    assert {a.slug for a in articles() if a.article_type == ArticleType.POLICY} == POLICY_PAGES
    assert {t.slug for t in folder.topics} >= {topic for a in articles() for topic in a.topics}


@pytest.mark.parametrize("slug", [a.slug for a in read_folder(PACK).articles if a.article_type != "policy"])
def test_article_has_the_sections_readers_expect(slug):
    article = next(a for a in articles() if a.slug == slug)
    headings = re.findall(r"^## (.+?)\s*$", article.content["body"], re.MULTILINE)
    assert [h for h in headings if h in SECTIONS] == SECTIONS, headings
    # A fast-moving field: reviewed at least yearly.
    assert article.review_interval_days is not None and article.review_interval_days <= 365


@pytest.mark.parametrize("slug", [a.slug for a in read_folder(PACK).articles])
def test_article_cites_sources_and_reads_within_the_target_grade(slug):
    article = next(a for a in articles() if a.slug == slug)
    references = article.content["references"]
    assert len(references) >= 3
    assert all(
        ref["title"] and ref["publisher"] and ref["url"].startswith("https://") and ref["year"] for ref in references
    )
    assert article.content["summary"]
    measured = grade(article)
    assert measured is not None and measured <= healthlib_settings.READABILITY_TARGET_GRADE, measured


def test_every_glossary_term_is_complete():
    terms = pack().terms
    for term in terms:
        content = term.content
        assert content["pronunciation"], term.slug
        assert content["professional_definition"], term.slug
        assert content["full_definition"], term.slug
        assert content["related_terms"], term.slug
        # A one-sentence definition for patients.
        assert len(re.findall(r"[.!?](?:\s|$)", content["short_definition"])) == 1, term.slug
    slugs = {t.slug for t in terms}
    assert set(REQUIRED_TERMS) <= slugs
    assert {related for t in terms for related in t.content["related_terms"]} <= slugs


def test_the_glossary_covers_the_articles_words():
    text = " ".join(f"{a.content['summary']} {a.content['body']}" for a in articles()).lower()
    used = [t for t in pack().terms if any(name.lower() in text for name in [t.content["term"], *t.content["aliases"]])]
    assert len(used) >= 60
    # Every glossary link an article makes points at a term in the pack.
    linked = set(re.findall(r"/health/glossary/([-a-z0-9]+)/", text))
    assert linked <= {t.slug for t in pack().terms}


def test_the_whole_pack_imports_and_stores_the_same_grades(editor):
    out = io.StringIO()
    call_command("healthlib_import", str(PACK), "--user", "editor", stdout=out)
    assert Article.objects.count() == len(articles())
    assert GlossaryTerm.objects.count() == len(pack().terms)
    stored = dict(Revision.objects.filter(item__kind="article").values_list("item__article__slug", "readability_grade"))
    assert stored == {a.slug: grade(a) for a in articles()}
    # Importing the pack again is a no-op.
    out = io.StringIO()
    call_command("healthlib_import", str(PACK), "--user", "editor", stdout=out)
    assert f"articles: 0 new, 0 changed, {len(articles())} unchanged" in out.getvalue()
