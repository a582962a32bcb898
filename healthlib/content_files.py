"""Content as files: one markdown file per article or glossary term, with YAML front matter.

A content folder looks like this::

    topics.yaml             a list of {slug, name, description}
    articles/<slug>.md      front matter: slug, type, topics, review_interval_days, title, summary, references
    glossary/<slug>.md      front matter: slug, term, aliases, pronunciation, short_definition,
                            professional_definition, related_terms

The text after the front matter is the article's body or the term's full definition.

Reading checks every file and reports every problem with its file and line
(:class:`ContentFileError`). Writing is deterministic (fixed key order, LF line endings, one
trailing newline), so export -> import -> export gives the same bytes. Importing goes through
:mod:`healthlib.workflow` only, so a file can never bypass medical review.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.utils.translation import gettext as _

from healthlib import workflow
from healthlib.conf import MAX_REVIEW_INTERVAL_DAYS, healthlib_settings, is_review_interval
from healthlib.exceptions import InvalidContent, NotPermitted, WorkflowError
from healthlib.models import Article, ArticleType, ContentItem, GlossaryTerm, Topic, content_hash
from healthlib.models.schema import clean_article_content, clean_term_content, normalise_text

TOPICS_FILE = "topics.yaml"
ARTICLES_DIR = "articles"
GLOSSARY_DIR = "glossary"
ARTICLE_KEYS = ("slug", "type", "topics", "review_interval_days", "title", "summary", "references")
ARTICLE_REQUIRED = ("slug", "type", "title")
TERM_KEYS = ("slug", "term", "aliases", "pronunciation", "short_definition", "professional_definition", "related_terms")
TERM_REQUIRED = ("slug", "term", "short_definition")
TOPIC_KEYS = ("slug", "name", "description")
# Body of an article, full definition of a term: the markdown after the front matter.
BODY_FIELD = {"article": "body", "glossary term": "full_definition"}
YAML_WIDTH = 4096
_INDEX = re.compile(r"\[\d+\]$|\.[^.\[]+$")
#: Front matter is a few fields, lists of references and names (the largest in the demo pack is
#: under 200 values; 2,000 values is about 280 topics in topics.yaml): deeper or larger YAML is a
#: mistake or an attack, refused before any of it is walked. The parser is pure Python, about
#: 0.2 ms a value on a loaded machine, so the bound is also what keeps a refusal under a second.
MAX_YAML_DEPTH = 10
MAX_YAML_NODES = 2_000
_STR_TAG = "tag:yaml.org,2002:str"


# ---------------------------------------------------------------- errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"


class ContentFileError(Exception):
    """A content folder cannot be imported. ``problems`` lists every problem found, by file and line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    @property
    def file(self) -> Path:
        return self.problems[0].path

    @property
    def line(self) -> int | None:
        return self.problems[0].line

    @property
    def problem(self) -> str:
        return self.problems[0].message


# ---------------------------------------------------------------- YAML


class _ContentLoader(yaml.SafeLoader):
    """The safe loader, narrowed to what content files need, so every malformed file fails fast.

    * no anchors or aliases: the format never needs them (export never writes them), and they are
      what recursive documents and alias-expansion bombs are made of;
    * nesting and node count bounded (:data:`MAX_YAML_DEPTH`, :data:`MAX_YAML_NODES`): composing
      is recursive, and every later step walks the whole tree;
    * field names are plain text (not lists, numbers, dates, ``yes`` or merge keys ``<<``);
    * no control characters in any value (YAML refuses them typed raw, but its escapes such as
      ``"\\0"`` write them);
    * a value that Python cannot build (``!!timestamp 2024-13-45``, an integer of 5,000 digits)
      is a YAML error at its own line, not a ValueError.
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def _refuse(self, message: str, mark) -> None:
        raise yaml.composer.ComposerError(None, None, message, mark)

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._refuse(_("aliases (“*%(name)s”) are not allowed in content files") % {"name": event.anchor},
                         event.start_mark)  # fmt: skip
        if getattr(event, "anchor", None) is not None:
            self._refuse(_("anchors (“&%(name)s”) are not allowed in content files") % {"name": event.anchor},
                         event.start_mark)  # fmt: skip
        self._nodes += 1
        if self._nodes > MAX_YAML_NODES:
            self._refuse(_("more than %(n)d values") % {"n": MAX_YAML_NODES}, event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                self._refuse(_("nested more than %(n)d levels deep") % {"n": MAX_YAML_DEPTH}, event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_scalar_node(self, anchor):
        node = super().compose_scalar_node(anchor)
        bad = next((c for c in node.value if c not in "\n\t" and unicodedata.category(c) == "Cc"), None)
        if bad is not None:
            self._refuse(_("the control character U+%(code)04X is not allowed") % {"code": ord(bad)}, node.start_mark)
        return node

    def compose_mapping_node(self, anchor):
        node = super().compose_mapping_node(anchor)
        for key, _value in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag != _STR_TAG:
                self._refuse(_("a field name must be plain text, such as “title”"), key.start_mark)
        return node

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, _("this value cannot be read (%(error)s)") % {"error": exc}, node.start_mark
            ) from exc


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


# ---------------------------------------------------------------- reading


class _FileReader:
    """Parses one file, collecting problems with line numbers instead of stopping at the first."""

    def __init__(self, path: Path, problems: list[Problem]):
        self.path = path
        self.problems = problems
        self.lines: dict[str, int] = {}
        self.first_line = 1
        self.failed = False

    def add(self, line: int | None, message: str) -> None:
        self.failed = True
        self.problems.append(Problem(self.path, line, message))

    def line_of(self, name: str) -> int | None:
        """Line of a field such as ``references[2].url``, or of the nearest enclosing field."""
        while name:
            if name in self.lines:
                return self.lines[name]
            shorter = _INDEX.sub("", name)
            if shorter == name:
                break
            name = shorter
        return None

    def read_text(self) -> str | None:
        limit = healthlib_settings.MAX_BODY_CHARS * 4 + 100_000
        try:
            if self.path.stat().st_size > limit:
                self.add(None, _("The file is larger than %(n)d bytes.") % {"n": limit})
                return None
            data = self.path.read_bytes()
        except OSError as exc:
            self.add(None, _("Cannot read the file: %(error)s.") % {"error": exc.strerror or exc})
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            self.add(
                line,
                _("The file is not UTF-8 text (byte %(byte)s cannot be decoded).") % {"byte": hex(data[exc.start])},
            )
            return None
        return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")

    def split_front_matter(self, text: str) -> tuple[str, str, int] | None:
        """(front matter, body, line number where the body starts)."""
        lines = text.split("\n")
        if lines[0].rstrip() != "---":
            self.add(1, _("The file must start with a line “---” that opens the front matter."))
            return None
        for index in range(1, len(lines)):
            if lines[index].rstrip() == "---":
                return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), index + 2
        self.add(1, _("The front matter opened on line 1 is never closed by a line “---”."))
        return None

    def load_yaml(self, text: str, first_line: int) -> Any:
        """Parse YAML, recording the line of every key and list entry; None on failure."""
        self.first_line = first_line
        try:
            node = yaml.compose(text, Loader=_ContentLoader)
            if node is None:
                return None
            self._check_duplicates(node)
            if self.failed:
                return None
            loader = _ContentLoader("")
            try:
                data = loader.construct_document(node)
            finally:
                loader.dispose()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = first_line + mark.line if mark else first_line
            self.add(line, _("This is not valid YAML: %(problem)s.") % {"problem": exc.problem or exc.context})
            return None
        except yaml.reader.ReaderError as exc:
            # A character YAML refuses typed raw (a control character) has a position, not a mark.
            code = exc.character if isinstance(exc.character, int) else ord(exc.character)
            line = first_line + text[: exc.position].count("\n")
            self.add(line, _("The control character U+%(code)04X is not allowed.") % {"code": code})
            return None
        except yaml.YAMLError as exc:
            self.add(first_line, _("This is not valid YAML: %(problem)s.") % {"problem": exc})
            return None
        self._record_lines(node, "")
        return data

    def _check_duplicates(self, node: yaml.Node) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if key.value in seen:
                    self.add(
                        self.first_line + key.start_mark.line,
                        _("The field “%(key)s” appears twice.") % {"key": key.value},
                    )
                seen.add(key.value)
                self._check_duplicates(value)
        elif isinstance(node, yaml.SequenceNode):
            for value in node.value:
                self._check_duplicates(value)

    def _record_lines(self, node: yaml.Node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = f"{prefix}.{key.value}" if prefix else str(key.value)
                self.lines[name] = self.first_line + key.start_mark.line
                self._record_lines(value, name)
        elif isinstance(node, yaml.SequenceNode):
            for index, value in enumerate(node.value):
                name = f"{prefix}[{index}]"
                self.lines[name] = self.first_line + value.start_mark.line
                self._record_lines(value, name)

    def parse_item(self, kind: str, allowed: tuple[str, ...], required: tuple[str, ...]):
        """(front matter dict, body text) of an article or term file, or None."""
        text = self.read_text()
        if text is None:
            return None
        parts = self.split_front_matter(text)
        if parts is None:
            return None
        front, body, body_line = parts
        data = self.load_yaml(front, 2)
        if self.failed:
            return None
        if not isinstance(data, dict):
            self.add(2, _("The front matter must be a set of “field: value” lines."))
            return None
        for key in data:
            if key not in allowed:
                if key == BODY_FIELD[kind]:
                    message = _("“%(key)s” is not a field: it is the text after the front matter.") % {"key": key}
                else:
                    message = _("Unknown field “%(key)s”. The fields are: %(allowed)s.") % {
                        "key": key,
                        "allowed": ", ".join(allowed),
                    }
                self.add(self.lines.get(str(key), 2), message)
        for key in required:
            if key not in data:
                self.add(1, _("The required field “%(key)s” is missing.") % {"key": key})
        self.lines[BODY_FIELD[kind]] = body_line
        return data, body

    def content_problems(self, exc: InvalidContent, skip: Iterable[str] = ()) -> None:
        skip = set(skip)
        for name, messages in exc.errors.items():
            if name in skip:
                continue
            for message in messages:
                self.add(self.line_of(name), f"{name}: {message}")
        if not exc.errors:
            self.add(None, exc.message)

    def slug(self, data: dict) -> str:
        """The front matter's slug if it is well formed, else ""."""
        slug = data.get("slug")
        if slug is None:
            return ""
        try:
            if not isinstance(slug, str) or len(slug) > 200:
                raise ValidationError("")
            validate_slug(slug)
        except ValidationError:
            self.add(
                self.lines.get("slug"),
                _("The slug must be lowercase letters, digits and hyphens (at most 200 characters)."),
            )
            return ""
        return slug

    def string_list(self, data: dict, key: str) -> list[Any]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(self.lines.get(key), _("“%(key)s” must be a list.") % {"key": key})
            return []
        return value


def _parse_files(paths: list[Path], kind: str, keys, required, problems: list[Problem]) -> list[tuple]:
    """(reader, front matter, body, slug) of every file, with duplicate slugs and misnamed files reported."""
    parsed = []
    for path in paths:
        reader = _FileReader(path, problems)
        result = reader.parse_item(kind, keys, required)
        if result is not None:
            parsed.append((reader, *result, reader.slug(result[0])))
    by_slug: dict[str, list[_FileReader]] = {}
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


def _md_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == ".md" and not p.name.startswith(".") and p.is_file())


def _read_topics(path: Path, problems: list[Problem]) -> list[TopicEntry]:
    if not path.exists():
        return []
    reader = _FileReader(path, problems)
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

    parsed_terms = _parse_files(_md_files(folder / GLOSSARY_DIR), "glossary term", TERM_KEYS, TERM_REQUIRED, problems)
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
        _md_files(folder / ARTICLES_DIR), "article", ARTICLE_KEYS, ARTICLE_REQUIRED, problems
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
        if interval is not None and not is_review_interval(interval):
            reader.add(
                reader.lines.get("review_interval_days"),
                _("review_interval_days must be a whole number of days from 1 to %(max)d.")
                % {"max": MAX_REVIEW_INTERVAL_DAYS},
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


# ---------------------------------------------------------------- writing


class _Dumper(yaml.SafeDumper):
    """Block style, indented lists, multi-line text as literal blocks: readable and stable."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        # The reader refuses aliases: a value written twice is written out twice.
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _represent_str)


def _yaml(data: Any) -> str:
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=YAML_WIDTH, default_flow_style=False
    )


def _document(front: dict[str, Any], body: str) -> str:
    return "---\n" + _yaml(front) + "---\n" + (body + "\n" if body else "")


def dump_article(
    slug: str, article_type: str, topics: list[str], review_interval_days: int | None, content: dict[str, Any]
) -> str:
    """The text of an article file."""
    front: dict[str, Any] = {"slug": slug, "type": article_type, "topics": list(topics)}
    if review_interval_days is not None:
        front["review_interval_days"] = review_interval_days
    front["title"] = content["title"]
    front["summary"] = content["summary"]
    front["references"] = [
        {key: ref[key] for key in ("title", "publisher", "url", "year")} for ref in content["references"]
    ]
    return _document(front, content["body"])


def dump_term(slug: str, content: dict[str, Any]) -> str:
    """The text of a glossary term file."""
    front = {"slug": slug} | {key: content[key] for key in TERM_KEYS if key != "slug"}
    return _document(front, content["full_definition"])


def dump_topics(topics: Iterable[Topic | TopicEntry]) -> str:
    """The text of topics.yaml."""
    return _yaml([{"slug": t.slug, "name": t.name, "description": t.description} for t in topics])


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


@dataclass
class ExportResult:
    articles: int = 0
    terms: int = 0
    topics: int = 0
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def export_folder(folder: str | Path, *, latest: bool = False) -> ExportResult:
    """Write every topic, and the live (or latest) revision of every article and term, as files.

    Items without a live revision are skipped unless ``latest``. Files of other items already
    in the folder are left alone (and reported), never deleted.
    """
    folder = Path(folder)
    result = ExportResult()
    topics = list(Topic.objects.order_by("pk"))
    _write(folder / TOPICS_FILE, dump_topics(topics))
    result.topics = len(topics)
    which = "latest_revision" if latest else "live_revision"
    written: set[Path] = set()
    exported_terms: set[str] = set()
    term_links: list[tuple[str, list[str]]] = []
    for article in Article.objects.select_related(which).prefetch_related("topics").order_by("slug"):
        revision = getattr(article, which)
        if revision is None:
            result.skipped.append(_("article %(slug)s (never published)") % {"slug": article.slug})
            continue
        path = folder / ARTICLES_DIR / f"{article.slug}.md"
        topic_slugs = sorted(t.slug for t in article.topics.all())
        _write(
            path,
            dump_article(
                article.slug, article.article_type, topic_slugs, article.review_interval_days, revision.content
            ),
        )
        written.add(path)
        result.articles += 1
    for term in GlossaryTerm.objects.select_related(which).order_by("slug"):
        revision = getattr(term, which)
        if revision is None:
            result.skipped.append(_("glossary term %(slug)s (never published)") % {"slug": term.slug})
            continue
        path = folder / GLOSSARY_DIR / f"{term.slug}.md"
        _write(path, dump_term(term.slug, revision.content))
        written.add(path)
        exported_terms.add(term.slug)
        term_links.append((term.slug, revision.content["related_terms"]))
        result.terms += 1
    for slug, related in term_links:
        missing = [s for s in related if s not in exported_terms]
        if missing:
            result.warnings.append(
                _("glossary/%(slug)s.md names related terms that were not exported: %(missing)s.")
                % {"slug": slug, "missing": ", ".join(missing)}
            )
    for path in _md_files(folder / ARTICLES_DIR) + _md_files(folder / GLOSSARY_DIR):
        if path not in written:
            result.warnings.append(_("%(path)s is not part of this export; it was left alone.") % {"path": path})
    return result


# ---------------------------------------------------------------- importing


CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"


@dataclass
class Change:
    """What an import does (or, in a dry run, would do) to one topic, article or term."""

    kind: str
    slug: str
    action: str
    changes: list[str] = field(default_factory=list)
    path: Path | None = None
    item: ContentItem | None = None
    entry: Any = None
    note: str = ""

    def __str__(self) -> str:
        details = f" ({', '.join(self.changes)})" if self.changes else ""
        note = f" - {self.note}" if self.note else ""
        return f"{self.action} {self.kind} {self.slug}{details}{note}"


@dataclass
class ImportResult:
    changes: list[Change] = field(default_factory=list)
    submitted: list[Change] = field(default_factory=list)

    def count(self, action: str, kind: str | None = None) -> int:
        return sum(1 for c in self.changes if c.action == action and (kind is None or c.kind == kind))


def _plan(folder: ContentFolder, user) -> tuple[list[Change], list[Problem]]:
    changes: list[Change] = []
    problems: list[Problem] = []
    topics = {t.slug: t for t in Topic.objects.all()}
    names = {t.name: t.slug for t in topics.values()}
    for entry in folder.topics:
        existing = topics.get(entry.slug)
        if names.get(entry.name, entry.slug) != entry.slug:
            problems.append(
                Problem(entry.path, entry.line, _("Another topic is already named “%(name)s”.") % {"name": entry.name})
            )
        if existing is None:
            changes.append(Change("topic", entry.slug, CREATE, entry=entry, path=entry.path))
        else:
            diff = [f for f in ("name", "description") if getattr(existing, f) != getattr(entry, f)]
            changes.append(Change("topic", entry.slug, UPDATE if diff else UNCHANGED, diff, entry.path, entry=entry))

    articles = {a.slug: a for a in Article.objects.select_related("latest_revision").prefetch_related("topics")}
    terms = {t.slug: t for t in GlossaryTerm.objects.select_related("latest_revision")}
    entries: list[tuple[str, Any, ContentItem | None]] = [
        ("article", a, articles.get(a.slug)) for a in folder.articles
    ] + [("glossary term", t, terms.get(t.slug)) for t in folder.terms]
    for kind, entry, item in entries:
        if item is None:
            changes.append(Change(kind, entry.slug, CREATE, path=entry.path, entry=entry))
            continue
        diff = []
        if content_hash(entry.content) != item.latest_revision.content_hash:
            diff.append(_("content"))
            try:
                workflow.check(user, "save_draft", item)
            except WorkflowError as exc:
                problems.append(Problem(entry.path, None, str(exc)))
        if kind == "article":
            if item.article_type != entry.article_type or {t.slug for t in item.topics.all()} != set(entry.topics):
                diff.append(_("type or topics"))
            if item.review_interval_days != entry.review_interval_days:
                diff.append(_("review interval"))
        changes.append(Change(kind, entry.slug, UPDATE if diff else UNCHANGED, diff, entry.path, item, entry))
    return changes, problems


def _apply(changes: list[Change], folder: ContentFolder, user, submit: bool) -> list[Change]:
    topics = {t.slug: t for t in Topic.objects.all()}
    for change in changes:
        if change.kind == "topic" and change.action == CREATE:
            entry = change.entry
            topics[entry.slug] = Topic.objects.create(slug=entry.slug, name=entry.name, description=entry.description)
        elif change.kind == "topic" and change.action == UPDATE:
            topic = topics[change.slug]
            topic.name, topic.description = change.entry.name, change.entry.description
            topic.save(update_fields=["name", "description"])
    pending = {t.slug for t in folder.terms}
    edited: list[Change] = []
    # Terms first, so that the articles' glossary links can find them.
    ordered = [c for c in changes if c.kind == "glossary term"] + [c for c in changes if c.kind == "article"]
    for change in ordered:
        entry = change.entry
        try:
            if change.action == CREATE and change.kind == "article":
                change.item = workflow.create_article(
                    user, slug=entry.slug, article_type=entry.article_type, content=entry.content,
                    topics=[topics[s] for s in entry.topics], review_interval_days=entry.review_interval_days,
                )  # fmt: skip
            elif change.action == CREATE:
                change.item = workflow.create_glossary_term(
                    user, slug=entry.slug, content=entry.content, pending_slugs=pending
                )
            elif change.action == UPDATE:
                item = change.item
                if content_hash(entry.content) != item.latest_revision.content_hash:
                    workflow.save_draft(item, user, entry.content, based_on=item.latest_revision, pending_slugs=pending)
                if change.kind == "article":
                    workflow.set_article_details(
                        item, user, article_type=entry.article_type, topics=[topics[s] for s in entry.topics]
                    )
                    workflow.set_review_interval(item, user, entry.review_interval_days)
            else:
                continue
        except WorkflowError as exc:
            raise ContentFileError([Problem(change.path, None, str(exc))]) from exc
        if change.action == CREATE or _("content") in change.changes:
            edited.append(change)
    submitted = []
    if submit:
        for change in edited:
            item = change.item
            item.refresh_from_db()
            try:
                workflow.submit(item, user)
            except WorkflowError as exc:
                # The file is fine; the site refuses review for now (e.g. a checklist rule).
                change.note = _("not submitted: %(reason)s") % {"reason": exc}
            else:
                submitted.append(change)
    return submitted


def import_folder(path: str | Path, user, *, dry_run: bool = False, submit: bool = False) -> ImportResult:
    """Import a content folder as ``user``: new items become drafts, changed items new draft revisions.

    All or nothing: every file is checked first, then everything is applied in one transaction;
    any problem raises :class:`ContentFileError` and writes nothing. With ``submit``, the new
    and changed drafts are submitted for medical review.
    """
    if user is None or not user.has_perm(workflow.EDIT):
        raise NotPermitted(_("%(user)s may not write drafts, so cannot import content.") % {"user": user})
    folder = read_folder(
        path,
        known_topics=Topic.objects.values_list("slug", flat=True),
        known_terms=GlossaryTerm.objects.values_list("slug", flat=True),
    )
    changes, problems = _plan(folder, user)
    if problems:
        raise ContentFileError(problems)
    result = ImportResult(changes=changes)
    if dry_run:
        return result
    with transaction.atomic():
        result.submitted = _apply(changes, folder, user, submit)
    return result
