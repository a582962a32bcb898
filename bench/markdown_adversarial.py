"""Render time of adversarial markdown against a plain article of the same size, per markdown engine.

    .venv/bin/python bench/markdown_adversarial.py [--sizes 10000,50000,200000] [--cap 10]
    .venv/bin/python bench/markdown_adversarial.py --engines healthlib --only brackets,images

Run on demand, never in the tests. Each case renders in a child process killed after ``--cap``
seconds (shown as ``>cap``), so a quadratic case cannot stall the run. Engines:

- ``healthlib``: :func:`healthlib.markup.render_document`, the one pipeline (Python-Markdown,
  its extensions, the bounds, nh3), as the checkout under test has it. A body it refuses is shown
  as ``refused`` (the editor gets a form error) with the time the refusal took.
- ``markdown-it-py``: CommonMark with tables, strikethrough, footnotes and heading anchors, then the
  same nh3 sanitizer; only when markdown-it-py and mdit-py-plugins are installed (they are not
  healthlib dependencies: ``pip install markdown-it-py mdit-py-plugins`` to compare).
- ``markdown-it-pyrs``: the same extensions in markdown-it.rs (Rust, Python bindings), then nh3;
  ``pip install markdown-it-pyrs`` to compare.

The ratio column is the case's time over the plain article's time of the same size, same engine,
same run: the machine's load cancels out.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_PARAGRAPH = (
    "Immunotherapy helps the [immune system](https://example.org/immune) find and attack cancer cells. "
    "Some treatments, such as *checkpoint inhibitors*, release the **brakes** on T cells; others train "
    "them.[^n] Side effects differ from those of chemotherapy (see the table below).\n\n"
)
_SECTION = (
    "## What to expect\n\n"
    + _PARAGRAPH
    + "- fatigue and a rash\n- diarrhoea\n  - when to call your team\n\n"
    + "| Treatment | Given as |\n|---|---|\n| Pembrolizumab | infusion |\n\n"
    + "> Ask your team before starting any new medicine.\n\n"
)


def _fill(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


#: name -> (what it is, generator of about n characters)
GENERATORS: dict[str, tuple[str, Callable[[int], str]]] = {
    "plain": ("a plain article: sections, links, lists, a table", lambda n: _fill(_SECTION, n) + "\n\n[^n]: A note."),
    "brackets": ("a run of `[`", lambda n: "[" * n),
    "images": ("a run of `![`", lambda n: "![" * (n // 2)),
    "spaced_brackets": ("`[a ` repeated (unclosed link texts)", lambda n: _fill("[a ", n)),
    "nested_brackets": ("`[` x n/2 then `]` x n/2", lambda n: "[" * (n // 2) + "]" * (n // 2)),
    "link_open": ("`[a](` repeated (unclosed destinations)", lambda n: _fill("[a](", n)),
    "parens": ("`[a](` then a run of `(`", lambda n: "[a](" + "(" * (n - 4)),
    "footnote_refs": ("`[^` repeated", lambda n: _fill("[^", n)),
    "underscore_nest": ("`_` x n/2, a letter, `_` x n/2", lambda n: "_" * (n // 2) + "a" + "_" * (n // 2)),
    "star_nest": ("`*` x n/2, a letter, `*` x n/2", lambda n: "*" * (n // 2) + "a" + "*" * (n // 2)),
    "mixed_nest": ("`*_` x n/4, a letter, `_*` x n/4", lambda n: "*_" * (n // 4) + "a" + "_*" * (n // 4)),
    "strong_em_nest": (
        "`**a ` and `*b ` nested n/10 deep",
        lambda n: "**a *b " * (n // 14) + "c" + "* b** a" * (n // 14),
    ),
    "emphasis_pairs": ("`*a* ` repeated in one paragraph", lambda n: _fill("*a* ", n)),
    "quote_nest": ("`>` x n", lambda n: ">" * n + " a"),
    "quote_lines": ("lines of growing `>` depth", lambda n: _depth_lines("> ", n)),
    "list_nest": ("a list nested one level per line", lambda n: _depth_lines("    ", n, item="- a\n")),
    "backticks": ("runs of backticks of growing length", lambda n: _backticks(n)),
    "angle_brackets": ("a run of `<`", lambda n: "<" * n),
    "html_nest": ("`<span>` nested", lambda n: "<span>" * (n // 13) + "a" + "</span>" * (n // 13)),
    "reference_defs": (
        "link reference definitions and their uses",
        lambda n: (
            "".join(f"[r{i}]: https://example.org/{i}\n" for i in range(n // 60))
            + "\n"
            + " ".join(f"[x][r{i}]" for i in range(n // 60))
        ),
    ),
    "table": ("one wide table", lambda n: _table(n)),
    "entities": ("`&amp;` and numeric entities", lambda n: _fill("&amp; &#x1F600; &#169; ", n)),
    "headings": ("a heading per line (table of contents)", lambda n: _fill("## a *b* `c`\n\n### d\n\n", n)),
    "long_line": ("one 'word' without spaces", lambda n: "a" * n),
    "html_unclosed": ("`<div>` blocks never closed", lambda n: _fill("<div>\n\n", n)),
    "html_blocks": ("`<div></div>` blocks", lambda n: _fill("<div></div>\n\n", n)),
    "formatting_unclosed": ("`<b>` paragraphs never closed", lambda n: _fill("<b>\n\n", n)),
    "footnote_defs": (
        "distinct footnotes and their references",
        lambda n: (
            "".join(f"a[^{i}] " for i in range(n // 25)) + "\n\n" + "".join(f"[^{i}]: n\n" for i in range(n // 25))
        ),
    ),
    "links_in_a_paragraph": ("`[a](b) ` repeated in one paragraph", lambda n: _fill("[a](b) ", n)),
    "link_dense_article": (
        "1,000-character paragraphs with ten links each",
        lambda n: _fill("[a](b) " * 10 + "x" * 930 + "\n\n", n),
    ),
    "reference_list": ("a list of links", lambda n: _fill("- [A reference](https://example.org/ref)\n", n)),
}


def _depth_lines(prefix: str, n: int, item: str = "a\n") -> str:
    lines, size, depth = [], 0, 0
    while size < n:
        line = prefix * depth + item
        lines.append(line)
        size += len(line)
        depth += 1
    return "".join(lines)


def _backticks(n: int) -> str:
    parts, size, k = [], 0, 1
    while size < n:
        part = "`" * k + "a "
        parts.append(part)
        size += len(part)
        k += 1
    return "".join(parts)


def _table(n: int) -> str:
    head = "| a | b | c |\n|---|---|---|\n"
    return head + _fill("| [x](y) | *z* | `w` |\n", n - len(head))


def _engine(name: str) -> Callable[[str], object]:
    if name == "healthlib":
        from healthlib.markup import render_document

        return render_document
    from healthlib.markup import sanitize

    if name == "markdown-it-pyrs":
        import markdown_it_pyrs

        rust = markdown_it_pyrs.MarkdownIt("commonmark").enable_many(
            ["table", "strikethrough", "footnote", "heading_anchors"]
        )
        return lambda text: sanitize(rust.render(text))
    from markdown_it import MarkdownIt
    from mdit_py_plugins.anchors import anchors_plugin
    from mdit_py_plugins.footnote import footnote_plugin

    md = (
        MarkdownIt("commonmark", {"html": True})
        .enable(["table", "strikethrough"])
        .use(footnote_plugin)
        .use(anchors_plugin, min_level=2, max_level=3)
    )
    return lambda text: sanitize(md.render(text))


def _child(engine: str, case: str, n: int, queue: multiprocessing.Queue) -> None:
    render = _engine(engine)
    text = GENERATORS[case][1](n)
    started = time.perf_counter()
    try:
        render(text)
        outcome = "ok"
    except RecursionError:
        outcome = "RecursionError"
    except Exception as error:  # the bench reports every outcome, including the refusals
        outcome = "refused" if type(error).__name__ == "MarkdownTooComplex" else type(error).__name__
    queue.put((time.perf_counter() - started, outcome))


def measure(engine: str, case: str, n: int, cap: float) -> tuple[float | None, str]:
    """Seconds to render (None past the cap) and the outcome, in a fresh child process."""
    queue: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=_child, args=(engine, case, n, queue))
    process.start()
    process.join(cap)
    if process.is_alive():
        process.kill()
        process.join()
        return None, "timeout"
    if queue.empty():
        return None, f"crashed (exit {process.exitcode})"
    return queue.get()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,200000", help="characters, comma-separated")
    parser.add_argument("--cap", type=float, default=10.0, help="seconds before a case is killed")
    parser.add_argument("--engines", default="healthlib,markdown-it-py,markdown-it-pyrs")
    parser.add_argument("--only", default="", help="comma-separated generator names (plain is always run)")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    sizes = [int(size) for size in args.sizes.split(",")]
    engines = args.engines.split(",")
    for engine in [name for name in engines if name != "healthlib"]:
        try:
            _engine(engine)
        except ImportError:
            print(f"{engine} is not installed: not measured", file=sys.stderr)
            engines.remove(engine)
    cases = ["plain", *[name for name in (args.only.split(",") if args.only else GENERATORS) if name != "plain"]]

    print(f"cap {args.cap:g} s per case; seconds (ratio to the plain article of the same size and engine)\n")
    print("| case | " + " | ".join(f"{engine} {size:,}" for engine in engines for size in sizes) + " |")
    print("|---|" + "---:|" * (len(engines) * len(sizes)))
    plain: dict[tuple[str, int], float] = {}
    for case in cases:
        cells = []
        for engine in engines:
            for size in sizes:
                seconds, outcome = measure(engine, case, size, args.cap)
                if case == "plain" and seconds:
                    plain[engine, size] = seconds
                if seconds is None:
                    cells.append(f">{args.cap:g} s" if outcome == "timeout" else outcome)
                    continue
                ratio = seconds / plain[engine, size] if plain.get((engine, size)) else 0
                note = "" if outcome == "ok" else f" {outcome}"
                cells.append(f"{seconds:.3f} ({ratio:.1f}x){note}")
        print(f"| {case} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
