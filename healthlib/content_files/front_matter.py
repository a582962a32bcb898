"""One content file: its text, its YAML front matter (read safely) and where each field is.

Every problem is a :class:`Problem` with the file and line, collected rather than raised at the
first, so an editor sees them all at once.

Not python-frontmatter: it strips the text (so the body's line numbers are lost), takes a file
that never opens or never closes its front matter as all body, accepts ``-----`` as a fence and
drops front matter that is not a mapping, where each of these must be a problem at its line; and
the loader below must replace its YAML loader anyway. The split it would replace is ten lines.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.utils.translation import gettext as _

from healthlib.conf import healthlib_settings
from healthlib.exceptions import InvalidContent

# Body of an article, full definition of a term: the markdown after the front matter.
BODY_FIELD = {"article": "body", "glossary term": "full_definition"}
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


class FileReader:
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
