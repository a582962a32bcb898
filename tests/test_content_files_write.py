"""healthlib.content_files.write: the documented format, and any content survives writing and reading back."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthlib.content_files import dump_article, dump_term, dump_topics, read_folder
from healthlib.content_schema import clean_article_content, clean_term_content
from healthlib.exceptions import InvalidContent
from tests.content_folders import TOPICS, make_folder


def test_dump_is_the_documented_format_and_reads_back(tmp_path):
    folder = read_folder(make_folder(tmp_path))
    article = folder.articles[0]
    text = dump_article(
        article.slug, article.article_type, article.topics, article.review_interval_days, article.content
    )
    assert text == (
        "---\n"
        "slug: checkpoint-inhibitors\n"
        "type: treatment\n"
        "topics:\n"
        "  - treatment-types\n"
        "review_interval_days: 180\n"
        "title: Checkpoint inhibitors\n"
        "summary: Drugs that take the brakes off your immune system.\n"
        "references:\n"
        "  - title: Immune checkpoint inhibitors\n"
        "    publisher: National Cancer Institute\n"
        "    url: https://www.cancer.gov/about-cancer/treatment/types/immunotherapy/checkpoint-inhibitors\n"
        "    year: 2022\n"
        "---\n"
        "## Overview\n\nThese drugs help T cells attack cancer.\n"
    )
    pd1 = next(t for t in folder.terms if t.slug == "pd-1")
    assert dump_term("pd-1", pd1.content) == (
        "---\n"
        "slug: pd-1\n"
        "term: PD-1\n"
        "aliases: []\n"
        "pronunciation: PEE-dee-wun\n"
        "short_definition: A checkpoint protein on T cells.\n"
        "professional_definition: |-\n"
        "  Programmed cell death protein 1.\n"
        "  Blocked by pembrolizumab.\n"
        "related_terms:\n"
        "  - t-cell\n"
        "---\n"
        "PD-1 is a brake on T cells.\n"
    )
    assert dump_topics(folder.topics) == TOPICS


text = st.text(st.characters(blacklist_categories=["Cs", "Cc"]) | st.sampled_from("\n:#-'\"|>{}[]&*!%@`"), max_size=60)


line = text.map(lambda s: s.replace("\n", " "))


def read_back(kind: str, file_text: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sub = "articles" if kind == "article" else "glossary"
        (root / sub).mkdir()
        (root / sub / "x.md").write_text(file_text, encoding="utf-8", newline="\n")
        folder = read_folder(root, known_topics=["t"], known_terms=["y"])
        return (folder.articles or folder.terms)[0].content


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=line, summary=text, body=text, ref_title=line, year=st.none() | st.integers(1990, 2025))
def test_any_article_content_survives_dump_and_read(title, summary, body, ref_title, year):
    try:
        content = clean_article_content(
            {
                "title": title or "t",
                "summary": summary,
                "body": body,
                "references": [{"title": ref_title or "r", "publisher": summary[:20].replace("\n", " "),
                                "url": "https://example.org/a?b=c#d", "year": year}],
            }
        )  # fmt: skip
    except InvalidContent:
        return
    assert read_back("article", dump_article("x", "guide", ["t"], None, content)) == content


@settings(max_examples=60, deadline=None)
@given(term=line, aliases=st.lists(line, max_size=3), short=text, full=text, professional=text)
def test_any_term_content_survives_dump_and_read(term, aliases, short, full, professional):
    try:
        content = clean_term_content(
            {
                "term": term or "t",
                "aliases": aliases,
                "pronunciation": term,
                "short_definition": short or "s",
                "full_definition": full,
                "professional_definition": professional,
                "related_terms": ["y"],
            }
        )
    except InvalidContent:
        return
    assert read_back("term", dump_term("x", content)) == content


# ---------------------------------------------------------------- aliases are never written


def test_export_never_writes_aliases():
    shared = ["y"]
    content = {"term": "T", "aliases": shared, "pronunciation": "", "short_definition": "s",
               "professional_definition": "", "full_definition": "", "related_terms": shared}  # fmt: skip
    text = dump_term("x", content)
    assert "&" not in text and "*" not in text
    assert read_back("term", text)["related_terms"] == ["y"]
