"""The markdown pipeline's work bounds: pathological text is refused with a clear error, never a 500.

No timings here: the bounds are structural (linear-time checks before rendering, a depth limit on
the parsed tree), so the tests assert what is refused, where the errors surface, and that the work
Python-Markdown does on accepted text stays within what the checks allowed.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.core.management import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown.inlinepatterns import LinkInlineProcessor

from healthlib import markup
from healthlib.content_schema import clean_article_content, clean_term_content
from healthlib.exceptions import InvalidContent, MarkdownTooComplex
from healthlib.markup import MAX_BRACKET_WORK, MAX_NESTING, check_markdown, render_document
from healthlib.models import Revision
from tests.admin_pages import change_url, form_data, snapshot
from tests.test_content_files_sync import TRICKY_ARTICLE, counts, run_import, tricky_folder

PREVIEW = "/markdownx/markdownify/"
#: About a thousand nested emphasis markers (7 KB): RecursionError in the table of contents before.
NESTED_EMPHASIS = "_" * 1000 + "a" + "_" * 1000
#: Quadratic before: seconds for 5,000, minutes for 50,000.
BRACKETS = "[" * 5000
#: One of each kind of refusal (tree depth, inline work, source nesting) and the words its error holds.
REFUSALS = [
    pytest.param(NESTED_EMPHASIS, "nested more than 60 levels", id="nested emphasis"),
    pytest.param(BRACKETS, "too long for the links and formatting", id="brackets"),
    pytest.param("<div>\n\n" * 100, "opens HTML elements more than 60 levels", id="unclosed HTML"),
]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(NESTED_EMPHASIS, id="nested underscores"),
        pytest.param("*" * 1000 + "a" + "*" * 1000, id="nested stars"),
        pytest.param("**a *b " * 150 + "c" + "* b** a" * 150, id="strong and em nested"),
        pytest.param(BRACKETS, id="[ run"),
        pytest.param("![" * 2500, id="![ run"),
        pytest.param("[a " * 2000, id="unclosed link texts"),
        pytest.param("[a](" * 1500, id="unclosed destinations"),
        pytest.param("[a](')" * 1500, id="titles that never close"),
        pytest.param("[^" * 2500, id="footnote reference run"),
        pytest.param("> " * 100 + "a", id="quotes nested on one line"),
        pytest.param("".join("    " * depth + "- a\n" for depth in range(100)), id="list nested by indentation"),
        pytest.param("- > " * 100 + "a", id="lists and quotes nested"),
        pytest.param("`a` " * 40_000, id="code spans in one paragraph"),
        pytest.param("*a* " * 40_000, id="emphasis in one paragraph"),
        pytest.param("## a\n\n" * 1001, id="headings"),
        pytest.param("a[^1]\n\n" + "".join(f"[^{i}]: n\n" for i in range(1001)), id="footnotes"),
        pytest.param("<div>\n\n" * 61, id="unclosed HTML blocks"),
        pytest.param("<b>\n\n" * 61, id="unclosed HTML formatting"),
        pytest.param("<b></i>" * 61, id="HTML closed by the wrong tag"),
        pytest.param("<SPAN title=x>" * 61, id="HTML with attributes"),
        pytest.param("<x:y>\n\n" * 61, id="HTML with a namespace"),
        pytest.param("- a\n" * 20_000, id="one-word list items"),
        pytest.param("| a |\n|---|\n" + "| b |\n" * 20_000, id="table rows"),
        pytest.param("[a](b) " * 600, id="links in one paragraph"),
    ],
)
def test_pathological_markdown_is_refused_with_the_specific_error(text):
    with pytest.raises(MarkdownTooComplex) as info:
        render_document(text)
    assert info.value.status_code == 400
    with pytest.raises(MarkdownTooComplex):
        check_markdown(text)


def test_the_error_names_the_paragraph_or_the_line():
    text = "## Fine\n\nA [link](https://example.org).\n\n" + "[" * 3000
    with pytest.raises(MarkdownTooComplex, match="the one starting “\\[\\[\\["):
        render_document(text)
    with pytest.raises(MarkdownTooComplex, match="Line 3 is nested"):
        render_document("a\n\n" + "> " * 61 + "b")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("_" * 40 + "a" + "_" * 40, id="some nesting"),
        pytest.param("[" * 500 + "a", id="a few hundred brackets"),
        pytest.param("".join("    " * depth + "- a\n" for depth in range(10)), id="a list ten deep"),
        pytest.param("> " * 10 + "a", id="quotes ten deep"),
        pytest.param("\n\n".join(["*a* `b` [c](d) &amp; <e@f.org>"] * 2000), id="many short paragraphs"),
        pytest.param("## a\n\n" * 1000, id="a thousand headings"),
        pytest.param("a" * 200_000, id="one long word"),
        pytest.param("a[^1]\n\n" + "".join(f"[^{i}]: n\n" for i in range(1000)), id="a thousand footnotes"),
        pytest.param("<div>\n\n" * 60 + "a" + "\n\n</div>" * 60, id="HTML sixty deep"),
        pytest.param("<details><summary>a</summary>b<br>c<img src=x></details>\n\n" * 2000, id="closed HTML"),
        pytest.param(
            "\n".join(f"- [Reference {i}](https://example.org/{i})" for i in range(2000)), id="a long list of links"
        ),
        pytest.param(("[a](b) " * 10 + "x" * 930 + "\n\n") * 190, id="an article full of links"),
        pytest.param("<https://example.org/a> <a@example.org> a < b, CD4<200, 1<2\n\n" * 100, id="autolinks and <"),
    ],
)
def test_ordinary_and_borderline_markdown_renders(text):
    check_markdown(text)
    assert render_document(text).html


def test_a_recursion_the_bounds_missed_is_still_a_clean_error(monkeypatch):
    """Without the depth limit, nested emphasis makes the table of contents recurse too deep."""
    monkeypatch.setattr(markup, "MAX_NESTING", 10**6)
    with pytest.raises(MarkdownTooComplex, match="nested more than"):
        render_document("_" * 3000 + "a" + "_" * 3000)


def test_the_demo_content_pack_is_far_inside_the_bounds():
    from pathlib import Path

    files = sorted((Path(__file__).resolve().parent.parent / "immunotherapy" / "content").rglob("*.md"))
    assert files
    for path in files:
        check_markdown(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- generated adversarial markdown

FRAGMENTS = [
    "[", "![", "]", "](", "(", ")", "[^", "'", '"', "*", "**", "_", "__", "`", "``", "<", ">", "&amp;", "&",
    "\\", "a", " ", "\n", "\n\n", "    ", "- ", "1. ", "> ", "# ", "| ", "---", "<span>", "</span>", "[a]: b\n",
    "<div>\n\n", "</div>", "<b>", "</i>", "<https://a.org>", "[^1]", "[^1]: ",
]  # fmt: skip
RAW_HTML = ("<span>", "<div>", "<b>")
adversarial = st.lists(st.tuples(st.sampled_from(FRAGMENTS), st.integers(1, 400)), min_size=1, max_size=5).map(
    lambda parts: "".join(fragment * count for fragment, count in parts)
)


class _ScanCounter:
    """Counts the characters Python-Markdown's link processors really read, whatever its version.

    Markdown 3.11 finds every bracket's end in one pass over the text, again whenever the text
    changed (``_findBracketEnds``); older versions scan from each ``[`` (``getText``). Both then
    read a destination from ``(`` (``getLink``).
    """

    def __init__(self, monkeypatch):
        self.scanned = 0
        get_text, get_link = LinkInlineProcessor.getText, LinkInlineProcessor.getLink
        find_ends = getattr(LinkInlineProcessor, "_findBracketEnds", None)

        def counted_get_text(processor, data, index):
            result = get_text(processor, data, index)
            if find_ends is None:
                self.scanned += result[1] - index
            return result

        def counted_find_ends(data):
            self.scanned += len(data)
            return find_ends(data)

        def counted_get_link(processor, data, index):
            result = get_link(processor, data, index)
            # getLink reports where a link ends; a failed scan after a "(" read to the end of the text.
            failed_end = len(data) if data.startswith("(", index) else index
            self.scanned += (result[2] if result[3] else failed_end) - index
            return result

        monkeypatch.setattr(LinkInlineProcessor, "getText", counted_get_text)
        monkeypatch.setattr(LinkInlineProcessor, "getLink", counted_get_link)
        if find_ends is not None:
            monkeypatch.setattr(LinkInlineProcessor, "_findBracketEnds", staticmethod(counted_find_ends))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=adversarial)
def test_generated_markdown_renders_within_the_bound_or_is_refused(monkeypatch, text):
    counter = _ScanCounter(monkeypatch)
    try:
        document = render_document(text)
    except MarkdownTooComplex as exc:
        assert exc.message
        return
    # Raw HTML is passed to the sanitizer as it is and may open up to MAX_NESTING more levels.
    raw_html = any(tag in text for tag in RAW_HTML)
    assert _Depth(document.html).deepest <= (2 * MAX_NESTING + 2 if raw_html else MAX_NESTING)
    # Six processors (links, images, references and their short forms) may each read the text once per
    # bracket, and inline placeholders make a text up to 7 times longer than what the bound measured.
    assert counter.scanned <= 6 * 7 * MAX_BRACKET_WORK


class _Depth(HTMLParser):
    VOID = {"br", "hr", "img"}

    def __init__(self, html: str):
        super().__init__()
        self.depth = self.deepest = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.depth += 1
            self.deepest = max(self.deepest, self.depth)

    def handle_endtag(self, tag):
        if tag not in self.VOID:
            self.depth -= 1


@settings(max_examples=60, deadline=None)
@given(depth=st.integers(1, 200), marker=st.sampled_from(["*", "_", "**", "*_", "*a ", "> ", "    "]))
def test_accepted_nesting_never_exceeds_the_limit(depth, marker):
    if marker == "    ":
        text = "".join(marker * level + "- a\n" for level in range(depth))
    elif marker == "> ":
        text = marker * depth + "a"
    else:
        text = marker * depth + "b" + marker[::-1] * depth
    try:
        document = render_document(text)
    except MarkdownTooComplex:
        return
    assert _Depth(document.html).deepest <= MAX_NESTING


# ---------------------------------------------------------------- every way in gives a clean error


def test_content_cleaning_names_the_markdown_field():
    with pytest.raises(InvalidContent) as info:
        clean_article_content({"title": "T", "summary": "S", "body": NESTED_EMPHASIS})
    assert list(info.value.errors) == ["body"]
    with pytest.raises(InvalidContent) as info:
        clean_article_content({"title": "T", "summary": "_" * 400 + "a" + "_" * 400, "body": "Fine."})
    assert list(info.value.errors) == ["summary"]
    for field in ("short_definition", "full_definition", "professional_definition"):
        raw = {"term": "T", "short_definition": "A term."} | {field: NESTED_EMPHASIS}
        with pytest.raises(InvalidContent) as info:
            clean_term_content(raw)
        assert list(info.value.errors) == [field]


@pytest.mark.parametrize("text, reason", REFUSALS)
def test_markdownx_preview_answers_400_with_the_reason(client, editor, text, reason):
    client.force_login(editor)
    response = client.post(PREVIEW, {"content": text})
    assert response.status_code == 400
    assert reason in response.content.decode()


@pytest.mark.parametrize("text, reason", REFUSALS)
def test_admin_save_shows_a_form_error_and_saves_nothing(client, article, editor, text, reason):
    client.force_login(editor)
    before = snapshot(article)
    response = client.post(change_url(article), form_data(article, body=text))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "body" in errors and reason in " ".join(errors["body"])
    assert snapshot(article) == before
    assert not Revision.objects.filter(content__body=text).exists()


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("text, reason", REFUSALS)
def test_import_reports_file_and_line_and_writes_nothing(tmp_path, editor, text, reason, dry_run):
    folder = tricky_folder(tmp_path)
    (folder / "articles" / "side-effects.md").write_text(TRICKY_ARTICLE + "\n" + text + "\n", encoding="utf-8")
    with pytest.raises(CommandError) as info:
        run_import(folder, *(["--dry-run"] if dry_run else []))
    assert "side-effects.md:19: body: " in str(info.value) and reason in str(info.value)
    assert counts() == (0, 0, 0, 0, 0)
