"""Time glossary linking of a 5,000-word article against 10, 1,000 and 10,000 generated terms.

Run: .venv/bin/python bench/glossary_linker.py [--db] [--tokenizers]
(--db adds an end-to-end run against 10,000 terms stored in an in-memory SQLite database;
--tokenizers compares the linker's regex tokenizer with HTML parsers, see :func:`tokenizers`.)
Prints the automaton build time and the median per-article link time (including the final sanitize),
as CPU time of this process.
"""

import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from healthlib.glossary_automaton import Glossary, Term  # noqa: E402
from healthlib.markup import render_document  # noqa: E402

# CPU time of this process: on a shared, busy machine wall-clock time mostly measures the queue.
clock = time.process_time
random.seed(4)
SYLLABLES = ["im", "mu", "no", "cy", "to", "ki", "ne", "lym", "pho", "ma", "ther", "a", "py", "an", "ti", "bo", "dy"]
COMMON = "the immune system helps your body fight cancer and infection with cells that".split()


def word() -> str:
    return "".join(random.choice(SYLLABLES) for _ in range(random.randint(2, 4)))


def terms(n: int) -> list[Term]:
    out = []
    for i in range(n):
        name = " ".join(word() for _ in range(random.randint(1, 3)))
        aliases = (word().upper(),) if i % 5 == 0 else ()
        out.append(Term(f"term-{i}", name, aliases, f"Definition of {name}."))
    return out


FILLER = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split()


def article(mentioned: list[Term], *, shared_syllables: bool, words: int = 5000) -> str:
    """5,000 words in sections. ``shared_syllables``: filler words are built from the same syllables as
    the generated terms (adversarial: many words start like a term); otherwise plain filler."""
    names = [t.term for t in mentioned]
    paragraphs, count = [], 0
    while count < words:
        sentence = [
            random.choice(COMMON) if random.random() < 0.7 else (word() if shared_syllables else random.choice(FILLER))
            for _ in range(random.randint(8, 20))
        ]
        if random.random() < 0.3:
            sentence.append(random.choice(names) + "s")
        paragraphs.append(" ".join(sentence).capitalize() + ".")
        count += len(sentence)
    body = []
    for i in range(0, len(paragraphs), 8):
        body.append(f"## Section {i}\n\n" + "\n\n".join(paragraphs[i : i + 8]))
    return render_document("\n\n".join(body)).html


def main() -> None:
    base_terms = terms(10_000)
    glossaries = {}
    for n in (10, 1_000, 10_000):
        started = clock()
        glossaries[n] = Glossary.build(base_terms[:n], url_pattern="/health/glossary/{slug}/")
        print(f"{n:>6} terms: automaton built in {(clock() - started) * 1000:.1f} ms")
    for label, html in (
        ("article mentioning the same 10 terms, plain filler", article(base_terms[:10], shared_syllables=False)),
        ("adversarial: filler words built from the terms' syllables", article(base_terms[:10], shared_syllables=True)),
    ):
        print(f"{label}: {len(html.split())} words, {len(html)} chars of HTML")
        for n, glossary in glossaries.items():
            timings = []
            for _ in range(40):
                started = clock()
                linked = glossary.link(html).html
                timings.append(clock() - started)
            links = linked.count('class="glossary-term"')
            print(
                f"  {n:>6} terms: link median {statistics.median(timings) * 1000:6.2f} ms, "
                f"min {min(timings) * 1000:6.2f} ms, {links} links"
            )


def with_database(n: int = 10_000) -> None:
    """End to end against the database: the version check, a cold build, a warm link_article_html."""
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from healthlib import glossary_linker
    from healthlib.models import GlossaryTerm, Revision

    call_command("migrate", verbosity=0)
    now = timezone.now()
    with transaction.atomic():
        first = GlossaryTerm.objects.create(slug="term-first", title="first")
        revision = Revision.objects.create(item=first, number=1, title="first", content={}, content_hash="x")
        for term in terms(n):
            GlossaryTerm.objects.create(
                slug=term.slug, title=term.term, live_revision=revision, live_term=term.term,
                live_aliases=list(term.aliases), live_short_definition=term.short_definition, last_published_at=now,
            )  # fmt: skip
    html = article(terms(10), shared_syllables=False)
    for label, run in (
        ("glossary_version() (1 query)", glossary_linker.glossary_version),
        ("get_glossary() cold: load + build", lambda: (setattr(glossary_linker, "_cached", None), glossary_linker.get_glossary())),
        ("link_article_html() warm: version check + link", lambda: glossary_linker.link_article_html(html)),
    ):  # fmt: skip
        timings = []
        for _ in range(5 if "cold" in label else 30):
            started = clock()
            run()
            timings.append(clock() - started)
        print(f"{n} terms in SQLite, {label}: median {statistics.median(timings) * 1000:.2f} ms")


# The linker's walk before it used selectolax: one regular expression split sanitized HTML into tags and
# text runs (kept here to measure against, see tokenizers()).
_TAG = re.compile(r'<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>"]|"[^"]*")*)>')


def _regex_tokenize(html: str) -> list[tuple[str, str, str, str]]:
    tokens = []
    position = 0
    for match in _TAG.finditer(html):
        if match.start() > position:
            tokens.append(("text", "", "", html[position : match.start()]))
        tokens.append(("end" if match.group(1) else "start", match.group(2).lower(), match.group(3), match.group(0)))
        position = match.end()
    if position < len(html):
        tokens.append(("text", "", "", html[position:]))
    return tokens


def tokenizers(repeat: int = 60) -> None:
    """What walking the HTML costs: the regex tokenizer the linker used before, selectolax (what it uses), lxml.

    The linker visits every text node outside the excluded elements and serializes the document again.
    Measured here without the linking itself (the same whichever way the document is walked): split +
    join for the tokenizer; parse + read every text node + serialize for selectolax (lexbor) and lxml.
    """
    from selectolax.lexbor import LexborHTMLParser

    try:
        import lxml.html
    except ImportError:  # not a dev dependency: measured when installed
        lxml = None
    html = article(terms(10), shared_syllables=False)

    def regex() -> str:
        return "".join(raw for _kind, _name, _attrs, raw in _regex_tokenize(html))

    def selectolax() -> str:
        tree = LexborHTMLParser(html, is_fragment=True)
        for node in tree.css("*"):
            for child in node.iter(include_text=True):
                if child.is_text_node:
                    child.text_content  # noqa: B018 (read each text, as a linker must)
        return tree.html

    def with_lxml() -> str:
        fragments = lxml.html.fragments_fromstring(html)
        for fragment in fragments:
            if isinstance(fragment, str):
                continue
            for element in fragment.iter():
                element.text, element.tail  # noqa: B018
        return "".join(f if isinstance(f, str) else lxml.html.tostring(f, encoding="unicode") for f in fragments)

    assert regex() == html
    runs = [
        ("regex tokenizer: split + join", regex),
        ("selectolax (lexbor): parse + text nodes + serialize", selectolax),
    ]
    if lxml is not None:
        runs.append(("lxml: parse + text nodes + serialize", with_lxml))
    print(f"walking a {len(html.split())}-word article ({len(html)} chars of HTML), median of {repeat}:")
    for label, run in runs:
        timings = []
        for _ in range(repeat):
            started = clock()
            run()
            timings.append(clock() - started)
        print(f"  {label}: {statistics.median(timings) * 1000:6.2f} ms")


if __name__ == "__main__":
    if "--tokenizers" in sys.argv:
        tokenizers()
    else:
        main()
    if "--db" in sys.argv:
        with_database()
