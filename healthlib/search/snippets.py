"""Snippets of a hit's text around the query's words, with the words in ``<mark>``."""

from __future__ import annotations

import html as html_lib
import re

from django.utils.safestring import SafeString, mark_safe

START, STOP = "\x02", "\x03"
#: Words in a snippet, and the characters kept before its first match.
SNIPPET_WORDS, SNIPPET_LEAD = 28, 60
_SPACE = re.compile(r"\s+")
_SENTINELS = re.compile("[\x00\x02\x03]")


def clean_text(text: str) -> str:
    """Text as the index stores it (and a query is compared with titles): single spaces, no sentinels."""
    return _SPACE.sub(" ", _SENTINELS.sub(" ", text or "")).strip()


def highlighter(terms: list[str]) -> re.Pattern:
    """The words of the query as whole words, the last also as the start of a word (as searched)."""
    *words, last = sorted(set(terms[:-1]), key=len, reverse=True) + [terms[-1]]
    alternatives = [rf"{re.escape(last)}[^\W_]*", *(rf"{re.escape(word)}(?![^\W_])" for word in words)]
    return re.compile(rf"(?<![^\W_])(?:{'|'.join(alternatives)})", re.IGNORECASE)


def make_snippet(text: str, highlight: re.Pattern) -> str:
    """About SNIPPET_WORDS words of ``text`` from just before its first match, matches between sentinels.

    Built here rather than by the engines: FTS5's ``snippet()`` and ``ts_headline`` (``SearchHeadline``)
    tokenize the whole text of every hit (about 6 ms for a 2,500-word article), this looks at a few
    hundred characters. ``text`` is an index entry's (whitespace collapsed, sentinels removed).
    """
    found = highlight.search(text)
    start = found.start() if found else 0
    before = text[max(0, start - SNIPPET_LEAD) : start]
    if start > SNIPPET_LEAD:
        before = before.partition(" ")[2]  # drop the cut word
    words = (before + text[start : start + SNIPPET_WORDS * 20]).split(" ")
    window = " ".join(words[:SNIPPET_WORDS])
    marked = highlight.sub(lambda match: f"{START}{match.group(0)}{STOP}", window)
    begins = start - len(before) > 0
    ends = start - len(before) + len(window) < len(text)
    return f"{'… ' if begins else ''}{marked}{' …' if ends else ''}"


def snippet_html(raw: str) -> SafeString:
    """Escape a snippet, then turn the sentinel markers (and only them) into <mark>."""
    escaped = html_lib.escape(_SPACE.sub(" ", raw or "").strip(), quote=True)
    # An unbalanced marker (a snippet cut inside a match) must not leave an open <mark>.
    parts = re.split(f"([{START}{STOP}])", escaped)
    out, open_mark = [], False
    for part in parts:
        if part == START:
            if not open_mark:
                out.append("<mark>")
                open_mark = True
        elif part == STOP:
            if open_mark:
                out.append("</mark>")
                open_mark = False
        else:
            out.append(part)
    if open_mark:
        out.append("</mark>")
    return mark_safe("".join(out))  # every piece of text above was escaped
