import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthlib.html import plain_text
from healthlib.markup import render_document, render_markdown

DANGEROUS = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<iframe src="https://evil.example"></iframe>',
    '<svg onload="alert(1)"><circle/></svg>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "<style>body{display:none}</style>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "![x](javascript:alert(1))",
    '<object data="x.swf"></object>',
    '<form action="https://evil.example"><input name=a></form>',
]


@pytest.mark.parametrize("payload", DANGEROUS)
def test_sanitizer_removes_active_content(payload):
    html = render_markdown(payload).lower()
    for forbidden in ("<script", "onerror", "onload", "javascript:", "style=", "<iframe", "<svg", "data:", "<style",
                      "<object", "<form", "<input"):  # fmt: skip
        assert forbidden not in html, (payload, html)


def test_markdown_features_survive():
    document = render_document(
        "## Overview\n\nText with **bold** and a [link](https://www.cancer.gov/).\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\nNote[^1].\n\n[^1]: A footnote.\n\n### Detail\n\n- one\n- two\n"
    )
    assert '<h2 id="overview">Overview</h2>' in document.html
    assert "<strong>bold</strong>" in document.html
    assert 'href="https://www.cancer.gov/"' in document.html
    assert "<table>" in document.html and "<td>1</td>" in document.html
    assert 'class="footnote-ref"' in document.html
    assert 'href="#overview"' in document.toc_html and 'href="#detail"' in document.toc_html


def test_h1_in_the_body_becomes_a_section_heading():
    assert render_markdown("# Big").startswith('<h2 id="big">Big</h2>')


def test_links_get_safe_rel():
    assert 'rel="noopener noreferrer"' in render_markdown("[x](https://example.org)")


def test_plain_text_separates_blocks():
    assert plain_text("<p>a &amp; b</p><p>c</p>") == "a & b c"


@given(st.text(max_size=300))
def test_any_input_renders_without_script(text):
    html = render_markdown(text).lower()
    assert "<script" not in html and "javascript:" not in html


def test_an_h1_heading_is_a_section_heading_but_not_in_the_table_of_contents():
    document = render_document("# Big\n\ntext\n\n## Small\n")
    assert '<h2 id="big">Big</h2>' in document.html and "<h1" not in document.html
    assert 'href="#small"' in document.toc_html and 'href="#big"' not in document.toc_html


def test_a_raw_h1_tag_is_dropped_by_the_sanitizer_and_its_text_kept():
    # Only the page title is an h1; raw HTML headings h2-h6 pass, an h1 tag is not on the allow-list.
    html = render_markdown("<h1>Raw</h1>\n\ntext")
    assert "<h1" not in html and "<h2" not in html
    assert "Raw" in html


# ---------------------------------------------------------------- one Markdown instance per thread, reset per text


def _fresh(text):
    """``render_document`` in a new thread: on a Markdown instance that converted nothing before."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(render_document, text).result()


def test_a_reused_markdown_instance_carries_nothing_from_one_text_to_the_next():
    from healthlib.exceptions import MarkdownTooComplex

    from .test_html import demo_texts

    footnotes = "A claim.[^1]\n\n## Why\n\nText.\n\n[^1]: The source."
    texts = [footnotes, "Plain text, no heading.", "## Same\n\n## Same", *list(demo_texts().values())[:40]]
    for text in texts:
        assert render_document(text) == _fresh(text), text
    # Half-way through a text the bounds refuse, then a text that must not see its state.
    with pytest.raises(MarkdownTooComplex):
        render_document("## Left over\n\nA note.[^2]\n\n[^2]: Kept?\n\n" + "[" * 2000)
    assert render_document("Plain text, no heading.") == _fresh("Plain text, no heading.")
    assert render_document(footnotes).toc_html == _fresh(footnotes).toc_html != ""
