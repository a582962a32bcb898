"""Flesch-Kincaid grade, SMOG grade and reading time, computed from rendered (sanitized) HTML.

Hand-written rather than taken from ``textstat``: textstat counts syllables through
hyphenation dictionaries whose results change between releases, and a grade stored on a
revision must stay reproducible. The rules are the classic ones and are tested against
hand-counted passages.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from healthlib.conf import healthlib_settings
from healthlib.html import text_blocks

FLESCH_KINCAID = (0.39, 11.8, 15.59)
# McLaughlin's SMOG formula (1969): 1.0430 * sqrt(polysyllables * 30 / sentences) + 3.1291. It counts
# words of three or more syllables, so it catches long medical words that short sentences hide from
# Flesch-Kincaid; health-literacy guidance asks for both.
SMOG = (1.0430, 30, 3.1291)
POLYSYLLABLE = 3
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’]*(?:-[A-Za-z0-9'’]+)*")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")


@dataclass(frozen=True)
class Readability:
    words: int
    sentences: int
    syllables: int
    grade: float | None
    reading_minutes: int
    polysyllables: int = 0
    smog: float | None = None


def count_syllables(word: str) -> int:
    """Syllables in one English word, by vowel groups with the usual silent-e corrections."""
    total = 0
    for part in word.lower().replace("’", "'").split("-"):
        letters = re.sub(r"[^a-z]", "", part)
        if not letters:
            total += 1 if part else 0  # a number reads as at least one syllable
            continue
        if len(letters) <= 3:
            total += 1
            continue
        stem = re.sub(r"(?:[^laeiouy]es|[^laeiouy]ed|[^laeiouy]e)$", lambda m: m.group(0)[0], letters)
        stem = re.sub(r"^y", "", stem)
        total += max(1, len(_VOWEL_GROUP.findall(stem)))
    return max(total, 1)


def measure(html: str) -> Readability:
    """Flesch-Kincaid and SMOG grades of rendered HTML. A block without end punctuation counts as one sentence."""
    words = sentences = syllables = polysyllables = 0
    for block in text_blocks(html):
        block_words = _WORD.findall(block)
        if not block_words:
            continue
        words += len(block_words)
        counts = [count_syllables(word) for word in block_words]
        syllables += sum(counts)
        polysyllables += sum(1 for n in counts if n >= POLYSYLLABLE)
        ends = len(_SENTENCE_END.findall(block))
        sentences += ends if ends and _SENTENCE_END.search(block.rstrip()[-1:] + " ") else ends + 1
    grade = smog = None
    if words:
        a, b, c = FLESCH_KINCAID
        grade = round(a * words / sentences + b * syllables / words - c, 1)
        factor, sample, base = SMOG
        smog = round(factor * math.sqrt(polysyllables * sample / sentences) + base, 1)
    per_minute = healthlib_settings.READING_WORDS_PER_MINUTE
    minutes = math.ceil(words / per_minute) if words else 0
    return Readability(words, sentences, syllables, grade, minutes, polysyllables, smog)
