"""Reading and writing content files: the format, its checks and their line numbers."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthlib.content_files import (
    ARTICLE_KEYS,
    ContentFileError,
    dump_article,
    dump_term,
    dump_topics,
    read_folder,
)
from healthlib.content_schema import clean_article_content, clean_term_content
from healthlib.exceptions import InvalidContent

TOPICS = """\
- slug: treatment-types
  name: Types of immunotherapy
  description: The main kinds of immunotherapy.
"""
ARTICLE = """\
---
slug: checkpoint-inhibitors
type: treatment
topics: [treatment-types]
review_interval_days: 180
title: Checkpoint inhibitors
summary: Drugs that take the brakes off your immune system.
references:
  - title: Immune checkpoint inhibitors
    publisher: National Cancer Institute
    url: https://www.cancer.gov/about-cancer/treatment/types/immunotherapy/checkpoint-inhibitors
    year: 2022
---
## Overview

These drugs help T cells attack cancer.
"""
T_CELL = """\
---
slug: t-cell
term: T cell
aliases: [T lymphocyte]
pronunciation: TEE sel
short_definition: A white blood cell that finds and kills infected or cancer cells.
professional_definition: A lymphocyte that matures in the thymus.
related_terms: [pd-1]
---
T cells are a kind of white blood cell.
"""
PD_1 = """\
---
slug: pd-1
term: PD-1
aliases: []
pronunciation: PEE-dee-wun
short_definition: A checkpoint protein on T cells.
professional_definition: |
  Programmed cell death protein 1.
  Blocked by pembrolizumab.
related_terms: [t-cell]
---
PD-1 is a brake on T cells.
"""


def make_folder(root: Path, *, topics: str | None = TOPICS, articles=None, glossary=None) -> Path:
    """A content folder; ``articles``/``glossary`` map file names to text (or bytes)."""
    articles = {"checkpoint-inhibitors.md": ARTICLE} if articles is None else articles
    glossary = {"t-cell.md": T_CELL, "pd-1.md": PD_1} if glossary is None else glossary
    root.mkdir(parents=True, exist_ok=True)
    if topics is not None:
        (root / "topics.yaml").write_text(topics, encoding="utf-8")
    for sub, files in (("articles", articles), ("glossary", glossary)):
        (root / sub).mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = root / sub / name
            path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return root


def problem_of(folder: Path, **kwargs) -> ContentFileError:
    with pytest.raises(ContentFileError) as info:
        read_folder(folder, **kwargs)
    return info.value


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


# Each bad file: (file name, text, line the problem is reported on, words of the message).
BAD_ARTICLES = {
    "bad front matter YAML": (ARTICLE.replace("title: Checkpoint inhibitors", "title: [unclosed"), 7, "not valid YAML"),
    "no opening ---": (ARTICLE.removeprefix("---\n"), 1, "must start with a line"),
    "front matter never closed": (ARTICLE.replace("---\n## Overview", "## Overview"), 1, "never closed"),
    "unknown field": (ARTICLE.replace("title: Checkpoint", "author: Dr. X\ntitle: Checkpoint"), 6, "Unknown field “author”"),
    "body as a field": (ARTICLE.replace("title: Checkpoint", "body: text\ntitle: Checkpoint"), 6, "not a field"),
    "field twice": (ARTICLE.replace("title: Checkpoint", "summary: again\ntitle: Checkpoint"), 8, "appears twice"),
    "missing required field": (ARTICLE.replace("title: Checkpoint inhibitors\n", ""), 1, "“title” is missing"),
    "empty title": (ARTICLE.replace("title: Checkpoint inhibitors", "title: ''"), 6, "title: This field is required"),
    "unknown topic": (ARTICLE.replace("[treatment-types]", "[treatment-types, astrology]"), 4, "Unknown topic “astrology”"),
    "unknown article type": (ARTICLE.replace("type: treatment", "type: miracle"), 3, "Unknown article type"),
    "bad review interval": (ARTICLE.replace("180", "0"), 5, "review_interval_days"),
    "invalid URL": (ARTICLE.replace("url: https://www.cancer.gov/", "url: not-a-url/"), 11, "not a valid http(s) address"),
    "bad reference year": (ARTICLE.replace("year: 2022", "year: '2022'"), 12, "Must be a year"),
    "slug/filename mismatch": (ARTICLE.replace("slug: checkpoint-inhibitors", "slug: checkpoints"), 2, "does not match the file name"),
    "bad slug": (ARTICLE.replace("slug: checkpoint-inhibitors", "slug: Checkpoint inhibitors!"), 2, "lowercase letters"),
    "front matter not a mapping": ("---\n- a list\n---\nbody\n", 2, "“field: value” lines"),
}  # fmt: skip


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


# ---------------------------------------------------------------- writing


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


# ---------------------------------------------------------------- malformed YAML: a clean error, fast

LAUGHS = "".join(f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]\n" for n in range(1, 10))
#: Front matter fields that break the loader itself, each with the line the problem is reported on.
MALFORMED_FRONT = {
    "list as a field name": ("? [title, summary]\n: x\n", 4),
    "mapping as a field name": ("{title: x}: y\n", 4),
    "number as a field name": ("1: x\n", 4),
    "yes as a field name": ("yes: x\n", 4),
    "null as a field name": ("~: x\n", 4),
    "merge key": ("<<: {title: x}\n", 4),
    "recursive alias": ("topics: &a [*a]\n", 4),
    "alias of a field": ("title: &t Checkpoint\nx: *t\n", 4),
    "billion laughs": ("x:\n  l0: &l0 lol\n" + LAUGHS, 5),
    "deep flow nesting": ("references: " + "[" * 5000 + "]" * 5000 + "\n", 4),
    "deep block nesting": ("references:\n" + "".join("  " * n + "- \n" for n in range(1, 60)), 14),
    "a flood of values": ("topics: [" + "a, " * 30_000 + "]\n", 4),
    "NUL escape": ('x: "a\\0b"\n', 4),
    "bell escape": ('x: "a\\ab"\n', 4),
    "C1 control escape": ('x: "a\\x85b"\n', 4),
    "raw control character": ("x: a\x01b\n", 4),
    "impossible date": ("x: !!timestamp 2024-13-45\n", 4),
    "integer of 5,000 digits": ("x: " + "9" * 5000 + "\n", 4),
}


def with_front(extra: str) -> str:
    return ARTICLE.replace("type: treatment\n", "type: treatment\n" + extra, 1)


def test_malformed_line_numbers_are_where_the_field_is():
    # The cases insert their text after "type:", which is line 3 of the file: they start on line 4.
    assert with_front("x: y\n").split("\n")[3] == "x: y"


@pytest.mark.parametrize("case", MALFORMED_FRONT)
def test_malformed_front_matter_is_a_file_line_problem_within_a_second(tmp_path, case):
    # CPU time of this process: the bound is on the work done, not on how busy the machine is.
    extra, line = MALFORMED_FRONT[case]
    folder = make_folder(tmp_path, articles={"checkpoint-inhibitors.md": with_front(extra)})
    started = time.process_time()
    error = problem_of(folder)
    assert time.process_time() - started < 1
    assert error.file.name == "checkpoint-inhibitors.md"
    assert error.line == line, error.problems
    assert f"checkpoint-inhibitors.md:{line}: " in str(error)


@pytest.mark.parametrize("name", ['"bad\\0name"', '"bad\\x07name"', '"bad\\u202Ename\\x1b"'])
def test_control_characters_in_a_topic_name_are_refused(tmp_path, name):
    topics = TOPICS.replace("name: Types of immunotherapy", f"name: {name}")
    error = problem_of(make_folder(tmp_path, topics=topics))
    assert error.file.name == "topics.yaml"
    assert error.line == 2
    assert "control character" in error.problem


def test_export_never_writes_aliases():
    shared = ["y"]
    content = {"term": "T", "aliases": shared, "pronunciation": "", "short_definition": "s",
               "professional_definition": "", "full_definition": "", "related_terms": shared}  # fmt: skip
    text = dump_term("x", content)
    assert "&" not in text and "*" not in text
    assert read_back("term", text)["related_terms"] == ["y"]


#: Scalars a malformed or hostile file is made of: aliases, tags, escapes, numbers Python cannot read.
yaml_scalars = st.sampled_from(
    [
        "x", "*a", "*b", "&a x", "&b [*b]", "!!timestamp 2024-02-30", "!!binary ZZZ", "!!python/object:os.system x",
        "!!set {a, b}", "9" * 5000, "1e999", "-0", "0x1F", "12:30:00", '"\\0"', '"\\x1b[31m"', '"\\u0085"',
        "yes", "~", "[" * 2000 + "]" * 2000, "{<<: {a: 1}}",
    ]
) | st.text("ab -", min_size=1, max_size=5).map(json.dumps)  # fmt: skip
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: (
        st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")
        | st.lists(st.tuples(inner, inner), max_size=3).map(
            lambda kv: "{" + ", ".join(f"? {k} : {v}" for k, v in kv) + "}"
        )
    ),
    max_leaves=20,
)
field_names = st.sampled_from([*ARTICLE_KEYS, "body", "x"]) | yaml_values


@st.composite
def yaml_front_matter(draw) -> str:
    """Fields whose names and values are nested, anchored, aliased, tagged and escaped YAML."""
    anchors = st.sampled_from(["", "&a ", "&b "])
    lines = [f"? {draw(field_names)}\n: {draw(anchors)}{draw(yaml_values)}" for _ in range(draw(st.integers(1, 6)))]
    return "\n".join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(front=yaml_front_matter(), topics_yaml=st.none() | yaml_front_matter())
def test_generated_malformed_yaml_is_a_clean_error_within_a_second(front, topics_yaml):
    with tempfile.TemporaryDirectory() as tmp:
        root = make_folder(
            Path(tmp), topics=topics_yaml, articles={"checkpoint-inhibitors.md": f"---\n{front}\n---\nBody.\n"}
        )
        started = time.process_time()
        try:
            read_folder(root, known_topics=["treatment-types"])
        except ContentFileError as error:
            for problem in error.problems:
                assert problem.path.name in ("checkpoint-inhibitors.md", "topics.yaml"), problem
                assert str(problem).startswith(
                    f"{problem.path}:{problem.line}: " if problem.line else str(problem.path)
                )
        assert time.process_time() - started < 1
