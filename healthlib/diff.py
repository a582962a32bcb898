"""Differences between two revisions, for reviewers: what readers will see change, and how.

Two views: a word-level diff of the *rendered* text (what a reader reads, after the one
sanitizing pipeline), and a unified diff of the markdown source. Both are built from escaped
tokens, so markup written into content is shown as text, never run.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from healthlib.html import text_blocks
from healthlib.markup import render_document

_TOKEN = re.compile(r"\n|[^\s]+")
BLOCK = "\n"


def tokens(text: str) -> list[str]:
    """Words of ``text``, with a ``"\\n"`` token at every block (paragraph) boundary."""
    return _TOKEN.findall(text)


def rendered_text(content: dict[str, Any] | None) -> str:
    """The visible text of a revision as readers see it, one block per line."""
    if not content:
        return ""
    if "body" in content:
        parts = [f"# {content.get('title', '')}", content.get("summary", ""), content.get("body", "")]
        parts += [
            " ".join(str(ref.get(k) or "") for k in ("title", "publisher", "url", "year"))
            for ref in content.get("references") or []
        ]
    else:
        parts = [
            f"# {content.get('term', '')}",
            ", ".join(content.get("aliases") or []),
            content.get("pronunciation", ""),
            content.get("short_definition", ""),
            content.get("full_definition", ""),
            content.get("professional_definition", ""),
        ]
    html = render_document("\n\n".join(part for part in parts if part)).html
    return "\n".join(text_blocks(html))


def source_text(content: dict[str, Any] | None) -> str:
    """The markdown source of a revision, field by field, for the unified diff."""
    if not content:
        return ""
    lines: list[str] = []
    for field, value in content.items():
        lines.append(f"## {field}")
        if isinstance(value, list):
            for entry in value:
                if isinstance(entry, dict):
                    lines.append("- " + "; ".join(f"{k}: {'' if v is None else v}" for k, v in entry.items()))
                else:
                    lines.append(f"- {entry}")
        else:
            lines.extend(str(value).split("\n"))
        lines.append("")
    return "\n".join(lines)


BR = mark_safe("<br>")


def _pieces(words: list[str], tag: str = "") -> list[SafeString]:
    """Escaped runs of words (wrapped in ``tag`` if given), with a ``<br>`` piece at each block boundary."""
    pieces: list[SafeString] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            text = " ".join(conditional_escape(word) for word in run)
            pieces.append(mark_safe(f"<{tag}>{text}</{tag}>" if tag else text))
            run.clear()

    for word in words:
        if word == BLOCK:
            flush()
            pieces.append(BR)
        else:
            run.append(word)
    flush()
    return pieces


def word_diff(old: str, new: str) -> SafeString:
    """HTML of a word-level diff: removed words in ``<del>``, added words in ``<ins>``.

    Every word is escaped; the only markup in the result is ``<ins>``, ``<del>`` and ``<br>``.
    """
    a, b = tokens(old), tokens(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    pieces: list[SafeString] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces += _pieces(a[i1:i2])
            continue
        if op in ("delete", "replace"):
            pieces += _pieces(a[i1:i2], "del")
        if op in ("insert", "replace"):
            pieces += _pieces(b[j1:j2], "ins")
    html = ""
    for index, piece in enumerate(pieces):
        if index and piece is not BR and pieces[index - 1] is not BR:
            html += " "
        html += piece
    return mark_safe(html)


def unified_diff(old: str, new: str, old_label: str = "", new_label: str = "") -> list[tuple[str, str]]:
    """Lines of a unified diff as ``(kind, text)``: kind is ``add``, ``del``, ``hunk`` or ``ctx``.

    The text is plain (not escaped); templates escape it when they print it.
    """
    result = []
    for line in difflib.unified_diff(
        old.splitlines(), new.splitlines(), old_label or _("before"), new_label or _("after"), lineterm="", n=2
    ):
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        result.append((kind, line))
    return result


def revision_diff(old_content: dict[str, Any] | None, new_content: dict[str, Any] | None, **labels) -> dict[str, Any]:
    """Both diffs between two revisions' content (``old_content`` may be ``None``: nothing live yet)."""
    return {
        "words": word_diff(rendered_text(old_content), rendered_text(new_content)),
        "source": unified_diff(source_text(old_content), source_text(new_content), **labels),
        "changed_fields": changed_fields(old_content, new_content),
    }


def changed_fields(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """Names of the content fields that differ."""
    old, new = old or {}, new or {}
    return [field for field in dict.fromkeys([*old, *new]) if old.get(field) != new.get(field)]
