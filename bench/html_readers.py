"""Reading sanitized HTML three ways, on the demo pack: the regexes and HTMLParser healthlib used
before, selectolax (Lexbor, what :mod:`healthlib.html` uses) and lxml (libxml2), when installed.

    .venv/bin/python bench/html_readers.py [--rounds 15]

Run on demand, never in the tests. For each reader: the best time of ``--rounds`` interleaved
passes (the machine's load hits every reader alike) of plain text, text blocks and link targets
over every rendered demo text; how often each differs from the old code on the demo texts and the
XSS corpus; and how often the top-level nodes, serialized again, differ from the sanitizer's bytes
(what ad slots need). lxml is not a healthlib dependency: ``pip install lxml`` to compare.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _lxml_readers():
    try:
        import lxml.html
    except ImportError:
        return None
    from healthlib.html import BLOCK_ELEMENTS

    def tree(html):
        return lxml.html.fragment_fromstring(html, create_parent="div")

    def plain_text(html):
        return " ".join(" ".join(tree(html).itertext()).split()) if html else ""

    def text_blocks(html):
        if not html:
            return []
        parts = []

        def walk(element):
            parts.append(element.text or "")
            for child in element:
                if isinstance(child.tag, str):
                    walk(child)
                    if child.tag in BLOCK_ELEMENTS or child.tag == "br":
                        parts.append("\n")
                parts.append(child.tail or "")

        walk(tree(html))
        return [line for line in (" ".join(x.split()) for x in " ".join(parts).split("\n")) if line]

    def link_targets(html):
        return [href for href in (a.get("href") for a in tree(html).iter("a")) if href] if html else []

    def round_trip(html):
        root = tree(html)
        text = (root.text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return text + "".join(lxml.html.tostring(child, encoding=str, with_tail=True) for child in root)

    return {"plain_text": plain_text, "text_blocks": text_blocks, "link_targets": link_targets}, round_trip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from healthlib import html as selectolax_readers
    from healthlib.exceptions import MarkdownTooComplex
    from healthlib.markup import render_document
    from tests import test_html as oracle
    from tests.xss_payloads import PAYLOADS

    demo = [render_document(text).html for text in oracle.demo_texts().values()]
    xss = []
    for payload in PAYLOADS:
        try:
            xss.append(render_document(payload.text).html)
        except MarkdownTooComplex:
            pass
    readers = {
        "regex + HTMLParser (before)": (
            {
                "plain_text": oracle.old_plain_text,
                "text_blocks": oracle.old_text_blocks,
                "link_targets": oracle.old_link_targets,
            },
            lambda html: html,
        ),
        "selectolax (healthlib.html)": (
            {name: getattr(selectolax_readers, name) for name in ("plain_text", "text_blocks", "link_targets")},
            lambda html: "".join(node.html for node in selectolax_readers.top_level_nodes(html)),
        ),
    }
    if (lxml_readers := _lxml_readers()) is not None:
        readers["lxml"] = lxml_readers
    old = readers["regex + HTMLParser (before)"][0]
    best: dict[tuple[str, str], float] = {}
    for _ in range(args.rounds):
        for label, (functions, _round_trip) in readers.items():
            for name, function in functions.items():
                start = time.perf_counter()
                for html in demo:
                    function(html)
                elapsed = time.perf_counter() - start
                best[label, name] = min(best.get((label, name), elapsed), elapsed)
    print(f"{len(demo)} rendered demo texts ({sum(map(len, demo))} characters), {len(xss)} XSS payloads")
    print(f"best of {args.rounds} interleaved passes over the demo texts, ms; differences from the old code")
    for label, (functions, round_trip) in readers.items():
        times = "  ".join(f"{name} {1000 * best[label, name]:6.1f}" for name in functions)
        total = 1000 * sum(best[label, name] for name in functions)
        differ = sum(functions[n](h) != old[n](h) for h in demo + xss for n in functions)
        not_same_bytes = sum(round_trip(h) != h for h in demo + xss if h)
        print(f"{label:28s} {times}  total {total:6.1f}  differ {differ}  re-serialized != sanitizer {not_same_bytes}")
    start = time.perf_counter()
    for text in oracle.demo_texts().values():
        render_document(text)
    print(f"for scale, render_document over the same texts: {1000 * (time.perf_counter() - start):.0f} ms")


if __name__ == "__main__":
    main()
