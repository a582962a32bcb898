"""healthlib.content_files.read: reading a content folder; every problem reported with its file and line."""

from __future__ import annotations

import pytest
from django.test import override_settings

from healthlib.content_files import ContentFileError, read_folder
from tests.content_folders import ARTICLE, BAD_ARTICLES, PD_1, T_CELL, TOPICS, make_folder, problem_of


def test_reads_a_valid_folder(tmp_path):
    folder = read_folder(make_folder(tmp_path))
    assert [(t.slug, t.name) for t in folder.topics] == [("treatment-types", "Types of immunotherapy")]
    [article] = folder.articles
    assert (article.slug, article.article_type, article.topics, article.review_interval_days) == (
        "checkpoint-inhibitors",
        "treatment",
        ["treatment-types"],
        180,
    )
    assert article.content["body"] == "## Overview\n\nThese drugs help T cells attack cancer."
    assert article.content["references"][0]["year"] == 2022
    terms = {t.slug: t.content for t in folder.terms}
    # Terms may name each other (a cycle) as long as both are in the folder.
    assert terms["pd-1"]["related_terms"] == ["t-cell"]
    assert terms["t-cell"]["related_terms"] == ["pd-1"]
    assert terms["pd-1"]["professional_definition"] == "Programmed cell death protein 1.\nBlocked by pembrolizumab."
    assert terms["pd-1"]["full_definition"] == "PD-1 is a brake on T cells."


def test_ignores_hidden_and_non_markdown_files_and_reads_crlf_and_bom(tmp_path):
    folder = make_folder(
        tmp_path,
        articles={
            "checkpoint-inhibitors.md": "\ufeff" + ARTICLE.replace("\n", "\r\n"),
            ".draft.md": "not front matter",
            "notes.txt": "not content",
        },
    )
    [article] = read_folder(folder).articles
    assert article.content["body"] == "## Overview\n\nThese drugs help T cells attack cancer."


def test_related_terms_and_topics_may_exist_in_the_database_only(tmp_path):
    folder = make_folder(tmp_path, topics=None, glossary={"t-cell.md": T_CELL})
    with pytest.raises(ContentFileError):
        read_folder(folder)
    result = read_folder(folder, known_topics=["treatment-types"], known_terms=["pd-1"])
    assert [t.slug for t in result.terms] == ["t-cell"]


def lines_of(error: ContentFileError) -> list[tuple[str, int | None]]:
    return [(p.path.name, p.line) for p in error.problems]


@pytest.mark.parametrize("case", BAD_ARTICLES)
def test_bad_article_file_names_file_line_and_problem(tmp_path, case):
    text, line, words = BAD_ARTICLES[case]
    error = problem_of(make_folder(tmp_path, articles={"checkpoint-inhibitors.md": text}))
    assert error.file == tmp_path / "articles" / "checkpoint-inhibitors.md"
    assert error.line == line, error.problems
    assert words in error.problem, error.problems
    assert f"checkpoint-inhibitors.md:{line}: " in str(error)


def test_non_utf8_bytes_reported_with_their_line(tmp_path):
    text = ARTICLE.replace("Drugs that", "Drugs \udcff that").encode("utf-8", "surrogateescape")
    error = problem_of(make_folder(tmp_path, articles={"checkpoint-inhibitors.md": text}))
    assert (error.file.name, error.line) == ("checkpoint-inhibitors.md", 7)
    assert "not UTF-8" in error.problem


@override_settings(HEALTHLIB={"MAX_BODY_CHARS": 500})
def test_oversized_body_reported_on_the_line_where_the_body_starts(tmp_path):
    text = ARTICLE + "\nword " * 200
    error = problem_of(make_folder(tmp_path, articles={"checkpoint-inhibitors.md": text}))
    assert (error.file.name, error.line) == ("checkpoint-inhibitors.md", 14)
    assert "body: Too long" in error.problem


def test_unknown_related_term(tmp_path):
    error = problem_of(make_folder(tmp_path, glossary={"t-cell.md": T_CELL}))
    assert (error.file.name, error.line) == ("t-cell.md", 8)
    assert "Unknown glossary term “pd-1”" in error.problem


def test_term_related_to_itself(tmp_path):
    error = problem_of(make_folder(tmp_path, glossary={"t-cell.md": T_CELL.replace("[pd-1]", "[t-cell]")}))
    assert "related to itself" in error.problem


def test_missing_short_definition_is_reported_once(tmp_path):
    text = PD_1.replace("short_definition: A checkpoint protein on T cells.\n", "")
    error = problem_of(make_folder(tmp_path, glossary={"pd-1.md": text, "t-cell.md": T_CELL}))
    assert lines_of(error) == [("pd-1.md", 1)]
    assert "“short_definition” is missing" in error.problem


def test_duplicate_slug_blames_the_file_not_named_after_it(tmp_path):
    copy = ARTICLE.replace("title: Checkpoint inhibitors", "title: Copy")
    folder = make_folder(tmp_path, articles={"checkpoint-inhibitors.md": ARTICLE, "a-copy.md": copy})
    error = problem_of(folder)
    assert lines_of(error) == [("a-copy.md", 2)]
    assert "Duplicate slug “checkpoint-inhibitors”" in error.problem
    assert "checkpoint-inhibitors.md has it too" in error.problem


def test_bad_topics_file(tmp_path):
    topics = TOPICS + "- slug: treatment-types\n  name: Again\n- slug: x\n  name: X\n  colour: red\n"
    error = problem_of(make_folder(tmp_path, topics=topics))
    assert lines_of(error) == [("topics.yaml", 4), ("topics.yaml", 8)]
    assert "Duplicate topic" in error.problems[0].message
    assert "Unknown field “colour”" in error.problems[1].message


def test_every_problem_in_every_file_is_reported_at_once(tmp_path):
    folder = make_folder(
        tmp_path,
        articles={"checkpoint-inhibitors.md": ARTICLE.replace("type: treatment", "type: miracle")},
        glossary={"t-cell.md": T_CELL, "pd-1.md": PD_1.replace("[t-cell]", "[b-cell]")},
    )
    error = problem_of(folder)
    assert lines_of(error) == [("pd-1.md", 10), ("checkpoint-inhibitors.md", 3)]
