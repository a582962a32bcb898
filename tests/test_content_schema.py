"""healthlib.content_schema: what a revision may contain; bad input at the limits is a clear InvalidContent, never a 500.

Decisions made here:

* Text is stored in Unicode NFC, so a title typed in NFD is the same title (and the same hash).
* Single-line fields (titles, terms, aliases, reference titles) are cleaned, not refused: every
  character that is Cc, Cf or Default_Ignorable_Code_Point, and the tag characters, is dropped (zero-width
  space, word joiner, byte-order mark, directional marks, overrides and isolates, the "Trojan Source"
  characters, soft hyphen...); a tab and the line and paragraph separators become a space. ZWJ/ZWNJ stay
  in their joining context only (after a virama, between joining letters, inside an emoji sequence:
  Indic and Persian scripts, emoji). A newline in a single-line field is refused.
* A NUL character is refused in every field (PostgreSQL cannot store it). Other control characters
  in multi-line text (summary, body, definitions) are kept as written: they reach readers only
  through the sanitizer, and refusing them would reject text pasted from other programs."""

from __future__ import annotations

import unicodedata

import pytest

from healthlib import workflow
from healthlib.exceptions import InvalidContent
from healthlib.models import Article, Revision
from tests.conftest import ARTICLE_CONTENT, edited
from tests.content_samples import TERM_CONTENT, nothing_written

# ---------------------------------------------------------------- unicode


def test_nfd_title_is_stored_as_nfc_and_hashes_the_same(editor):
    nfc = "Éclair-shaped T cells and café visits"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    article = workflow.create_article(
        editor, slug="eclair", article_type="guide", content=edited(ARTICLE_CONTENT, title=nfd, body=nfd)
    )
    assert article.title == nfc and article.latest_revision.content["body"] == nfc
    # Saving the NFC spelling over it changes nothing: same content, same hash, no new revision.
    same = workflow.save_draft(
        article, editor, edited(ARTICLE_CONTENT, title=nfc, body=nfc), based_on=article.latest_revision
    )
    assert same.pk == article.latest_revision_id and Revision.objects.count() == 1


@pytest.mark.parametrize("invisible", ["\u200b", "\u2060", "\ufeff"], ids=["ZWSP", "word joiner", "BOM"])
def test_zero_width_characters_are_dropped_from_titles_terms_and_aliases(editor, invisible):
    article = workflow.create_article(
        editor, slug="immunotherapy", article_type="guide",
        content=edited(ARTICLE_CONTENT, title=f"{invisible}Immuno{invisible}therapy{invisible}"),
    )  # fmt: skip
    assert article.title == "Immunotherapy"
    term = workflow.create_glossary_term(
        editor, slug="t-cell",
        content={**TERM_CONTENT, "term": f"T{invisible} cell", "aliases": [f"T lympho{invisible}cyte"]},
    )  # fmt: skip
    assert term.latest_revision.content["term"] == "T cell"
    assert term.latest_revision.content["aliases"] == ["T lymphocyte"]


def test_joiners_that_carry_meaning_are_kept(editor):
    title = "Family 👨\u200d👩\u200d👧 and می\u200cخواهم"
    article = workflow.create_article(
        editor, slug="joiners", article_type="guide", content=edited(ARTICLE_CONTENT, title=title)
    )
    assert article.title == title


@pytest.mark.parametrize(
    "char",
    ["\u200e", "\u200f", "\u00ad", "\u061c", "\u180e", "\u034f", "\u115f", "\ufe0f", "\U000e0001", "\u2028"],
    ids=["LRM", "RLM", "soft hyphen", "Arabic letter mark", "Mongolian vowel separator", "CGJ", "Hangul filler",
         "VS16", "language tag", "line separator"],
)  # fmt: skip
def test_marks_and_fillers_are_dropped_from_titles_terms_and_aliases(editor, char):
    article = workflow.create_article(
        editor, slug="marks", article_type="guide", content=edited(ARTICLE_CONTENT, title=f"Im{char}mune {char}cells")
    )
    expected = "Im mune  cells" if char == "\u2028" else "Immune cells"
    assert article.title == expected and article.latest_revision.content["title"] == expected
    term = workflow.create_glossary_term(
        editor, slug="t-cell", content={**TERM_CONTENT, "term": f"T{char}-cell", "aliases": [f"{char}CD8{char}"]}
    )
    content = term.latest_revision.content
    assert content["term"] == ("T -cell" if char == "\u2028" else "T-cell") and content["aliases"] == ["CD8"]


CONTROL = {"bell": "\x07", "escape": "\x1b", "DEL": "\x7f", "C1 NEL": "\x85", "C1 CSI": "\x9b", "tab": "\t"}
BIDI = ["\u202e", "\u202d", "\u202a", "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("char", list(CONTROL.values()) + BIDI, ids=list(CONTROL) + [f"U+{ord(c):04X}" for c in BIDI])
def test_control_and_direction_characters_are_dropped_from_titles_terms_and_aliases(editor, char):
    article = workflow.create_article(
        editor, slug="ctrl", article_type="guide", content=edited(ARTICLE_CONTENT, title=f"Dose{char} 10 mg")
    )
    expected = "Dose  10 mg" if char == "\t" else "Dose 10 mg"
    assert article.title == expected and article.latest_revision.content["title"] == expected
    term = workflow.create_glossary_term(
        editor, slug="t-cell", content={**TERM_CONTENT, "term": f"T{char}-cell", "aliases": [f"{char}CD8{char}"]}
    )
    content = term.latest_revision.content
    assert content["term"] == ("T -cell" if char == "\t" else "T-cell") and content["aliases"] == ["CD8"]


def test_a_newline_in_a_title_is_refused(editor):
    with pytest.raises(InvalidContent) as refused:
        workflow.create_article(
            editor, slug="nl", article_type="guide", content=edited(ARTICLE_CONTENT, title="Two\nlines")
        )
    assert "single line" in refused.value.errors["title"][0]


@pytest.mark.parametrize("field", ["title", "summary", "body"])
def test_nul_is_refused_in_every_field(editor, field):
    with pytest.raises(InvalidContent) as refused:
        workflow.create_article(
            editor, slug="nul", article_type="guide", content=edited(ARTICLE_CONTENT, **{field: "Before\x00after"})
        )
    assert "NUL" in refused.value.errors[field][0]
    assert nothing_written()


def test_other_control_characters_in_text_reach_readers_only_through_the_sanitizer(editor, reviewer, client):
    body = "## Heading\n\n\tindented\x0b <scr\x0bipt>window.x=1</script> \x1b[31m red"
    article = workflow.create_article(
        editor, slug="ctrl", article_type="guide", content=edited(ARTICLE_CONTENT, body=body)
    )
    assert article.latest_revision.content["body"] == body
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    workflow.publish(article, editor)
    live_html = Article.objects.get(pk=article.pk).live_body_html.lower()
    assert "<script" not in live_html and "<scr\x0bipt" not in live_html
    page = client.get(article.get_absolute_url()).content.decode().lower()
    assert "<script>window.x" not in page and "<scr\x0bipt>" not in page


def test_a_title_that_is_only_invisible_characters_is_required(editor):
    with pytest.raises(InvalidContent) as refused:
        workflow.create_article(
            editor, slug="empty", article_type="guide", content=edited(ARTICLE_CONTENT, title="\u200b\u202e\x07")
        )
    assert "required" in refused.value.errors["title"][0]


# ---------------------------------------------------------------- sizes and shapes


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"title": "x" * 201}, "title"),
        ({"title": "x" * 100_000}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"summary": "x" * 1001}, "summary"),
        ({"body": "x" * 200_001}, "body"),
        ({"title": 42}, "title"),
        ({"body": ["not", "text"]}, "body"),
        ({"references": "not a list"}, "references"),
        ({"references": [{"title": "x", "url": "javascript:alert(1)"}]}, "references[0].url"),
        ({"references": [{"title": "x", "year": 99999}]}, "references[0].year"),
        ({"references": [{"title": "x"}] * 5 + [{"title": "y" * 501}]}, "references[5].title"),
        ({"surprise": "field"}, "content"),
    ],
    ids=lambda v: str(v)[:40] if isinstance(v, dict) else v,
)
def test_oversized_and_malformed_content_is_invalid_content(editor, changes, field):
    with pytest.raises(InvalidContent) as refused:
        workflow.create_article(editor, slug="bad", article_type="guide", content=edited(ARTICLE_CONTENT, **changes))
    assert field in refused.value.errors, refused.value.errors
    assert nothing_written()


@pytest.mark.parametrize("content", [None, [], "text", 42])
def test_content_that_is_not_a_mapping_is_invalid_content(editor, content):
    with pytest.raises(InvalidContent):
        workflow.create_article(editor, slug="bad", article_type="guide", content=content)


def test_body_limit_follows_the_setting(editor, settings):
    settings.HEALTHLIB = {"MAX_BODY_CHARS": 1000}
    with pytest.raises(InvalidContent) as refused:
        workflow.create_article(
            editor, slug="b", article_type="guide", content=edited(ARTICLE_CONTENT, body="x" * 1001)
        )
    assert "limit is 1000" in refused.value.errors["body"][0]
    workflow.create_article(editor, slug="b", article_type="guide", content=edited(ARTICLE_CONTENT, body="x" * 1000))
