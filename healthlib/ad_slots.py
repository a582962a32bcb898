"""Advertising slots: where an article body may be cut for an advertisement (only between sections)."""

from __future__ import annotations

from dataclasses import dataclass

from healthlib.html import top_level_nodes


@dataclass(frozen=True)
class BodyPart:
    html: str
    slot: str = ""


def split_for_ads(html: str, slots: list[str]) -> list[BodyPart]:
    """Cut the body before top-level ``<h2>`` elements where ``slots`` ask for an advertisement.

    Sections are numbered from the first ``<h2>`` that is not inside another element; text before
    it is the intro. Slots are placed only *between* sections (never inside one): "after_intro",
    "after_section_N" (only if section N+1 exists) and "end" (after the last section). The parts
    join to ``html`` (the sanitizer's output serializes back to itself).
    """
    if not slots:
        return [BodyPart(html)]
    nodes = top_level_nodes(html)
    sections = [index for index, node in enumerate(nodes) if node.tag == "h2"]
    cuts: dict[int, str] = {}
    for slot in slots:
        if slot == "after_intro" and sections and "".join(node.html for node in nodes[: sections[0]]).strip():
            cuts.setdefault(sections[0], slot)
        elif slot.startswith("after_section_") and slot[len("after_section_") :].isdigit():
            number = int(slot[len("after_section_") :])
            if 1 <= number < len(sections):
                cuts.setdefault(sections[number], slot)
    end = "end" if "end" in slots else ""
    if not cuts:
        return [BodyPart(html, end)]
    parts: list[BodyPart] = []
    start = 0
    for index in sorted(cuts):
        parts.append(BodyPart("".join(node.html for node in nodes[start:index]), cuts[index]))
        start = index
    parts.append(BodyPart("".join(node.html for node in nodes[start:]), end))
    return parts
