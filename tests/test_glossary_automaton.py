"""The glossary automaton: the linking rules, and properties checked with hypothesis (no database)."""

from __future__ import annotations

import html as html_lib
import re
from html.parser import HTMLParser
from io import StringIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthlib import glossary_automaton
from healthlib.glossary_automaton import EXCLUDED_TAGS, Glossary, Term, name_variants
from healthlib.markup import render_document, sanitize

URL = "/health/glossary/{slug}/"
#: Elements without an end tag (for the reference walker below).
VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})


def glossary(*terms: tuple) -> Glossary:
    """terms: (slug, term, aliases, short definition)."""
    return Glossary.build([Term(slug, term, tuple(aliases), d) for slug, term, aliases, d in terms], url_pattern=URL)


GLOSSARY = glossary(
    ("t-cell", "T cell", ["T lymphocyte"], "A white blood cell that fights germs."),
    ("car-t", "CAR T-cell therapy", ["CAR-T"], "T cells changed in a lab to find cancer."),
    ("antibody", "antibody", [], "A protein that sticks to germs."),
    ("cytokine", "cytokine", [], "A messenger protein."),
    ("therapy", "therapy", [], "A treatment."),
    ("bat", "BAT", [], "Brown adipose tissue."),
    ("pd-1", "PD-1", [], "A checkpoint protein on T cells."),
    ("hpv", "HPV", ["human papillomavirus"], "A common virus."),
    ("metastasis", "metastasis", [], "Cancer that has spread."),
)


def link(glossary: Glossary, doc: str, **kwargs) -> str:
    """The linked HTML, after checking that the slugs reported with it are the ones it links to."""
    linked = glossary.link(doc, **kwargs)
    assert list(linked.slugs) == list(dict.fromkeys(re.findall(r'href="/health/glossary/([^/"?#]+)/', linked.html)))
    return linked.html


def html(markdown: str) -> str:
    return render_document(markdown).html


def links(linked: str) -> list[tuple[str, str]]:
    """(href, text) of each glossary link, in order."""
    return re.findall(r'<a class="glossary-term" href="([^"]*)"[^>]*>([^<]*)</a>', linked)


def linked_slugs(linked: str) -> list[str]:
    return [href.split("/")[-2] for href, _text in links(linked)]


# ---------------------------------------------------------------- the rules


def test_markup_links_the_term_page_with_an_accessible_inline_definition():
    out = link(GLOSSARY, html("Your T cells fight germs."))
    assert (
        '<a class="glossary-term" href="/health/glossary/t-cell/" aria-describedby="glossary-definition-t-cell" '
        'rel="noopener noreferrer">T cells</a><span class="glossary-definition" role="tooltip" '
        'id="glossary-definition-t-cell">A white blood cell that fights germs.</span>'
    ) in out
    assert sanitize(out) == out  # the linker's output is the sanitizer's output


def test_definition_text_is_escaped():
    g = glossary(("x", "cytokine", [], 'A <script>alert("x")</script> & more'))
    out = link(g, html("A cytokine."))
    assert "<script>" not in out
    assert "&lt;script&gt;" in out and "&amp; more" in out


def test_term_without_a_short_definition_links_without_a_description():
    out = link(glossary(("x", "cytokine", [], "")), html("A cytokine."))
    assert links(out) == [("/health/glossary/x/", "cytokine")]
    assert "aria-describedby" not in out and "glossary-definition" not in out


def test_first_occurrence_only_counting_all_names_of_a_term():
    out = link(GLOSSARY, html("A T lymphocyte is a T cell. More T cells.\n\nAnother T lymphocyte."))
    assert links(out) == [("/health/glossary/t-cell/", "T lymphocyte")]


def test_longest_match_wins():
    out = link(GLOSSARY, html("CAR T-cell therapy uses your own T cells."))
    assert links(out) == [
        ("/health/glossary/car-t/", "CAR T-cell therapy"),
        ("/health/glossary/t-cell/", "T cells"),
    ]
    assert "therapy" not in linked_slugs(out)


def test_a_longer_name_consumes_its_span_even_when_its_term_is_already_linked():
    out = link(GLOSSARY, html("CAR T-cell therapy. Then CAR T-cell therapy again, and a therapy."))
    assert linked_slugs(out) == ["car-t", "therapy"]
    assert links(out)[1] == ("/health/glossary/therapy/", "therapy")


@pytest.mark.parametrize("text", ["a rebate", "bats", "acytokine", "cytokine2", "T cellular", "pre-BATch"])
def test_whole_words_only(text):
    assert links(link(GLOSSARY, html(text))) == []


def test_punctuation_is_a_word_boundary():
    out = link(GLOSSARY, html("(cytokine), “antibody”; PD-1."))
    assert linked_slugs(out) == ["cytokine", "antibody", "pd-1"]


def test_normal_words_are_case_insensitive():
    out = link(GLOSSARY, html("Antibody and CYTOKINE and t Cell."))
    assert links(out) == [
        ("/health/glossary/antibody/", "Antibody"),
        ("/health/glossary/cytokine/", "CYTOKINE"),
        ("/health/glossary/t-cell/", "t Cell"),
    ]


@pytest.mark.parametrize("text", ["bat", "Bat", "pd-1", "Pd-1", "hpv"])
def test_abbreviations_are_case_sensitive(text):
    assert links(link(GLOSSARY, html(f"The {text} here."))) == []


@pytest.mark.parametrize(
    "text, slug",
    [
        ("T cells", "t-cell"),
        ("T-cells", "t-cell"),
        ("antibodies", "antibody"),
        ("Antibodies", "antibody"),
        ("cytokines", "cytokine"),
        ("therapies", "therapy"),
        ("metastases", "metastasis"),
        ("BATs", "bat"),
        ("T lymphocytes", "t-cell"),
    ],
)
def test_plurals_link_to_the_singular_term(text, slug):
    assert links(link(GLOSSARY, html(f"About {text} today."))) == [(f"/health/glossary/{slug}/", text)]


def test_name_variants():
    assert name_variants("T cell") == {"T cell", "T-cell", "T cells", "T-cells"}
    assert name_variants("therapy") == {"therapy", "therapies"}
    assert name_variants("PD-1") == {"PD-1", "PD 1"}  # no plural after a digit


@pytest.mark.parametrize(
    "markdown",
    [
        "## T cells\n\ntext",
        "### About antibodies\n\ntext",
        "[T cells](https://example.org/)",
        "`T cell`",
        "```\nT cells\n```",
        "<dfn>T cell</dfn>",
        "<abbr title='x'>HPV</abbr>",
        "<kbd>cytokine</kbd>",
    ],
)
def test_never_inside_headings_links_code_or_definitions(markdown):
    assert links(link(GLOSSARY, html(markdown))) == []


def test_excluded_element_does_not_use_up_the_first_occurrence():
    out = link(GLOSSARY, html("## T cells\n\n`T cell` and [T cell](https://example.org/), then T cells."))
    assert links(out) == [("/health/glossary/t-cell/", "T cells")]
    assert "<h2" in out and 'id="t-cells">T cells</h2>' in out


def test_never_inside_an_existing_inline_definition():
    g = glossary(("a", "antibody", [], "Works with a cytokine."), ("c", "cytokine", [], "A messenger."))
    out = link(g, html("An antibody."))
    assert linked_slugs(out) == ["a"]
    assert link(g, out) == out


def test_the_terms_own_page_is_never_linked_to_itself():
    out = link(GLOSSARY, html("A T cell works with an antibody."), exclude_slug="t-cell")
    assert linked_slugs(out) == ["antibody"]


def test_idempotent():
    once = link(GLOSSARY, html("CAR T-cell therapy uses T cells, antibodies & cytokines. PD-1 and HPV. T cells."))
    assert len(links(once)) == 6
    assert link(GLOSSARY, once) == once


def test_terms_already_linked_are_not_linked_again():
    already = sanitize('<p>Then T cells.</p><p><a class="glossary-term" href="/health/glossary/t-cell/">T cell</a></p>')
    assert links(link(GLOSSARY, already)) == [("/health/glossary/t-cell/", "T cell")]


def test_entities_and_nbsp_survive():
    out = link(GLOSSARY, html("Fish &amp; chips, 1 &lt; 2, an antibody\u00a0test, T\u00a0cells."))
    assert "Fish &amp; chips, 1 &lt; 2" in out
    assert linked_slugs(out) == ["antibody", "t-cell"]


def test_matches_are_found_in_lists_tables_and_emphasis():
    out = link(GLOSSARY, html("- an *antibody*\n\n| a | b |\n|---|---|\n| cytokine | **HPV** |"))
    assert linked_slugs(out) == ["antibody", "cytokine", "hpv"]


def test_empty_glossary_and_empty_html():
    empty = Glossary.build([], url_pattern=URL)
    assert link(empty, html("T cells")) == html("T cells")
    assert link(GLOSSARY, "") == ""


def test_unicode_text_keeps_offsets():
    # "İ".lower() is two characters; offsets after it must still be right.
    out = link(GLOSSARY, html("İİ ﬁ an antibody."))
    assert links(out) == [("/health/glossary/antibody/", "antibody")]


def test_strip_definitions_leaves_the_text():
    out = link(GLOSSARY, html("Your T cells."))
    assert glossary_automaton.plain_article_text(out) == "Your T cells ."


# ---------------------------------------------------------------- properties

WORDS = [
    "T", "cell", "cells", "CAR", "T-cell", "therapy", "therapies", "antibody", "antibodies", "Antibody",
    "cytokine", "PD-1", "pd-1", "BAT", "bat", "rebate", "HPV", "the", "and", "lymphocyte", "&", "<", "1", "é",
]  # fmt: skip
PROPERTY_TERMS = [
    ("t-cell", "T cell", ["T lymphocyte"], "A white blood cell."),
    ("car-t", "CAR T cell therapy", [], "Engineered T cells."),
    ("cell", "cell", [], "The unit of life."),
    ("antibody", "antibody", [], "A protein."),
    ("therapy", "therapy", [], "A treatment."),
    ("cytokine", "cytokine", [], "A messenger."),
    ("bat", "BAT", [], "Brown fat."),
    ("pd-1", "PD-1", [], "A checkpoint."),
    ("hpv", "HPV", [], "A virus."),
]
PROPERTY_GLOSSARY = glossary(*PROPERTY_TERMS)

texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)
inline = st.recursive(
    texts.map(html_lib.escape),
    lambda children: st.one_of(
        st.tuples(st.sampled_from(["em", "strong", "span", "code", "dfn", "abbr"]), children).map(
            lambda t: f"<{t[0]}>{t[1]}</{t[0]}>"
        ),
        children.map(lambda c: f'<a href="https://example.org/">{c}</a>'),
        st.lists(children, min_size=2, max_size=3).map(" ".join),
    ),
    max_leaves=6,
)
blocks = st.lists(
    st.one_of(
        inline.map(lambda c: f"<p>{c}</p>"),
        st.tuples(st.sampled_from(["h2", "h3"]), inline).map(lambda t: f"<{t[0]}>{t[1]}</{t[0]}>"),
        texts.map(lambda t: f"<pre><code>{html_lib.escape(t)}</code></pre>"),
        st.lists(inline, min_size=1, max_size=3).map(
            lambda items: "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
        ),
        inline.map(lambda c: f"<blockquote><p>{c}</p></blockquote>"),
    ),
    min_size=1,
    max_size=5,
).map(lambda parts: sanitize("\n".join(parts)))
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class _Walker(HTMLParser):
    """Checks nesting and collects (text, excluded?) runs, skipping the inline definitions."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.errors: list[str] = []
        self.runs: list[tuple[str, bool, bool]] = []  # (text, eligible, inside a glossary link)
        self.glossary_links_in_excluded = 0

    def _excluded(self) -> bool:
        return any(flag for _tag, flag in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "a" and "glossary-term" in classes and self._excluded():
            self.glossary_links_in_excluded += 1
        if tag in VOID_TAGS:
            return
        self.stack.append((tag, tag in EXCLUDED_TAGS or "glossary-definition" in classes))

    def handle_endtag(self, tag):
        if tag in VOID_TAGS:
            return
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack}")
            return
        self.stack.pop()

    def handle_data(self, data):
        in_definition = any(t == "span" and flag for t, flag in self.stack)
        if not in_definition:
            self.runs.append((data, not self._excluded(), False))

    @classmethod
    def walk(cls, markup: str) -> _Walker:
        walker = cls()
        walker.feed(markup)
        walker.close()
        if walker.stack:
            walker.errors.append(f"unclosed {walker.stack}")
        return walker


def _visible_text(markup: str) -> str:
    return "".join(text for text, _eligible, _link in _Walker.walk(markup).runs)


@PROPERTY_SETTINGS
@given(blocks)
def test_property_output_is_well_formed_and_keeps_the_text(doc):
    out = link(PROPERTY_GLOSSARY, doc)
    walker = _Walker.walk(out)
    assert walker.errors == []
    assert sanitize(out) == out
    assert _visible_text(out) == _visible_text(doc)


@PROPERTY_SETTINGS
@given(blocks)
def test_property_never_links_inside_excluded_elements(doc):
    out = link(PROPERTY_GLOSSARY, doc)
    assert _Walker.walk(out).glossary_links_in_excluded == 0
    for tag in ("h2", "h3", "code", "pre", "dfn", "abbr"):
        for inside in re.findall(rf"<{tag}\b[^>]*>(.*?)</{tag}>", out, re.DOTALL):
            assert "glossary-term" not in inside


@PROPERTY_SETTINGS
@given(blocks)
def test_property_idempotent(doc):
    once = link(PROPERTY_GLOSSARY, doc)
    assert link(PROPERTY_GLOSSARY, once) == once


@PROPERTY_SETTINGS
@given(blocks)
def test_property_each_term_at_most_once(doc):
    slugs = linked_slugs(link(PROPERTY_GLOSSARY, doc))
    assert len(slugs) == len(set(slugs))


def _reference_link(doc: str) -> str:
    """An independent, slow implementation: per eligible text run, a regex alternation with the longest
    names first finds the leftmost-longest whole-word matches; the first match of each term is linked."""
    variants = []
    for index, (_slug, term, aliases, _d) in enumerate(PROPERTY_TERMS):
        for name in (term, *aliases):
            exact = glossary_automaton.is_abbreviation(name)
            for variant in name_variants(name):
                pattern = re.escape(variant).replace(r"\ ", r"[\s\-]").replace(r"\-", r"[\s\-]")
                variants.append((len(variant), pattern if exact else f"(?i:{pattern})", index))
    variants.sort(key=lambda v: -v[0])
    regex = re.compile(
        "(?<!\\w)(?:" + "|".join(f"(?P<t{i}>{p})" for i, (_n, p, _t) in enumerate(variants)) + ")(?!\\w)"
    )
    done: set[int] = set()
    out = StringIO()

    class Rebuild(_Walker):
        def handle_starttag(self, tag, attrs):
            super().handle_starttag(tag, attrs)
            out.write(self.get_starttag_text())

        def handle_endtag(self, tag):
            super().handle_endtag(tag)
            out.write(f"</{tag}>")

        def handle_data(self, data):
            if self._excluded() or any(t == "span" and flag for t, flag in self.stack):
                out.write(html_lib.escape(data, quote=False))
                return
            position = 0
            for match in regex.finditer(data):
                index = variants[int(match.lastgroup[1:])][2]
                if index in done:
                    continue
                done.add(index)
                slug, _term, _aliases, definition = PROPERTY_TERMS[index]
                out.write(html_lib.escape(data[position : match.start()], quote=False))
                out.write(
                    f'<a class="glossary-term" href="{URL.format(slug=slug)}" aria-describedby="glossary-definition-{slug}">'
                    f"{html_lib.escape(match.group(0), quote=False)}</a>"
                    f'<span class="glossary-definition" role="tooltip" id="glossary-definition-{slug}">{definition}</span>'
                )
                position = match.end()
            out.write(html_lib.escape(data[position:], quote=False))

    parser = Rebuild()
    parser.feed(doc)
    parser.close()
    return sanitize(out.getvalue())


@PROPERTY_SETTINGS
@given(blocks)
def test_property_matches_the_reference_first_occurrence_longest_match(doc):
    assert link(PROPERTY_GLOSSARY, doc) == _reference_link(doc)


def test_reference_agrees_on_a_known_case():
    doc = sanitize("<p>CAR T cell therapy and T cells and a cell</p><h2>antibody</h2><p>Antibodies</p>")
    out = link(PROPERTY_GLOSSARY, doc)
    assert linked_slugs(out) == ["car-t", "t-cell", "cell", "antibody"]
    assert out == _reference_link(doc)
