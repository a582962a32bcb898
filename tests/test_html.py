"""healthlib.html, the one HTML parser: what it reads from sanitized HTML, and that moving to it changed nothing.

The regex and ``HTMLParser`` code that healthlib used before (copied below as ``old_*``) is the
oracle: every demo text, every XSS payload and generated markdown render and read the same.
"""

from __future__ import annotations

import html as html_lib
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from healthlib.ad_slots import split_for_ads
from healthlib.exceptions import MarkdownTooComplex
from healthlib.html import link_targets, parse, plain_text, text_blocks, top_level_nodes
from healthlib.markup import EXTENSION_CONFIGS, EXTENSIONS, render_document, sanitize
from healthlib.readability import measure
from tests.xss_payloads import PAYLOADS

PACK = Path(__file__).resolve().parent.parent / "immunotherapy" / "content"
SLOTS = [
    [],
    ["end"],
    ["after_intro"],
    ["after_intro", "after_section_1", "after_section_3", "end"],
    ["after_section_2"],
]

# ---------------------------------------------------------------- the code this replaced (the oracle)

_OLD_H1 = re.compile(r"<(/?)h1\b", re.IGNORECASE)
_OLD_TAG = re.compile(r"<[^>]*>")
_OLD_SPACE = re.compile(r"\s+")
_OLD_BLOCK_END = re.compile(
    r"</(p|li|h[1-6]|td|th|dt|dd|blockquote|pre|figcaption|caption|summary)\s*>|<br\s*/?>", re.I
)
_OLD_AD_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>")
_OLD_VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def old_render(text: str) -> tuple[str, str]:
    md = markdown.Markdown(extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS, output_format="html")
    html = _OLD_H1.sub(r"<\1h2", md.convert(text))
    return sanitize(html), sanitize(md.toc if getattr(md, "toc_tokens", None) else "")


def old_plain_text(html: str) -> str:
    return _OLD_SPACE.sub(" ", html_lib.unescape(_OLD_TAG.sub(" ", html))).strip()


def old_text_blocks(html: str) -> list[str]:
    text = html_lib.unescape(_OLD_TAG.sub(" ", _OLD_BLOCK_END.sub("\n", html)))
    # Only the runs of spaces inside a block differ (the new blocks collapse them): same words.
    return [" ".join(line.split()) for line in text.split("\n") if line.strip()]


class _OldLinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def old_link_targets(html: str) -> list[str]:
    collector = _OldLinkCollector()
    collector.feed(html)
    return collector.hrefs


def old_split_for_ads(html: str, slots: list[str]) -> list[tuple[str, str]]:
    if not slots:
        return [(html, "")]
    offsets, depth = [], 0
    for match in _OLD_AD_TAG.finditer(html):
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if closing:
            depth = max(depth - 1, 0)
        elif name in _OLD_VOID or self_closing:
            continue
        else:
            if name == "h2" and depth == 0:
                offsets.append(match.start())
            depth += 1
    cuts: dict[int, str] = {}
    for slot in slots:
        if slot == "after_intro" and offsets and offsets[0] > 0 and html[: offsets[0]].strip():
            cuts.setdefault(offsets[0], slot)
        elif slot.startswith("after_section_") and slot[len("after_section_") :].isdigit():
            number = int(slot[len("after_section_") :])
            if 1 <= number < len(offsets):
                cuts.setdefault(offsets[number], slot)
    parts, start = [], 0
    for offset in sorted(cuts):
        parts.append((html[start:offset], cuts[offset]))
        start = offset
    parts.append((html[start:], "end" if "end" in slots else ""))
    return parts


def assert_reads_as_before(html: str) -> None:
    assert plain_text(html) == old_plain_text(html)
    assert link_targets(html) == old_link_targets(html)
    reread = parse(html).html
    if reread != html:
        # The sanitizer's output is not the tree a browser builds from it ("<h2>a<h2>b</h2></h2>" is two
        # headings, "<p><p></p></p>" three paragraphs): blocks and ad slots follow the browser's tree.
        assert text_blocks(html) == old_text_blocks(reread)
        for slots in SLOTS:
            assert "".join(part.html for part in split_for_ads(html, slots)) in (html, reread)
        return
    assert text_blocks(html) == old_text_blocks(html)
    for slots in SLOTS:
        assert [(part.html, part.slot) for part in split_for_ads(html, slots)] == old_split_for_ads(html, slots)


# ---------------------------------------------------------------- the demo content pack


@cache
def demo_texts() -> dict[str, str]:
    """Every markdown text of the immunotherapy pack, by "file:field"."""
    texts = {}
    for kind, fields in (("articles", ["summary"]), ("glossary", ["short_definition", "professional_definition"])):
        for path in sorted((PACK / kind).glob("*.md")):
            _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
            meta = yaml.safe_load(front)
            for field in fields:
                texts[f"{path.stem}:{field}"] = meta.get(field) or ""
            texts[f"{path.stem}:body"] = body
            if kind == "articles":
                # What readability measures (Revision.readability_grade): summary and body together.
                texts[f"{path.stem}:summary+body"] = f"{meta['summary']}\n\n{body}"
    return texts


def test_the_demo_pack_is_all_there():
    assert len(demo_texts()) > 250
    assert sum(1 for name in demo_texts() if name.endswith(":summary+body")) > 15


@pytest.mark.parametrize("name", sorted(demo_texts()))
def test_every_demo_text_renders_and_reads_byte_for_byte_as_before(name):
    text = demo_texts()[name]
    document = render_document(text)
    assert (document.html, document.toc_html) == old_render(text)
    assert_reads_as_before(document.html)
    assert "".join(node.html for node in top_level_nodes(document.html)) == document.html


def test_glossary_linked_markup_reads_as_before():
    html = (
        '<h2 id="a">About</h2>\n<p>Your <a class="glossary-term" href="/health/glossary/t-cell/" '
        'aria-describedby="glossary-definition-t-cell">T cells</a><span class="glossary-definition" role="tooltip" '
        'id="glossary-definition-t-cell">A white blood cell &amp; more.</span> fight.</p>\n'
        '<blockquote><h2>Quoted</h2></blockquote><h2 id="b">Next</h2><p>x<br>y&nbsp;z</p>'
    )
    assert_reads_as_before(html)
    assert link_targets(html) == ["/health/glossary/t-cell/"]


# ---------------------------------------------------------------- every XSS payload


@cache
def rendered_payloads() -> dict[str, str]:
    out = {}
    for payload in PAYLOADS:
        try:
            out[payload.id] = render_document(payload.text).html
        except MarkdownTooComplex:
            continue
    return out


def test_every_xss_payload_renders_and_reads_as_before():
    assert len(rendered_payloads()) > 300
    for payload in PAYLOADS:
        if payload.id not in rendered_payloads():
            continue
        html = rendered_payloads()[payload.id]
        assert (html, render_document(payload.text).toc_html) == old_render(payload.text), payload.id
        assert plain_text(html) == old_plain_text(html), payload.id
        assert text_blocks(html) == old_text_blocks(html), payload.id
        assert link_targets(html) == old_link_targets(html), payload.id


def test_ad_slots_cut_every_xss_payload_as_before_or_as_a_browser_reads_it():
    """Parts are serialized top-level nodes: the same bytes, except where the sanitizer's output
    is not what a browser builds from it ("<p><p></p></p>" is three paragraphs), then what it builds."""
    not_stable = set()
    for payload_id, html in rendered_payloads().items():
        reread = parse(html).html
        if reread != html:
            not_stable.add(payload_id)
        for slots in SLOTS:
            parts = split_for_ads(html, slots)
            if reread == html:
                assert [(part.html, part.slot) for part in parts] == old_split_for_ads(html, slots), payload_id
            else:
                assert "".join(part.html for part in parts) in (html, reread), payload_id
    assert not_stable == {"nesting-007"}


# ---------------------------------------------------------------- generated markdown

_PIECES = st.sampled_from(
    ["a", "word", " ", "\n", "\n\n", "# ", "## ", "### ", "- ", "1. ", "> ", "*", "_", "`", "**b**", "[l](/x)",
     "[g](/health/glossary/t-cell/)", "![i](/i.png)", "&amp;", "&", "<", ">", "<br>", "<p>", "</p>", "<b>", "</b>",
     "<h2>", "</h2>", "<div>", "</div>", "<blockquote>", "| a | b |\n|---|---|\n| 1 | 2 |\n", "[^1]", "\n[^1]: n\n",
     ".", "!", "?", "H<sub>2</sub>O", "\u00a0", "```\ncode\n```\n", "    indented\n"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example("_<h2>a<h2>0_")  # sanitizer output with an h2 inside an h2, which browsers read as two
@example("*<h2>a<h2>*")
@given(st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=40).map("".join))
def test_generated_markdown_renders_and_reads_as_before(text):
    try:
        document = render_document(text)
    except MarkdownTooComplex:
        return
    assert (document.html, document.toc_html) == old_render(text)
    assert_reads_as_before(document.html)


# ---------------------------------------------------------------- what the helper reads


def test_plain_text_decodes_entities_and_every_tag_separates_words():
    assert plain_text("<p>a &amp; b</p><p>c</p>") == "a & b c"
    assert plain_text("H<sub>2</sub>O&nbsp;x\n\ty") == "H 2 O x y"
    assert plain_text("") == "" and plain_text("   ") == ""


def test_text_blocks_end_at_block_elements_and_line_breaks():
    html = "<h2>Title</h2><ul><li><p>One.</p></li><li>Two<br>three</li></ul><p>a <em>b</em>   c</p><table><tr><td>x</td></tr></table>"
    assert text_blocks(html) == ["Title", "One.", "Two", "three", "a b c", "x"]
    assert text_blocks("") == []


def test_text_blocks_feed_readability_sentence_by_block():
    # Each block without a full stop is one sentence: three blocks, three sentences.
    assert measure("<h2>Side effects</h2><ul><li>Tiredness</li><li>Rash</li></ul>").sentences == 3


def test_link_targets_are_every_nonempty_href_in_order_and_decoded():
    html = '<p><a href="/b?x=1&amp;y=2">b</a> <a href="">e</a> <a>none</a><a title="t" href="/a">a</a></p>'
    assert link_targets(html) == ["/b?x=1&y=2", "/a"]
    assert link_targets("") == []


def test_top_level_nodes_keep_text_and_serialize_back():
    html = 'x &amp; y<p>a<br>b</p>\n<h2 id="s">S</h2><blockquote><h2>q</h2></blockquote>'
    nodes = top_level_nodes(html)
    assert [node.tag for node in nodes] == ["-text", "p", "-text", "h2", "blockquote"]
    assert "".join(node.html for node in nodes) == html
    assert top_level_nodes("") == []
