"""healthlib.content_files.front_matter: malformed YAML front matter is a clean error at its line, fast."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthlib.content_files import ARTICLE_KEYS, ContentFileError, read_folder
from tests.content_folders import ARTICLE, TOPICS, make_folder, problem_of

LAUGHS = "".join(f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]\n" for n in range(1, 10))


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
