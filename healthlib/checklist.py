"""The pre-publish checklist: what must be true of a revision before it is submitted or published.

Each rule is configured in ``HEALTHLIB["CHECKLIST"]`` as ``"required"`` (blocks submit and
publish), ``"recommended"`` (shown as a warning, never blocks) or ``"off"``. Submitting and
publishing call :func:`enforce` inside their transaction; the admin calls :func:`evaluate`
to show the list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from healthlib.conf import DEFAULTS, healthlib_settings
from healthlib.exceptions import ChecklistFailed
from healthlib.html import link_targets
from healthlib.link_checks import broken_urls
from healthlib.markup import render_document
from healthlib.models import ContentItem, Decision, GlossaryTerm, Kind, Review, Revision

REQUIRED = "required"
RECOMMENDED = "recommended"
OFF = "off"
LEVELS = (REQUIRED, RECOMMENDED, OFF)


@dataclass(frozen=True)
class CheckResult:
    code: str
    label: Any
    passed: bool
    level: str
    message: str = ""

    @property
    def blocks(self) -> bool:
        """True when this result stops submit and publish."""
        return self.level == REQUIRED and not self.passed


def levels() -> dict[str, str]:
    """The configured level of every rule: the library defaults overlaid with ``HEALTHLIB["CHECKLIST"]``."""
    configured = healthlib_settings.CHECKLIST
    return {**DEFAULTS["CHECKLIST"], **(configured if isinstance(configured, dict) else {})}


# ---------------------------------------------------------------- rules
# Each rule returns (passed, message) or None when it does not apply to this kind of item.


def _summary(item: ContentItem, revision: Revision):
    if item.kind != Kind.ARTICLE:
        return None
    if (revision.content.get("summary") or "").strip():
        return True, ""
    return False, _("Add a short summary: readers see it first and search engines show it.")


def _references(item: ContentItem, revision: Revision):
    if item.kind != Kind.ARTICLE:
        return None
    if revision.content.get("references"):
        return True, ""
    return False, _("Cite at least one reference so reviewers and readers can check the facts.")


def _readability(item: ContentItem, revision: Revision):
    target = healthlib_settings.READABILITY_TARGET_GRADE
    grade = revision.readability_grade
    if grade is None or grade <= target:
        return True, ""
    return False, _(
        "The text reads at US grade %(grade).1f; aim for grade %(target)s or lower with shorter sentences and words."
    ) % {"grade": grade, "target": f"{target:g}"}


def _markdown_texts(item: ContentItem, revision: Revision) -> list[str]:
    content = revision.content
    if item.kind == Kind.ARTICLE:
        return [content.get("summary", ""), content.get("body", "")]
    return [
        content.get("short_definition", ""),
        content.get("full_definition", ""),
        content.get("professional_definition", ""),
    ]


def _term_slug(href: str) -> str | None:
    """The glossary slug a link points to on this site, or None."""
    parts = urlsplit(href)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return None
    if parts.netloc:
        host = parts.hostname or ""
        if host not in [h.lstrip(".") for h in settings.ALLOWED_HOSTS if h != "*"]:
            return None
    if not parts.path.startswith("/"):
        return None
    try:
        match = resolve(unquote(parts.path))
    except Resolver404:
        return None
    if "healthlib" in match.app_names and match.url_name == "term_detail":
        return match.kwargs.get("slug")
    return None


def linked_term_slugs(item: ContentItem, revision: Revision) -> list[str]:
    """Slugs of the glossary terms the revision's text links to, in order of first appearance."""
    slugs: list[str] = []
    for text in filter(None, _markdown_texts(item, revision)):
        for href in link_targets(render_document(text).html):
            slug = _term_slug(href)
            if slug and slug not in slugs:
                slugs.append(slug)
    return slugs


def _glossary_published(item: ContentItem, revision: Revision):
    slugs = linked_term_slugs(item, revision)
    if not slugs:
        return True, ""
    live = set(GlossaryTerm.objects.filter(slug__in=slugs, live_revision__isnull=False).values_list("slug", flat=True))
    missing = [slug for slug in slugs if slug not in live]
    if not missing:
        return True, ""
    return False, ngettext(
        "The text links to a glossary term that is not published: %(slugs)s. Publish it or remove the link.",
        "The text links to glossary terms that are not published: %(slugs)s. Publish them or remove the links.",
        len(missing),
    ) % {"slugs": ", ".join(missing)}


def _comments_resolved(item: ContentItem, revision: Revision):
    # A request for changes is resolved once a newer revision than the one it judged exists.
    open_requests = list(
        Review.objects.filter(
            revision__item_id=item.pk, decision=Decision.CHANGES_REQUESTED, revision__number__gte=revision.number
        ).order_by("reviewed_at", "pk")
    )
    if not open_requests:
        return True, ""
    names = ", ".join(dict.fromkeys(review.reviewer_name for review in open_requests))
    return False, ngettext(
        "%(names)s asked for changes to this revision. Save a revision that addresses the comment first.",
        "%(names)s asked for changes to this revision. Save a revision that addresses the comments first.",
        len(open_requests),
    ) % {"names": names}


def _references_reachable(item: ContentItem, revision: Revision):
    if item.kind != Kind.ARTICLE:
        return None
    urls = [ref.get("url") for ref in revision.content.get("references") or [] if ref.get("url")]
    broken = broken_urls(urls) if urls else []
    if not broken:
        return True, ""
    return False, ngettext(
        "A reference was broken when last checked: %(links)s. Fix or replace it.",
        "References were broken when last checked: %(links)s. Fix or replace them.",
        len(broken),
    ) % {"links": "; ".join(f"{row.url} ({row.outcome})" for row in broken)}


Rule = Callable[[ContentItem, Revision], "tuple[bool, str] | None"]
#: Every rule, in the order the checklist shows them.
RULES: dict[str, tuple[Any, Rule]] = {
    "summary": (gettext_lazy("Summary present"), _summary),
    "references": (gettext_lazy("At least one reference"), _references),
    "readability": (gettext_lazy("Readability at or under the target grade"), _readability),
    "glossary_published": (gettext_lazy("Linked glossary terms are published"), _glossary_published),
    "comments_resolved": (gettext_lazy("Reviewer comments addressed"), _comments_resolved),
    "references_reachable": (gettext_lazy("Reference links worked when last checked"), _references_reachable),
}


# ---------------------------------------------------------------- public API


def evaluate(item: ContentItem, revision: Revision | None = None) -> list[CheckResult]:
    """Check ``revision`` (default: the item's latest revision) against every rule that is not off."""
    revision = revision if revision is not None else item.latest_revision
    configured = levels()
    results = []
    for code, (label, rule) in RULES.items():
        level = configured.get(code, OFF)
        if level == OFF or revision is None:
            continue
        outcome = rule(item, revision)
        if outcome is None:
            continue
        passed, message = outcome
        results.append(CheckResult(code=code, label=label, passed=passed, level=level, message=message))
    return results


def enforce(item: ContentItem, revision: Revision | None = None) -> list[CheckResult]:
    """Raise :class:`ChecklistFailed` if a required rule fails; otherwise return all results (warnings too)."""
    results = evaluate(item, revision)
    failing = [result for result in results if result.blocks]
    if failing:
        raise ChecklistFailed(
            _("“%(title)s” is not ready: %(problems)s")
            % {"title": item.title, "problems": " ".join(str(result.message) for result in failing)},
            results,
        )
    return results
