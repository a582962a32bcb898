"""Writing content files: deterministic (fixed key order, LF line endings, one trailing newline),
so export -> import -> export gives the same bytes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.utils.translation import gettext as _

from healthlib.content_files.read import ARTICLES_DIR, GLOSSARY_DIR, TERM_KEYS, TOPICS_FILE, TopicEntry, md_files
from healthlib.models import Article, GlossaryTerm, Topic

YAML_WIDTH = 4096


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
    for path in md_files(folder / ARTICLES_DIR) + md_files(folder / GLOSSARY_DIR):
        if path not in written:
            result.warnings.append(_("%(path)s is not part of this export; it was left alone.") % {"path": path})
    return result
