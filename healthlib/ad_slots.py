"""Advertising slots: where an article body may be cut for an advertisement (only between sections)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>")
_VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass(frozen=True)
class BodyPart:
    html: str
    slot: str = ""


def top_level_h2_offsets(html: str) -> list[int]:
    """Offsets of the ``<h2`` tags that are not nested in any other element.

    The stored body is sanitizer output (well-formed), so tracking depth over tags is enough.
    """
    offsets: list[int] = []
    depth = 0
    for match in _TAG.finditer(html):
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if closing:
            depth = max(depth - 1, 0)
        elif name in _VOID or self_closing:
            continue
        else:
            if name == "h2" and depth == 0:
                offsets.append(match.start())
            depth += 1
    return offsets


def split_for_ads(html: str, slots: list[str]) -> list[BodyPart]:
    """Cut the body at top-level ``<h2>`` boundaries where ``slots`` ask for an advertisement.

    Sections are numbered from the first ``<h2>``; text before it is the intro. Slots are
    placed only *between* sections (never inside one): "after_intro", "after_section_N"
    (only if section N+1 exists) and "end" (after the last section).
    """
    if not slots:
        return [BodyPart(html)]
    offsets = top_level_h2_offsets(html)
    cuts: dict[int, str] = {}
    for slot in slots:
        if slot == "after_intro" and offsets and offsets[0] > 0 and html[: offsets[0]].strip():
            cuts.setdefault(offsets[0], slot)
        elif slot.startswith("after_section_") and slot[len("after_section_") :].isdigit():
            number = int(slot[len("after_section_") :])
            if 1 <= number < len(offsets):
                cuts.setdefault(offsets[number], slot)
    parts: list[BodyPart] = []
    start = 0
    for offset in sorted(cuts):
        parts.append(BodyPart(html[start:offset], cuts[offset]))
        start = offset
    parts.append(BodyPart(html[start:], "end" if "end" in slots else ""))
    return parts
