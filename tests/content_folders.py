"""A content folder on disk for tests: sample files, bad ones with the line each problem is on, ``make_folder``."""

from __future__ import annotations

from pathlib import Path

import pytest

from healthlib.content_files import ContentFileError, read_folder

TOPICS = """\
- slug: treatment-types
  name: Types of immunotherapy
  description: The main kinds of immunotherapy.
"""


ARTICLE = """\
---
slug: checkpoint-inhibitors
type: treatment
topics: [treatment-types]
review_interval_days: 180
title: Checkpoint inhibitors
summary: Drugs that take the brakes off your immune system.
references:
  - title: Immune checkpoint inhibitors
    publisher: National Cancer Institute
    url: https://www.cancer.gov/about-cancer/treatment/types/immunotherapy/checkpoint-inhibitors
    year: 2022
---
## Overview

These drugs help T cells attack cancer.
"""


T_CELL = """\
---
slug: t-cell
term: T cell
aliases: [T lymphocyte]
pronunciation: TEE sel
short_definition: A white blood cell that finds and kills infected or cancer cells.
professional_definition: A lymphocyte that matures in the thymus.
related_terms: [pd-1]
---
T cells are a kind of white blood cell.
"""


PD_1 = """\
---
slug: pd-1
term: PD-1
aliases: []
pronunciation: PEE-dee-wun
short_definition: A checkpoint protein on T cells.
professional_definition: |
  Programmed cell death protein 1.
  Blocked by pembrolizumab.
related_terms: [t-cell]
---
PD-1 is a brake on T cells.
"""


def make_folder(root: Path, *, topics: str | None = TOPICS, articles=None, glossary=None) -> Path:
    """A content folder; ``articles``/``glossary`` map file names to text (or bytes)."""
    articles = {"checkpoint-inhibitors.md": ARTICLE} if articles is None else articles
    glossary = {"t-cell.md": T_CELL, "pd-1.md": PD_1} if glossary is None else glossary
    root.mkdir(parents=True, exist_ok=True)
    if topics is not None:
        (root / "topics.yaml").write_text(topics, encoding="utf-8")
    for sub, files in (("articles", articles), ("glossary", glossary)):
        (root / sub).mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = root / sub / name
            path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return root


def problem_of(folder: Path, **kwargs) -> ContentFileError:
    with pytest.raises(ContentFileError) as info:
        read_folder(folder, **kwargs)
    return info.value


BAD_ARTICLES = {
    "bad front matter YAML": (ARTICLE.replace("title: Checkpoint inhibitors", "title: [unclosed"), 7, "not valid YAML"),
    "no opening ---": (ARTICLE.removeprefix("---\n"), 1, "must start with a line"),
    "front matter never closed": (ARTICLE.replace("---\n## Overview", "## Overview"), 1, "never closed"),
    "unknown field": (ARTICLE.replace("title: Checkpoint", "author: Dr. X\ntitle: Checkpoint"), 6, "Unknown field “author”"),
    "body as a field": (ARTICLE.replace("title: Checkpoint", "body: text\ntitle: Checkpoint"), 6, "not a field"),
    "field twice": (ARTICLE.replace("title: Checkpoint", "summary: again\ntitle: Checkpoint"), 8, "appears twice"),
    "missing required field": (ARTICLE.replace("title: Checkpoint inhibitors\n", ""), 1, "“title” is missing"),
    "empty title": (ARTICLE.replace("title: Checkpoint inhibitors", "title: ''"), 6, "title: This field is required"),
    "unknown topic": (ARTICLE.replace("[treatment-types]", "[treatment-types, astrology]"), 4, "Unknown topic “astrology”"),
    "unknown article type": (ARTICLE.replace("type: treatment", "type: miracle"), 3, "Unknown article type"),
    "bad review interval": (ARTICLE.replace("180", "0"), 5, "review_interval_days"),
    "invalid URL": (ARTICLE.replace("url: https://www.cancer.gov/", "url: not-a-url/"), 11, "not a valid http(s) address"),
    "bad reference year": (ARTICLE.replace("year: 2022", "year: '2022'"), 12, "Must be a year"),
    "slug/filename mismatch": (ARTICLE.replace("slug: checkpoint-inhibitors", "slug: checkpoints"), 2, "does not match the file name"),
    "bad slug": (ARTICLE.replace("slug: checkpoint-inhibitors", "slug: Checkpoint inhibitors!"), 2, "lowercase letters"),
    "front matter not a mapping": ("---\n- a list\n---\nbody\n", 2, "“field: value” lines"),
}  # fmt: skip
