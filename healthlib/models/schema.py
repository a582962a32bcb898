"""What a revision of each kind contains, and how submitted content is checked and normalised.

Normalising (Unicode NFC, ``\\n`` line endings, trimmed strings) keeps content hashes stable,
so the same text always hashes the same whether typed in the admin or imported from a file.
"""

from __future__ import annotations

import datetime
import unicodedata
from typing import Any

import regex
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

from healthlib.conf import healthlib_settings
from healthlib.exceptions import InvalidContent, MarkdownTooComplex
from healthlib.markup import check_markdown

ARTICLE_FIELDS = ("title", "summary", "body", "references")
TERM_FIELDS = (
    "term",
    "aliases",
    "pronunciation",
    "short_definition",
    "full_definition",
    "professional_definition",
    "related_terms",
)
REFERENCE_FIELDS = ("title", "publisher", "url", "year")
MAX_TITLE = 200
MAX_SHORT_TEXT = 1000
MAX_LIST = 50

_url_validator = URLValidator(schemes=["http", "https"])


# Single-line fields (titles, terms, aliases, reference titles) lose what a reader cannot see but a
# title can hide, decided by Unicode properties rather than a list (a list always misses some, e.g. the
# left-to-right mark and the soft hyphen): control characters (Cc), format characters (Cf: zero-width
# space, directional marks, overrides and isolates, soft hyphen, byte-order mark...), every
# Default_Ignorable_Code_Point (variation selectors, Hangul fillers, the combining grapheme joiner...)
# and the tag characters. A tab and the line and paragraph separators (Zl, Zp) become a space.
# ZWJ and ZWNJ stay only where they change how a word is written: after a virama and, for ZWNJ,
# between joining letters (the CONTEXTJ rules of RFC 5892: Indic, Arabic and Persian scripts), and ZWJ
# inside an emoji sequence (UTS #51). Unicode data from the `regex` module, newer than `unicodedata`'s.
_JOINER_IN_CONTEXT = (
    r"(?<=\p{ccc=Virama})[\u200c\u200d]"
    r"|(?<=[\p{jt=D}\p{jt=L}]\p{jt=T}*)\u200c(?=\p{jt=T}*[\p{jt=D}\p{jt=R}])"
    r"|(?<=\p{Extended_Pictographic}\p{Emoji_Modifier}?\ufe0f?)\u200d(?=\p{Extended_Pictographic})"
)
_INVISIBLE = regex.compile(
    rf"(?P<kept>{_JOINER_IN_CONTEXT})|(?P<space>[\t\p{{Zl}}\p{{Zp}}])"
    r"|(?!\n)[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{Block=Tags}]"
)


def _keep_or_drop(match: regex.Match) -> str:
    return match["kept"] or (" " if match["space"] else "")


def _single_line_clean(value: str) -> str:
    # Dropping a character (the combining grapheme joiner) can let marks around it reorder: NFC again.
    return unicodedata.normalize("NFC", _INVISIBLE.sub(_keep_or_drop, value)).strip()


def normalise_text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError
    value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    return value.strip()


def one_line(value: str) -> str:
    """``value`` as one clean line: NFC, no control or invisible characters, runs of whitespace made one space.

    For short reviewer-written text shown to readers in a single line (a review's change summary).
    """
    return " ".join(_single_line_clean(normalise_text(value or "")).split())


class _Collector:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def text(self, data: dict, field: str, *, required: bool = False, max_length: int | None = None) -> str:
        raw = data.get(field, "")
        if raw is None:
            raw = ""
        try:
            value = normalise_text(raw)
        except TypeError:
            self.add(field, _("Must be text."))
            return ""
        if required and not value:
            self.add(field, _("This field is required."))
        limit = max_length or healthlib_settings.MAX_BODY_CHARS
        if len(value) > limit:
            self.add(
                field, _("Too long: %(n)d characters, the limit is %(limit)d.") % {"n": len(value), "limit": limit}
            )
        if "\x00" in value:
            self.add(field, _("Contains a NUL character."))
        return value

    def markdown(self, data: dict, field: str, *, required: bool = False, max_length: int | None = None) -> str:
        """A text field that is rendered as markdown: refused here if it is beyond the renderer's bounds."""
        value = self.text(data, field, required=required, max_length=max_length)
        if value and field not in self.errors:
            try:
                check_markdown(value)
            except MarkdownTooComplex as exc:
                self.add(field, exc.message)
        return value

    def single_line(self, data: dict, field: str, *, required: bool = False, max_length: int = MAX_TITLE) -> str:
        value = _single_line_clean(self.text(data, field, required=required, max_length=max_length))
        if "\n" in value:
            self.add(field, _("Must be a single line."))
        if required and not value and field not in self.errors:
            self.add(field, _("This field is required."))
        return value

    def string_list(self, data: dict, field: str) -> list[str]:
        raw = data.get(field) or []
        if not isinstance(raw, (list, tuple)):
            self.add(field, _("Must be a list."))
            return []
        if len(raw) > MAX_LIST:
            self.add(field, _("At most %(n)d entries.") % {"n": MAX_LIST})
        values: list[str] = []
        for entry in raw:
            try:
                value = _single_line_clean(normalise_text(entry))
            except TypeError:
                self.add(field, _("Every entry must be text."))
                continue
            if "\n" in value or len(value) > MAX_TITLE:
                self.add(
                    field,
                    _("“%(v)s” must be a single line of at most %(n)d characters.") % {"v": value[:40], "n": MAX_TITLE},
                )
            if value and value not in values:
                values.append(value)
        return values

    def raise_if_any(self) -> None:
        if self.errors:
            details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in self.errors.items())
            raise InvalidContent(_("The content is not valid (%(details)s).") % {"details": details}, self.errors)


def clean_reference(collector: _Collector, index: int, raw: Any) -> dict[str, Any] | None:
    field = f"references[{index}]"
    if not isinstance(raw, dict):
        collector.add(field, _("Each reference needs a title, publisher, URL and year."))
        return None
    unknown = set(raw) - set(REFERENCE_FIELDS)
    if unknown:
        collector.add(field, _("Unknown reference field(s): %(f)s.") % {"f": ", ".join(sorted(unknown))})
    sub = _Collector()
    title = sub.single_line(raw, "title", required=True, max_length=500)
    publisher = sub.single_line(raw, "publisher", max_length=MAX_TITLE)
    url = sub.single_line(raw, "url", max_length=2000)
    if url:
        try:
            _url_validator(url)
        except ValidationError:
            sub.add("url", _("“%(url)s” is not a valid http(s) address.") % {"url": url[:80]})
    year = raw.get("year")
    if year in ("", None):
        year = None
    elif isinstance(year, bool) or not isinstance(year, int) or not 1800 <= year <= datetime.date.today().year + 1:
        sub.add("year", _("Must be a year such as 2024."))
    for name, messages in sub.errors.items():
        for message in messages:
            collector.add(f"{field}.{name}", message)
    return {"title": title, "publisher": publisher, "url": url, "year": year}


def clean_article_content(data: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise an article's content; raise InvalidContent listing every problem."""
    collector = _Collector()
    if not isinstance(data, dict):
        raise InvalidContent(_("Content must be a mapping of fields."))
    unknown = set(data) - set(ARTICLE_FIELDS)
    if unknown:
        collector.add("content", _("Unknown field(s): %(f)s.") % {"f": ", ".join(sorted(unknown))})
    content: dict[str, Any] = {
        "title": collector.single_line(data, "title", required=True),
        "summary": collector.markdown(data, "summary", max_length=MAX_SHORT_TEXT),
        "body": collector.markdown(data, "body"),
    }
    raw_refs = data.get("references") or []
    references = []
    if not isinstance(raw_refs, (list, tuple)):
        collector.add("references", _("Must be a list."))
    else:
        for index, raw in enumerate(raw_refs):
            ref = clean_reference(collector, index, raw)
            if ref is not None:
                references.append(ref)
    content["references"] = references
    collector.raise_if_any()
    return content


def clean_term_content(
    data: dict[str, Any], *, known_slugs: set[str] | None = None, own_slug: str = ""
) -> dict[str, Any]:
    """Check and normalise a glossary term's content; raise InvalidContent listing every problem.

    ``known_slugs`` (when given) are the glossary slugs that ``related_terms`` may name.
    """
    collector = _Collector()
    if not isinstance(data, dict):
        raise InvalidContent(_("Content must be a mapping of fields."))
    unknown = set(data) - set(TERM_FIELDS)
    if unknown:
        collector.add("content", _("Unknown field(s): %(f)s.") % {"f": ", ".join(sorted(unknown))})
    content: dict[str, Any] = {
        "term": collector.single_line(data, "term", required=True),
        "aliases": collector.string_list(data, "aliases"),
        "pronunciation": collector.single_line(data, "pronunciation"),
        "short_definition": collector.markdown(data, "short_definition", required=True, max_length=MAX_SHORT_TEXT),
        "full_definition": collector.markdown(data, "full_definition", max_length=20_000),
        "professional_definition": collector.markdown(data, "professional_definition", max_length=20_000),
        "related_terms": collector.string_list(data, "related_terms"),
    }
    for slug in content["related_terms"]:
        if slug == own_slug:
            collector.add("related_terms", _("A term cannot be related to itself."))
        elif known_slugs is not None and slug not in known_slugs:
            collector.add("related_terms", _("Unknown glossary term “%(slug)s”.") % {"slug": slug})
    collector.raise_if_any()
    return content
