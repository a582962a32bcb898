"""Importing a content folder through :mod:`healthlib.workflow` only, so a file never bypasses
medical review; and publishing what was imported, glossary terms before the articles that use them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from healthlib import workflow
from healthlib.content_files.front_matter import ContentFileError, Problem
from healthlib.content_files.read import ContentFolder, read_folder
from healthlib.exceptions import NotPermitted, TransitionNotAllowed, WorkflowError
from healthlib.models import Article, ContentItem, GlossaryTerm, Topic, content_hash

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


def publish_in_dependency_order(
    items: Iterable[ContentItem], editor, reviewers: Sequence, *, comment: str = "", change_summary: str = ""
) -> tuple[list[ContentItem], list[ContentItem]]:
    """Submit, approve and publish ``items``, glossary terms before articles; returns (published, held back).

    An article that links a term not yet live is held back by the checklist: each round retries what
    was held back, until a round publishes nothing. ``reviewers`` approve in turn (none of them may be
    the editor). For bringing a reviewed content pack onto a site (the demo) and for tests: every step
    is a workflow transition, so nothing skips its guards.
    """
    queue = sorted((item.specific() for item in items), key=lambda item: (isinstance(item, Article), item.slug))
    published: list[ContentItem] = []
    while queue:
        waiting = []
        for item in queue:
            try:
                workflow.submit(item, editor)
            except TransitionNotAllowed:
                waiting.append(item)
                continue
            reviewer = reviewers[len(published) % len(reviewers)]
            workflow.approve(item, reviewer, comment=comment, change_summary=change_summary)
            workflow.publish(item, editor)
            published.append(item)
        if len(waiting) == len(queue):
            return published, waiting
        queue = waiting
    return published, []
