"""healthlib.normalise: the one home of the one-line rule, used by the schema, the workflow and profiles."""

from __future__ import annotations

import pytest

from healthlib import workflow
from healthlib.models import WorkflowEvent
from healthlib.normalise import is_one_line, normalise_text, one_line

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
