"""healthlib.normalise: the one home of the one-line rule, used by the schema, the workflow and profiles."""

from __future__ import annotations

import unicodedata

import pytest
import regex

from healthlib import workflow
from healthlib.models import WorkflowEvent
from healthlib.normalise import is_one_line, normalise_text, one_line, single_line_clean

BREAKERS = ["\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x1f", "\x07"]


def test_normalise_text_is_nfc_with_lf_line_endings_and_trimmed():
    assert normalise_text("  Cafe\u0301\r\nline\rthree  ") == "Caf\u00e9\nline\nthree"
    with pytest.raises(TypeError):
        normalise_text(5)


@pytest.mark.parametrize("breaker", BREAKERS)
def test_what_is_one_line_refuses_one_line_makes_one_line(breaker):
    text = f"Maria{breaker}Lopez"
    assert not is_one_line(text)
    assert is_one_line(one_line(text)) and "Lopez" in one_line(text)


def test_one_line_drops_invisible_characters_and_collapses_spaces():
    assert one_line("  Ana\u202e \u200bRuiz\u2028\tMD \ufeff ") == "Ana Ruiz MD"
    assert one_line(None) == "" and one_line("") == ""
    # Invisible but not a line break: profiles do not refuse it, the record does not keep it.
    assert is_one_line("Ana\u200bRuiz")


def test_names_on_the_record_lose_invisible_characters(article, editor):
    """The site's user model is not validated by healthlib: a right-to-left override in a name would
    reverse the text after it wherever readers and reviewers see the record."""
    editor.first_name, editor.last_name = "Maria\u202e", "\u200bLopez\u2066"
    editor.save()
    workflow.submit(article, editor)
    assert WorkflowEvent.objects.get(action="healthlib.submit").actor_name == "Maria Lopez"


# ---------------------------------------------------------------- bad input at the limits: every code point


def _invisible_by_property(char: str) -> bool:
    """The oracle, from the Unicode data of both `unicodedata` and `regex` (their versions differ)."""
    return (
        unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}
        or regex.match(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]", char) is not None
        or 0xE0000 <= ord(char) <= 0xE007F  # the Tags block, assigned or not
    )


def test_every_invisible_code_point_is_dropped_and_every_other_kept():
    """The whole property set, code point by code point, each between two letters (no joining context)."""
    every_code_point = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and cp != 0x0A]
    invisible_chars = [char for char in every_code_point if _invisible_by_property(char)]
    spaces = {"\t", "\u2028", "\u2029"}
    assert len(invisible_chars) > 4000 and {"\u200e", "\u00ad", "\u034f", "\u3164", "\U000e0041"} <= set(
        invisible_chars
    )
    cleaned = single_line_clean("".join(f"x{char}" for char in invisible_chars) + "x")
    expected = "".join("x " if char in spaces else "x" for char in invisible_chars) + "x"
    assert cleaned == expected, sorted({f"U+{ord(char):04X}" for char in cleaned} - {"U+0078", "U+0020"})
    invisible = set(invisible_chars)
    visible = "".join(f"x{char}" for char in every_code_point if char not in invisible) + "x"
    assert single_line_clean(visible) == unicodedata.normalize("NFC", visible)


@pytest.mark.parametrize(
    "text",
    [
        "\u0915\u094d\u200d\u0937",
        "\u0915\u094d\u200c\u0937",
        "\u0628\u064e\u200c\u0628",
        "\U0001f469\U0001f3fd\u200d\u2695",
    ],
    ids=["ZWJ after virama", "ZWNJ after virama", "ZWNJ between joining letters", "ZWJ in an emoji sequence"],
)
def test_joiners_are_kept_in_their_joining_context_only(text):
    assert single_line_clean(text) == text
    # The same joiner between Latin letters only makes an equal-looking title differ.
    joiner = "\u200d" if "\u200d" in text else "\u200c"
    assert single_line_clean(f"Can{joiner}cer") == "Cancer"
