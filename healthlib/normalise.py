"""How text is normalised before it is stored, hashed, or shown to readers on one line.

Normalising (Unicode NFC, ``\\n`` line endings, trimmed strings) keeps content hashes stable, so the
same text always hashes the same whether typed in the admin or imported from a file.

The one-line rule lives here and nowhere else: :func:`one_line` makes any text one clean line (names
on the record, change summaries); :func:`single_line_clean` is its first half, used by the content
schema (which then refuses what is still a line break); :func:`is_one_line` is what forms and model
validation refuse. This module imports nothing of healthlib, so models may use it.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import regex

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
#: What breaks a line: line feeds and other control characters (Cc), U+2028 and U+2029 (Zl, Zp).
LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})


def _keep_or_drop(match: regex.Match) -> str:
    return match["kept"] or (" " if match["space"] else "")


def normalise_text(value: Any) -> str:
    """``value`` in NFC with ``\\n`` line endings, trimmed; TypeError when it is not text."""
    if not isinstance(value, str):
        raise TypeError
    value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    return value.strip()


def single_line_clean(value: str) -> str:
    """``value`` without the invisible characters above (tabs and separators made spaces); ``\\n`` stays."""
    # Dropping a character (the combining grapheme joiner) can let marks around it reorder: NFC again.
    return unicodedata.normalize("NFC", _INVISIBLE.sub(_keep_or_drop, value)).strip()


def one_line(value: str | None) -> str:
    """``value`` as one clean line: NFC, no control or invisible characters, runs of whitespace made one space.

    For short text shown to readers in a single line: a review's change summary, the names and
    credentials kept on the record (the site's user model is not ours to validate).
    """
    return " ".join(single_line_clean(normalise_text(value or "")).split())


def is_one_line(value: str) -> bool:
    """Whether ``value`` has no line break or control character (what :func:`one_line` would not keep)."""
    return not any(unicodedata.category(char) in LINE_BREAKING for char in value)
