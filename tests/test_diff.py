"""The reviewer's diff: word-level on rendered text, unified on the markdown source."""

from healthlib import diff
from tests.conftest import ARTICLE_CONTENT, edited


def test_word_diff_marks_insertions_and_deletions():
    html = diff.word_diff("the quick brown fox", "the slow brown fox jumps")
    assert html == "the <del>quick</del> <ins>slow</ins> brown fox <ins>jumps</ins>"


def test_word_diff_of_identical_text_has_no_marks():
    html = diff.word_diff("same words\nhere", "same words\nhere")
    assert "<ins>" not in html and "<del>" not in html
    assert html == "same words<br>here"


def test_word_diff_escapes_script_on_both_sides():
    html = diff.word_diff('<script>alert("old")</script> a', '<script>alert("new")</script> a <img src=x onerror=y>')
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&quot;old&quot;)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(&quot;new&quot;)&lt;/script&gt;" in html
    assert "<del>" in html and "<ins>" in html
    # The only tags left are the diff's own.
    tags = set(__import__("re").findall(r"<(/?\w+)", html))
    assert tags <= {"ins", "/ins", "del", "/del", "br"}


def test_rendered_text_goes_through_the_sanitizer():
    content = edited(ARTICLE_CONTENT, body="Hello <script>alert(1)</script> **world**")
    text = diff.rendered_text(content)
    assert "alert(1)" not in text  # nh3 drops script elements with their content
    assert "world" in text and "**" not in text


def test_revision_diff_against_nothing_live_shows_everything_inserted():
    result = diff.revision_diff(None, ARTICLE_CONTENT)
    assert "<del>" not in result["words"]
    assert str(result["words"]).startswith("<ins>")
    assert all(kind in ("file", "hunk", "add") for kind, _ in result["source"])
    assert result["changed_fields"] == ["title", "summary", "body", "references"]


def test_revision_diff_finds_changed_fields_and_source_lines():
    new = edited(ARTICLE_CONTENT, summary="A new <b>summary</b>.")
    result = diff.revision_diff(ARTICLE_CONTENT, new)
    assert result["changed_fields"] == ["summary"]
    assert ("add", "+A new <b>summary</b>.") in result["source"]
    assert ("del", "-" + ARTICLE_CONTENT["summary"]) in result["source"]
    # The rendered diff shows the sanitized reading of the new summary, escaped.
    assert "<b>" not in result["words"]
    assert "<ins>" in result["words"]


def test_glossary_content_is_diffable():
    old = {"term": "T cell", "aliases": [], "pronunciation": "", "short_definition": "A white blood cell.",
           "full_definition": "", "professional_definition": "", "related_terms": []}  # fmt: skip
    new = {**old, "short_definition": "A kind of white blood cell."}
    result = diff.revision_diff(old, new)
    assert result["changed_fields"] == ["short_definition"]
    assert "<ins>kind of</ins>" in result["words"]
