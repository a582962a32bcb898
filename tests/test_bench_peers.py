"""bench/peers.py: the peers' article HTML becomes markdown that healthlib's pipeline renders to the same blocks."""

import pytest

from bench.peers import html_to_markdown, plain_blocks
from healthlib.markup import render_document

ARTICLE = """<h2>What is it?</h2>
<p>Cells &amp; tissues protect you. Some use <strong>immune checkpoints</strong> and <em>T cells</em>.</p>

<h3>Why "hot" tumours respond</h3>
<ul>
<li><strong>Hot tumours</strong> contain many immune cells;</li>
<li>a_b * c [d] `e` \\f &lt;g&gt;.</li>
</ul>
<p>1. Not a list item, and # not a heading.</p>
<p># Not a heading either</p>
<ol>
<li>First step.</li>
<li>Second step.</li>
</ol>
<ul>
<li>A list right after another list.</li>
</ul>
<p><em>General information only.</em></p>
"""


def test_markdown_renders_to_the_same_blocks():
    markdown = html_to_markdown(ARTICLE)
    html = render_document(markdown).html
    assert plain_blocks(html) == plain_blocks(ARTICLE)
    assert "<strong>immune checkpoints</strong>" in html
    assert "<em>General information only.</em>" in html
    assert html.count("<ol>") == 1 and html.count("<ul>") == 2
    assert "&lt;g&gt;" in html and "<g>" not in html


def test_block_structure_is_compared_not_only_text():
    # A paragraph rendered as a list item would be a different page: the comparison sees it.
    assert plain_blocks("<p>One.</p>") != plain_blocks("<ul><li>One.</li></ul>")
    assert plain_blocks("<h2>One</h2>") != plain_blocks("<h3>One</h3>")


@pytest.mark.parametrize(
    "html",
    [
        "<p>A <a href='https://example.org'>link</a></p>",  # links would be dropped silently
        "<table><tr><td>1</td></tr></table>",
        "<ul><li>Outer<ul><li>nested</li></ul></li></ul>",
        "loose text outside any block",
    ],
)
def test_refuses_what_it_cannot_convert_faithfully(html):
    with pytest.raises(ValueError):
        html_to_markdown(html)
