"""Reading a content folder: every file checked, every problem reported with its file and line."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from healthlib.content_files.front_matter import ContentFileError, FileReader, Problem
from healthlib.content_schema import clean_article_content, clean_term_content
from healthlib.exceptions import InvalidContent
from healthlib.models import ArticleType
from healthlib.normalise import normalise_text

TOPICS_FILE = "topics.yaml"
ARTICLES_DIR = "articles"
GLOSSARY_DIR = "glossary"
ARTICLE_KEYS = ("slug", "type", "topics", "review_interval_days", "title", "summary", "references")
ARTICLE_REQUIRED = ("slug", "type", "title")
TERM_KEYS = ("slug", "term", "aliases", "pronunciation", "short_definition", "professional_definition", "related_terms")
TERM_REQUIRED = ("slug", "term", "short_definition")
TOPIC_KEYS = ("slug", "name", "description")


# ---------------------------------------------------------------- what a folder holds


@dataclass
class TopicEntry:
    slug: str
    name: str
    description: str
    path: Path | None = None
    line: int | None = None


@dataclass
class ArticleFile:
    slug: str
    article_type: str
    topics: list[str]
    review_interval_days: int | None
    content: dict[str, Any]
    path: Path | None = None


@dataclass
class TermFile:
    slug: str
    content: dict[str, Any]
    path: Path | None = None


@dataclass
class ContentFolder:
    topics: list[TopicEntry] = field(default_factory=list)
    articles: list[ArticleFile] = field(default_factory=list)
    terms: list[TermFile] = field(default_factory=list)


def _parse_files(paths: list[Path], kind: str, keys, required, problems: list[Problem]) -> list[tuple]:
    """(reader, front matter, body, slug) of every file, with duplicate slugs and misnamed files reported."""
    parsed = []
    for path in paths:
        reader = FileReader(path, problems)
        result = reader.parse_item(kind, keys, required)
        if result is not None:
            parsed.append((reader, *result, reader.slug(result[0])))
    by_slug: dict[str, list[FileReader]] = {}
    for reader, _data, _body, slug in parsed:
        if slug:
            by_slug.setdefault(slug, []).append(reader)
    for slug, readers in by_slug.items():
        # The file named after the slug keeps it; every other file claiming it is the duplicate.
        owner = next((r for r in readers if r.path.name == f"{slug}.md"), readers[0])
        for reader in readers:
            if reader is not owner:
                reader.add(
                    reader.lines.get("slug"),
                    _("Duplicate slug “%(slug)s”: %(other)s has it too.") % {"slug": slug, "other": owner.path},
                )
            elif reader.path.name != f"{slug}.md":
                reader.add(
                    reader.lines.get("slug"),
                    _("The slug “%(slug)s” does not match the file name; name the file “%(slug)s.md”.")
                    % {"slug": slug},
                )
    return parsed


def md_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == ".md" and not p.name.startswith(".") and p.is_file())


def _read_topics(path: Path, problems: list[Problem]) -> list[TopicEntry]:
    if not path.exists():
        return []
    reader = FileReader(path, problems)
    text = reader.read_text()
    if text is None:
        return []
    data = reader.load_yaml(text, 1)
    if reader.failed:
        return []
    if data is None:
        return []
    if not isinstance(data, list):
        reader.add(1, _("topics.yaml must be a list of topics, each with a slug, name and description."))
        return []
    topics: list[TopicEntry] = []
    slugs: set[str] = set()
    names: set[str] = set()
    for index, raw in enumerate(data):
        line = reader.lines.get(f"[{index}]")
        if not isinstance(raw, dict):
            reader.add(line, _("Each topic needs a slug, name and description."))
            continue
        for key in raw:
            if key not in TOPIC_KEYS:
                reader.add(
                    reader.lines.get(f"[{index}].{key}", line),
                    _("Unknown field “%(key)s”. The fields are: %(allowed)s.")
                    % {"key": key, "allowed": ", ".join(TOPIC_KEYS)},
                )
        slug, name, description = raw.get("slug"), raw.get("name"), raw.get("description") or ""
        if not isinstance(slug, str) or not re.fullmatch(r"[-a-zA-Z0-9_]{1,100}", slug):
            reader.add(line, _("The topic's slug must be letters, digits and hyphens (at most 100 characters)."))
            continue
        if not isinstance(name, str) or not normalise_text(name) or len(name) > 100:
            reader.add(line, _("The topic “%(slug)s” needs a name of at most 100 characters.") % {"slug": slug})
            continue
        if not isinstance(description, str):
            reader.add(line, _("The topic's description must be text."))
            continue
        name, description = normalise_text(name), normalise_text(description)
        if slug in slugs or name in names:
            reader.add(line, _("Duplicate topic “%(slug)s”.") % {"slug": slug})
            continue
        slugs.add(slug)
        names.add(name)
        topics.append(TopicEntry(slug, name, description, path, line))
    return topics


def read_folder(
    folder: str | Path, *, known_topics: Iterable[str] = (), known_terms: Iterable[str] = ()
) -> ContentFolder:
    """Read and check every file of a content folder; raise :class:`ContentFileError` listing all problems.

    ``known_topics`` and ``known_terms`` are slugs that exist already (in the database) and so
    may be named by articles and terms besides those in the folder.
    """
    folder = Path(folder)
    problems: list[Problem] = []
    if not folder.is_dir():
        raise ContentFileError([Problem(folder, None, _("No such folder."))])
    result = ContentFolder(topics=_read_topics(folder / TOPICS_FILE, problems))
    topic_slugs = {t.slug for t in result.topics} | set(known_topics)

    parsed_terms = _parse_files(md_files(folder / GLOSSARY_DIR), "glossary term", TERM_KEYS, TERM_REQUIRED, problems)
    term_slugs = {slug for _r, _d, _b, slug in parsed_terms if slug} | set(known_terms)
    for reader, data, body, slug in parsed_terms:
        raw = {key: data.get(key) for key in TERM_KEYS if key != "slug"}
        raw["full_definition"] = body
        try:
            content = clean_term_content(raw, known_slugs=term_slugs, own_slug=slug)
        except InvalidContent as exc:
            reader.content_problems(exc, skip=[k for k in TERM_REQUIRED if k not in data])
            continue
        if not reader.failed:
            result.terms.append(TermFile(slug, content, reader.path))

    for reader, data, body, slug in _parse_files(
        md_files(folder / ARTICLES_DIR), "article", ARTICLE_KEYS, ARTICLE_REQUIRED, problems
    ):
        article_type = data.get("type")
        if "type" in data and article_type not in ArticleType.values:
            reader.add(
                reader.lines.get("type"),
                _("Unknown article type “%(type)s”; use one of: %(types)s.")
                % {"type": article_type, "types": ", ".join(ArticleType.values)},
            )
        topics = reader.string_list(data, "topics")
        for index, topic in enumerate(topics):
            if not isinstance(topic, str) or topic not in topic_slugs:
                reader.add(
                    reader.line_of(f"topics[{index}]"),
                    _("Unknown topic “%(topic)s”: add it to topics.yaml.") % {"topic": topic},
                )
        interval = data.get("review_interval_days")
        if interval is not None and (
            isinstance(interval, bool) or not isinstance(interval, int) or not 1 <= interval <= 3650
        ):
            reader.add(
                reader.lines.get("review_interval_days"),
                _("review_interval_days must be a whole number of days from 1 to 3650."),
            )
        raw = {key: data.get(key) for key in ("title", "summary", "references")}
        raw["body"] = body
        try:
            content = clean_article_content(raw)
        except InvalidContent as exc:
            reader.content_problems(exc, skip=[k for k in ARTICLE_REQUIRED if k not in data])
            continue
        if not reader.failed:
            result.articles.append(
                ArticleFile(slug, article_type, list(dict.fromkeys(topics)), interval, content, reader.path)
            )
    if problems:
        raise ContentFileError(problems)
    return result
