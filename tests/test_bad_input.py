"""Bad input at the limits: each is a clear error (InvalidContent, a form error, a 400 or 404), never a 500.

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
  through the sanitizer, and refusing them would reject text pasted from other programs.
"""

from __future__ import annotations

import datetime
import unicodedata

import pytest
import regex
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from healthlib import workflow
from healthlib.exceptions import InvalidContent
from healthlib.models import Article, ContentItem, GlossaryTerm, Revision
from healthlib.normalise import single_line_clean
from tests.conftest import ARTICLE_CONTENT, edited

TERM_CONTENT = {"term": "T cell", "short_definition": "A white blood cell that finds and kills infected cells."}
BAD_SLUGS = {
    "space and bang": "Bad Slug!",
    "too long": "a" * 201,
    "empty": "",
    "non-ascii": "ümlaut",
    "nul": "x\x00y",
    "dots and slashes": "../etc/passwd",
    "percent": "%00",
    "newline": "slug\n",
}


def nothing_written() -> bool:
    return not ContentItem.objects.exists() and not Revision.objects.exists()


# ---------------------------------------------------------------- slugs


@pytest.mark.parametrize("slug", list(BAD_SLUGS.values()), ids=list(BAD_SLUGS))
def test_bad_article_slugs_are_invalid_content(editor, slug):
    with pytest.raises(InvalidContent) as refused:
        workflow.create_article(editor, slug=slug, article_type="treatment", content=ARTICLE_CONTENT)
    assert "slug" in refused.value.errors
    assert refused.value.status_code == 400
    assert nothing_written()


@pytest.mark.parametrize("slug", list(BAD_SLUGS.values()), ids=list(BAD_SLUGS))
def test_bad_term_slugs_are_invalid_content(editor, slug):
    with pytest.raises(InvalidContent) as refused:
        workflow.create_glossary_term(editor, slug=slug, content=TERM_CONTENT)
    assert "slug" in refused.value.errors
    assert nothing_written()


def test_longest_slug_is_accepted_and_unknown_article_type_refused(editor):
    article = workflow.create_article(editor, slug="a" * 200, article_type="treatment", content=ARTICLE_CONTENT)
    assert article.slug == "a" * 200
    with pytest.raises(InvalidContent) as refused:
        workflow.create_article(editor, slug="ok", article_type="nonsense", content=ARTICLE_CONTENT)
    assert "article_type" in refused.value.errors


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


def _invisible_by_property(char: str) -> bool:
    """The oracle, from the Unicode data of both `unicodedata` and `regex` (their versions differ)."""
    return (
        unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}
        or regex.match(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]", char) is not None
        or 0xE0000 <= ord(char) <= 0xE007F  # the Tags block, assigned or not
    )


def test_every_invisible_code_point_is_dropped_and_every_other_kept():
    """The whole property set, code point by code point, each between two letters (no joining context)."""
    every_code_point = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and cp != 0x0A]
    invisible_chars = [char for char in every_code_point if _invisible_by_property(char)]
    spaces = {"\t", "\u2028", "\u2029"}
    assert len(invisible_chars) > 4000 and {"\u200e", "\u00ad", "\u034f", "\u3164", "\U000e0041"} <= set(
        invisible_chars
    )
    cleaned = single_line_clean("".join(f"x{char}" for char in invisible_chars) + "x")
    expected = "".join("x " if char in spaces else "x" for char in invisible_chars) + "x"
    assert cleaned == expected, sorted({f"U+{ord(char):04X}" for char in cleaned} - {"U+0078", "U+0020"})
    invisible = set(invisible_chars)
    visible = "".join(f"x{char}" for char in every_code_point if char not in invisible) + "x"
    assert single_line_clean(visible) == unicodedata.normalize("NFC", visible)


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


@pytest.mark.parametrize(
    "text",
    [
        "\u0915\u094d\u200d\u0937",
        "\u0915\u094d\u200c\u0937",
        "\u0628\u064e\u200c\u0628",
        "\U0001f469\U0001f3fd\u200d\u2695",
    ],
    ids=["ZWJ after virama", "ZWNJ after virama", "ZWNJ between joining letters", "ZWJ in an emoji sequence"],
)
def test_joiners_are_kept_in_their_joining_context_only(text):
    assert single_line_clean(text) == text
    # The same joiner between Latin letters only makes an equal-looking title differ.
    joiner = "\u200d" if "\u200d" in text else "\u200c"
    assert single_line_clean(f"Can{joiner}cer") == "Cancer"


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


def test_overlong_comment_is_invalid_content(article, editor):
    with pytest.raises(InvalidContent):
        workflow.submit(article, editor, comment="x" * (workflow.MAX_COMMENT + 1))


# ---------------------------------------------------------------- dates and numbers


@pytest.fixture
def approved(article, editor, reviewer):
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    return Article.objects.get(pk=article.pk)


@pytest.mark.parametrize(
    "at",
    [
        datetime.datetime(2099, 1, 1, 9, 0),  # naive
        timezone.now() - datetime.timedelta(seconds=1),
        datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC),
        datetime.date(2099, 1, 1),
        "2099-01-01T09:00",
        None,
    ],
    ids=["naive", "just past", "epoch", "date only", "string", "none"],
)
def test_invalid_go_live_times_are_invalid_content(approved, editor, at):
    with pytest.raises(InvalidContent) as refused:
        workflow.schedule_publish(approved, editor, at=at)
    assert refused.value.errors.get("publish_at")
    assert Article.objects.get(pk=approved.pk).publish_at is None


@pytest.mark.parametrize("days", [0, -1, 3651, True, "30", 1.5])
def test_invalid_review_intervals_are_invalid_content(article, editor, days):
    with pytest.raises(InvalidContent):
        workflow.set_review_interval(article, editor, days)


# ---------------------------------------------------------------- over HTTP: readers


ODD_PATHS = [
    "/health/articles/%00/",
    "/health/articles/" + "a" * 5000 + "/",
    "/health/articles/%ff%fe/",
    "/health/articles/%C0%AF/",
    "/health/articles/..%2F..%2Fetc%2Fpasswd/",
    "/health/articles/caf%C3%A9/",
    "/health/articles/%E2%80%AEevil/",
    "/health/glossary/%00/",
    "/health/glossary/" + "b" * 5000 + "/",
    "/health/topics/%00/",
    "/health/topics/" + "c" * 5000 + "/",
    "/health/types/%00/",
    "/health/types/no-such-type/",
    "/health/articles/checkpoint-inhibitors/%00",
]
ODD_QUERIES = [
    "/health/search/?q=%00",
    "/health/search/?q=" + "x" * 20_000,
    "/health/search/?q=%ff%fe%00",
    "/health/search/?q=a&page=%00",
    "/health/search/?q=a&page=-1",
    "/health/search/?q=a&page=99999999999999999999999",
    "/health/search/?q=%22%27%3B--%20DROP%20TABLE",
    "/health/search/?q=NEAR(a%20b)%20OR%20*%20AND%20%22",
    "/health/glossary/?letter=%00",
    "/health/glossary/?letter=" + "z" * 5000,
    "/health/articles/?page=%00",
    "/health/articles/?page=99999999999999999999999",
    "/health/feeds/rss/?x=%00",
    "/health/?%00=%00",
]


@pytest.mark.parametrize("path", ODD_PATHS, ids=lambda p: p[:50])
def test_odd_reader_addresses_are_404_not_500(published_article, path):
    client = Client(raise_request_exception=False)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ODD_QUERIES, ids=lambda p: p[:50])
def test_odd_query_strings_never_500(published_article, path):
    client = Client(raise_request_exception=False)
    assert client.get(path).status_code in (200, 400, 404)


@pytest.mark.parametrize("pk", ["99999999999999999999999", "9223372036854775808", "0"])
def test_staff_preview_of_an_out_of_range_revision_is_404(client, editor, pk):
    client.force_login(editor)
    client.raise_request_exception = False
    assert client.get(f"/health/preview/revision/{pk}/").status_code == 404
    # Beyond 64 bits was an OverflowError on SQLite (tests/test_request_ids.py covers the class).
    assert client.get(f"/admin/healthlib/article/{pk}/change/").status_code in (302, 404)


# ---------------------------------------------------------------- over HTTP: the admin


def add_form(**changes) -> dict:
    data = {
        "slug": "car-t",
        "article_type": "treatment",
        "title": "CAR T-cell therapy",
        "summary": "Your own T cells, changed to fight cancer.",
        "body": "## How it works\n\nDoctors collect your T cells.",
        "references": "CAR T Cells | National Cancer Institute | https://www.cancer.gov/ | 2022",
        "based_on": "",
    }
    return {**data, **changes}


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"slug": "Bad Slug!"}, "slug"),
        ({"slug": "a" * 201}, "slug"),
        ({"slug": "x\x00y"}, "slug"),
        ({"title": "x" * 201}, "title"),
        ({"title": "Nul\x00"}, "title"),
        ({"summary": "x" * 1001}, "summary"),
        ({"body": "x" * 200_001}, "body"),
        ({"body": "Nul \x00 byte"}, "body"),
        ({"article_type": "nonsense"}, "article_type"),
    ],
    ids=lambda v: str(v)[:30] if isinstance(v, dict) else v,
)
def test_admin_add_form_shows_a_field_error(client, editor, changes, field):
    client.force_login(editor)
    client.raise_request_exception = False
    response = client.post(reverse("admin:healthlib_article_add"), add_form(**changes))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert nothing_written()


def test_admin_add_form_stores_nfc_and_drops_zero_width(client, editor):
    client.force_login(editor)
    title = unicodedata.normalize("NFD", "Café\u200b visits")
    response = client.post(reverse("admin:healthlib_article_add"), add_form(title=title))
    assert response.status_code == 302
    assert Article.objects.get().title == "Café visits"


def test_request_bodies_over_the_limit_are_a_400(client, editor, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    client.force_login(editor)
    client.raise_request_exception = False
    response = client.post(reverse("admin:healthlib_article_add"), add_form(body="x" * (1024 * 1024 + 1)))
    assert response.status_code == 400
    assert nothing_written()


def test_too_many_form_fields_are_a_400(client, editor):
    client.force_login(editor)
    client.raise_request_exception = False
    data = add_form() | {f"extra{i}": "x" for i in range(1100)}
    assert client.post(reverse("admin:healthlib_article_add"), data).status_code == 400


@pytest.mark.parametrize("value", ["2000-01-01T09:00", "not a date", "2099-02-30T09:00", "9999999-01-01T00:00", "\x00"])
def test_admin_schedule_with_a_bad_time_is_refused_without_a_500(client, approved, editor, value):
    client.force_login(editor)
    client.raise_request_exception = False
    url = reverse("admin:healthlib_article_workflow", args=[approved.pk, "schedule"])
    response = client.post(url, {"revision": approved.latest_revision_id, "publish_at": value})
    assert response.status_code in (302, 400)
    assert Article.objects.get(pk=approved.pk).publish_at is None


def test_glossary_add_form_with_bad_slug_and_alias(client, editor):
    client.force_login(editor)
    client.raise_request_exception = False
    response = client.post(
        reverse("admin:healthlib_glossaryterm_add"),
        {"slug": "bad slug", "term": "T cell", "short_definition": "A cell.", "aliases": "x\x00y", "based_on": ""},
    )
    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert not GlossaryTerm.objects.exists()
