"""The demo library: accounts, the content pack imported as drafts, and a believable review history.

Everything goes through :mod:`healthlib.workflow` (the import too), so every live page has a
real medical review and audit trail. Only the demo settings define ``DEMO_PASSWORD``; without
it nothing here runs.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from healthlib import credentials, notifications, workflow
from healthlib.conf import healthlib_settings
from healthlib.content_files import CREATE, import_folder, publish_in_dependency_order
from healthlib.models import Article, ContentItem, GlossaryTerm, ReviewerProfile

CONTENT_DIR = Path(__file__).resolve().parent / "content"

EDITOR = "editor"
REVIEWERS = ("dr.rivera", "dr.okafor")
ADMIN = "admin"
ACCOUNTS = [
    # username, first name, last name, role, (credentials, specialty)
    (EDITOR, "Dana", "Brooks", "editor", None),
    ("dr.rivera", "Elena", "Rivera", "reviewer", ("MD", "medical oncology")),
    ("dr.okafor", "James", "Okafor", "reviewer", ("PharmD, BCOP", "oncology pharmacy")),
    ("verifier", "Priya", "Shah", "verifier", None),
    (ADMIN, "Site", "Administrator", "admin", None),
]
# Who licenses each demo reviewer (fictional bodies and numbers), and how many days ago the
# verifier checked: Dr. Okafor's verification runs out within weeks, so the dashboard lists him.
LICENCES = {
    "dr.rivera": ("Demo State Medical Board", "MD-104233", 90),
    "dr.okafor": ("Demo State Board of Pharmacy", "RPH-55871", None),
}
DUE_SOON_IN_DAYS = 20

# Items that stop short of publication, so that the editor's and reviewers' workspaces are not empty.
# A missing slug is skipped, so the pack can change without breaking the demo.
LEFT_IN_DRAFT = ["durable-response", "pseudoprogression"]
LEFT_IN_REVIEW = ["lag-3"]
CHANGES_REQUESTED = {
    "biosimilar": (
        "dr.okafor",
        "Please say that the FDA reviews and approves each biosimilar, and that a biosimilar is not the same as "
        "a generic drug. The sentence about the four-letter name ending is a detail most readers do not need.",
    ),
}
# Published articles whose next revision is under way: (slug, heading to insert before, new text, submit?).
NEWER_REVISIONS = [
    (
        "questions-to-ask-your-oncologist",
        "### About costs",
        "### About fertility and family planning\n\n"
        "- Could this treatment affect my fertility, or a pregnancy?\n"
        "- Do I need to use birth control during treatment? For how long after it ends?",
        False,
    ),
    (
        "how-immunotherapy-is-given",
        "### Tests before and during treatment",
        "Bring a list of every medicine, vitamin and supplement you take to your first visit. "
        "Your care team uses it to plan your treatment safely.",
        True,
    ),
]


@dataclass
class DemoResult:
    accounts_created: list[str] = field(default_factory=list)
    imported: int = 0
    published: list[str] = field(default_factory=list)
    not_published: list[str] = field(default_factory=list)
    already_loaded: bool = False


def _accounts(result: DemoResult) -> dict[str, object]:
    User = get_user_model()
    editors = Group.objects.get(name=healthlib_settings.EDITOR_GROUP)
    reviewers = Group.objects.get(name=healthlib_settings.REVIEWER_GROUP)
    verifiers = Group.objects.get(name=healthlib_settings.VERIFIER_GROUP)
    users = {}
    for username, first, last, role, profile in ACCOUNTS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username.replace('.', '-')}@immunotherapy.example",
                "is_staff": True,
                "is_superuser": role == "admin",
            },
        )
        if created:
            user.set_password(settings.DEMO_PASSWORD)
            user.save(update_fields=["password"])
            result.accounts_created.append(username)
            if role == "editor":
                user.groups.add(editors)
            elif role == "reviewer":
                user.groups.add(reviewers)
            elif role == "verifier":
                user.groups.add(verifiers)
        if profile:
            body, number, _days = LICENCES[username]
            found, _ = ReviewerProfile.objects.get_or_create(
                user=user,
                defaults={"display_name": f"{first} {last}", "credentials": profile[0], "specialty": profile[1]},
            )
            if not (found.licensing_body or found.licence_number or found.registry_url):
                # New, or from a demo database loaded before licences were recorded: say what to verify.
                found.licensing_body, found.licence_number = body, number
                found.save(update_fields=["licensing_body", "licence_number"])
        users[username] = user
    _verify_reviewers(users)
    return users


def _verify_reviewers(users: dict) -> None:
    """The verifier checks each demo reviewer's licence (reviewers may approve only with a current check)."""
    today = timezone.localdate()
    for username, (_body, _number, days_ago) in LICENCES.items():
        profile = ReviewerProfile.objects.select_related("verification").get(user=users[username])
        if credentials.status(profile) in (credentials.VALID, credentials.DUE):
            continue  # a demo loaded again later re-verifies only what has lapsed since
        if days_ago is None:  # due soon: the verification runs out DUE_SOON_IN_DAYS from today
            verified_on = _months_before(today + datetime.timedelta(days=DUE_SOON_IN_DAYS))
        else:
            verified_on = today - datetime.timedelta(days=days_ago)
        credentials.verify(profile, users["verifier"], verified_on=verified_on)


def _months_before(day: datetime.date) -> datetime.date:
    """The date whose verification expires on ``day``."""
    candidate = day - datetime.timedelta(days=31 * healthlib_settings.CREDENTIALS_VALID_MONTHS)
    while credentials.expires_on(candidate) < day:
        candidate += datetime.timedelta(days=1)
    return candidate


def _insert_before(body: str, marker: str, text: str) -> str:
    if marker in body:
        return body.replace(marker, f"{text}\n\n{marker}", 1)
    return f"{body}\n\n{text}"


def _review_history(created: list[ContentItem], users: dict, result: DemoResult) -> None:
    editor = users[EDITOR]
    reviewers = [users[name] for name in REVIEWERS]
    held = set(LEFT_IN_DRAFT) | set(LEFT_IN_REVIEW) | set(CHANGES_REQUESTED)
    published, held_back = publish_in_dependency_order(
        (item for item in created if item.specific().slug not in held),
        editor,
        reviewers,
        comment="Checked against the cited sources.",
        change_summary="First version",
    )
    result.published.extend(item.slug for item in published)
    result.not_published.extend(item.slug for item in held_back)

    by_slug = {item.specific().slug: item.specific() for item in created}
    for slug in LEFT_IN_REVIEW:
        if slug in by_slug:
            workflow.submit(by_slug[slug], editor)
    for slug, (reviewer, comment) in CHANGES_REQUESTED.items():
        if slug in by_slug:
            workflow.submit(by_slug[slug], editor)
            workflow.request_changes(by_slug[slug], users[reviewer], comment=comment)
    for slug, marker, text, submit in NEWER_REVISIONS:
        article = by_slug.get(slug)
        if article is None or not article.is_live:
            continue
        content = dict(article.latest_revision.content)
        content["body"] = _insert_before(content["body"], marker, text)
        workflow.save_draft(article, editor, content, based_on=article.latest_revision)
        if submit:
            workflow.submit(article, editor, comment="Added a tip about bringing a medicine list.")


def load_demo() -> DemoResult:
    """Create the demo accounts and library; running it again changes nothing."""
    result = DemoResult()
    # The review history is simulated in one go: nobody needs a hundred notification emails (none is
    # recorded, so none is sent later by a task worker either).
    with notifications.paused():
        with transaction.atomic():
            users = _accounts(result)
            if ContentItem.objects.exists():
                # Loaded before; the demo's own edits would look like changes to the files. Edited
                # files come in as drafts with healthlib_import, like on any site.
                result.already_loaded = True
                return result
            imported = import_folder(CONTENT_DIR, users[EDITOR])
            created = [change.item for change in imported.changes if change.action == CREATE and change.item]
            result.imported = len(created)
            _review_history(created, users, result)
    return result


def _live(model, preferred: str):
    live = model.objects.filter(live_revision__isnull=False)
    return live.filter(slug=preferred).first() or live.order_by("slug").first()


def demo_urls() -> list[tuple[str, str]]:
    """(what, path) of the pages worth opening first."""
    urls = []
    for label, name in (("Health library", "healthlib:home"), ("Glossary A to Z", "healthlib:glossary")):
        try:
            urls.append((label, reverse(name)))
        except NoReverseMatch:  # a site may not have every reader page
            pass
    article, term = _live(Article, "immunotherapy-overview"), _live(GlossaryTerm, "t-cell")
    if article:
        urls.append(("An article", article.get_absolute_url()))
        # Its public review trail (healthlib.review_trail), also linked from the article's "Last reviewed on".
        urls.append(("Its review history", reverse("healthlib:article_reviews", args=[article.slug])))
    if term:
        urls.append(("A glossary term", term.get_absolute_url()))
    urls.append(("Editors' and reviewers' admin", "/admin/"))
    return urls
