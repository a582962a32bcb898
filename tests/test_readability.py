import pytest

from healthlib.readability import count_syllables, measure


@pytest.mark.parametrize(
    "word, syllables",
    [("the", 1), ("cat", 1), ("table", 2), ("makes", 1), ("walked", 1), ("cancer", 2), ("doctor", 2),
     ("immunotherapy", 6), ("side-effects", 3), ("2024", 1), ("people", 2), ("cytokine", 3)],
)  # fmt: skip
def test_syllables(word, syllables):
    assert count_syllables(word) == syllables


def test_grade_matches_a_hand_computed_passage():
    # 13 words, 4 sentences (two list items without full stops count as sentences), 16 syllables:
    # 0.39 * 13/4 + 11.8 * 16/13 - 15.59 = 1.2675 + 14.5231 - 15.59 = 0.2006 -> 0.2
    result = measure("<p>The cat sat on the mat. It was happy!</p><ul><li>One item</li><li>Two items.</li></ul>")
    assert (result.words, result.sentences, result.syllables) == (13, 4, 16)
    assert result.grade == 0.2
    assert result.reading_minutes == 1


def test_harder_text_scores_higher():
    easy = measure("<p>Your care team will help you. Ask them what to expect.</p>")
    hard = measure(
        "<p>Immunotherapeutic interventions potentiate endogenous antitumor immunological responses "
        "through pharmacological inhibition of inhibitory checkpoint molecules.</p>"
    )
    assert easy.grade < 6 < 18 < hard.grade


def test_empty_text():
    assert measure("").grade is None


def test_smog_matches_a_hand_computed_passage():
    # 3 sentences; words of 3+ syllables: "immunotherapy" (6), "oncologist" (4); "immune" has 2.
    # 1.0430 * sqrt(2 * 30 / 3) + 3.1291 = 1.0430 * 4.4721 + 3.1291 = 4.6644 + 3.1291 = 7.7935 -> 7.8
    result = measure("<p>Immunotherapy can help. It uses the immune system.</p><ul><li>Ask your oncologist</li></ul>")
    assert (result.sentences, result.polysyllables) == (3, 2)
    assert result.smog == 7.8


def test_smog_rises_with_long_words_that_flesch_kincaid_forgives():
    plain = measure("<p>Your team can help. Ask what to do. Call if you feel sick.</p>")
    medical = measure("<p>Hypophysitis is uncommon. Pneumonitis is serious. Thyroiditis is treatable.</p>")
    assert plain.smog == 3.1
    assert medical.smog > 10


def test_empty_text_has_no_smog():
    assert measure("").smog is None
