"""The workflow state machine: the only code that changes workflow state.

Every transition has the same shape, inside one transaction:

1. lock the item's row and re-read it;
2. guard: the state allows the action, the user has the permission, the revision the
   user saw is still the current one, reviewers are not the authors;
3. change and save;
4. write exactly one :class:`~healthlib.models.WorkflowEvent`;
5. send a signal once the transaction has committed.

A refused action raises a :class:`~healthlib.exceptions.WorkflowError` subclass and
changes nothing.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, overload

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from healthlib import checklist, credentials, derived_work, publishing, purge, search, signals
from healthlib.conf import MAX_REVIEW_INTERVAL_DAYS, healthlib_settings, is_review_interval
from healthlib.content_schema import clean_article_content, clean_term_content
from healthlib.exceptions import (
    AlreadyReviewed,
    ContentHashMismatch,
    InvalidContent,
    NoBaseRevision,
    NotPermitted,
    ReviewerIsAuthor,
    StaleVersion,
    TransitionNotAllowed,
)
from healthlib.markup import render_document
from healthlib.models import (
    Article,
    ArticleType,
    ContentItem,
    Decision,
    GlossaryTerm,
    Kind,
    Review,
    Revision,
    RevisionAuthor,
    State,
    Topic,
    WorkflowEvent,
    content_hash,
)
from healthlib.normalise import one_line
from healthlib.readability import measure
from healthlib.roles import EDIT, PUBLISH, REVIEW

if TYPE_CHECKING:
    # django-stubs' names: _User is the site's user model (its mypy plugin resolves AUTH_USER_MODEL),
    # _AnyUser is that or AnonymousUser, as request.user is. Transitions take a user; guards take request.user.
    from django.contrib.auth.models import _AnyUser, _User
    from django_stubs_ext import StrOrPromise

    from healthlib.models import CredentialVerification

_Item = TypeVar("_Item", bound=ContentItem)

logger = logging.getLogger(__name__)

MAX_COMMENT = 10_000
#: Readers see the summary in the review history, one line per review.
MAX_CHANGE_SUMMARY = 200


@dataclass(frozen=True)
class Transition:
    name: str
    label: StrOrPromise
    sources: frozenset[str]
    permission: str


def _t(name: str, label: StrOrPromise, sources: set[str], permission: str) -> Transition:
    return Transition(name, label, frozenset(sources), permission)


S = State
#: The transition table: which action is possible from which states, and the permission it needs.
TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        _t("save_draft", gettext_lazy("Save draft"), {S.DRAFT, S.CHANGES_REQUESTED, S.APPROVED, S.PUBLISHED}, EDIT),
        _t("submit", gettext_lazy("Submit for medical review"), {S.DRAFT, S.CHANGES_REQUESTED}, EDIT),
        _t("withdraw", gettext_lazy("Withdraw from review"), {S.IN_REVIEW}, EDIT),
        _t("request_changes", gettext_lazy("Request changes"), {S.IN_REVIEW}, REVIEW),
        _t("approve", gettext_lazy("Approve"), {S.IN_REVIEW}, REVIEW),
        _t("publish", gettext_lazy("Publish"), {S.APPROVED}, PUBLISH),
        _t("schedule_publish", gettext_lazy("Schedule publication"), {S.APPROVED}, PUBLISH),
        _t("cancel_schedule", gettext_lazy("Cancel scheduled publication"), {S.APPROVED}, PUBLISH),
        _t("reaffirm", gettext_lazy("Reaffirm as still accurate"), {S.PUBLISHED, S.DRAFT, S.CHANGES_REQUESTED, S.IN_REVIEW}, REVIEW),
        _t("archive", gettext_lazy("Archive"), {S.DRAFT, S.IN_REVIEW, S.CHANGES_REQUESTED, S.APPROVED, S.PUBLISHED}, PUBLISH),
        _t("restore", gettext_lazy("Restore as a new draft"), {S.ARCHIVED, S.DRAFT, S.CHANGES_REQUESTED, S.APPROVED, S.PUBLISHED}, EDIT),
        _t("set_review_interval", gettext_lazy("Change review interval"), set(S.values), EDIT),
    ]
}  # fmt: skip
# Actions whose actor must not have written or submitted the revision they judge.
INDEPENDENT_REVIEW = {"approve", "request_changes", "reaffirm"}


# ---------------------------------------------------------------- guards


def _user_name(user: _AnyUser | None) -> str:
    profile = getattr(user, "reviewer_profile", None) if user is not None and user.pk else None
    if profile is not None:
        return one_line(profile.display_name)
    if user is None or not user.is_authenticated:
        return _("anonymous")
    return one_line(user.get_full_name() or user.get_username())


def _check_permission(user: _AnyUser | None, transition: Transition) -> None:
    if user is None or not user.is_authenticated or not user.has_perm(transition.permission):
        raise NotPermitted(_("You do not have permission to %(action)s.") % {"action": str(transition.label).lower()})


def _check_state(item: ContentItem, transition: Transition) -> None:
    if item.state not in transition.sources:
        raise TransitionNotAllowed(
            _("Cannot %(action)s “%(title)s”: it is %(state)s.")
            % {"action": str(transition.label).lower(), "title": item.title, "state": item.get_state_display().lower()}
        )
    if transition.name == "reaffirm" and item.live_revision_id is None:
        raise TransitionNotAllowed(_("“%(title)s” has no live revision to reaffirm.") % {"title": item.title})
    if transition.name == "cancel_schedule" and item.publish_at is None:
        raise TransitionNotAllowed(_("“%(title)s” is not scheduled to publish.") % {"title": item.title})


def _contributions(revision: Any) -> tuple[QuerySet[RevisionAuthor], QuerySet[WorkflowEvent]]:
    """The four-eyes rule's records for ``revision`` (a Revision, its id or an ``OuterRef``): the authors of
    its text (see :func:`_text_authors`) and its submissions."""
    return (
        RevisionAuthor.objects.filter(revision=revision),
        WorkflowEvent.objects.filter(action="healthlib.submit", revision=revision),
    )


def contributors(item: ContentItem, revision: Revision) -> set[int]:
    """Users who must not judge ``revision``: the authors of its text (see :func:`_text_authors`) and its submitters."""
    authors, submissions = _contributions(revision)
    ids = {
        *authors.values_list("user_id", flat=True),
        *submissions.filter(item=item).values_list("actor_id", flat=True),
    }
    return {pk for pk in ids if pk is not None}


def contributed(user: _User, revision: Revision | OuterRef) -> Q:
    """A filter: ``user`` is one of :func:`contributors` of ``revision``.

    ``revision`` may be an ``OuterRef``, to apply the same rule to many items in one query (the review queue).
    """
    authors, submissions = _contributions(revision)
    return Q(Exists(authors.filter(user=user))) | Q(Exists(submissions.filter(actor=user)))


def _check_independent(item: ContentItem, user: _AnyUser, revision: Revision, transition: Transition) -> None:
    if user.pk in contributors(item, revision):
        raise ReviewerIsAuthor(
            _("You wrote or submitted this revision of “%(title)s”, so another medical reviewer must %(action)s it.")
            % {"title": item.title, "action": str(transition.label).lower()}
        )


def check(user: _AnyUser, action: str, item: ContentItem) -> None:
    """Raise the WorkflowError that ``action`` by ``user`` on ``item`` would raise now, if any.

    Checks permission (first, so refusals reveal nothing to outsiders), state and reviewer independence; not the stale-version check,
    which needs the revision the user saw.
    """
    transition = TRANSITIONS[action]
    _check_permission(user, transition)
    _check_state(item, transition)
    if action in INDEPENDENT_REVIEW:
        revision = item.live_revision if action == "reaffirm" else item.latest_revision
        assert revision is not None  # _check_state refused reaffirm without a live revision
        _check_independent(item, user, revision, transition)


def can(user: _AnyUser, action: str, item: ContentItem) -> bool:
    """True when ``user`` may perform ``action`` on ``item`` in its current state."""
    try:
        check(user, action, item)
    except (TransitionNotAllowed, NotPermitted):
        return False
    return True


def available_actions(user: _AnyUser, item: ContentItem) -> list[Transition]:
    """The transitions the user may perform now, in table order."""
    return [t for name, t in TRANSITIONS.items() if name != "save_draft" and can(user, name, item)]


# ---------------------------------------------------------------- shared steps


@overload
def _lock(item: Article) -> Article: ...
@overload
def _lock(item: GlossaryTerm) -> GlossaryTerm: ...
@overload
def _lock(item: ContentItem) -> Article | GlossaryTerm: ...
def _lock(item: ContentItem) -> Article | GlossaryTerm:
    """Lock the item's row for the rest of the transaction and return a fresh copy."""
    ContentItem.objects.select_for_update().filter(pk=item.pk).values_list("pk", flat=True).get()
    return (
        ContentItem.specific_model(item.kind).objects.select_related("latest_revision", "live_revision").get(pk=item.pk)
    )


def _full_clean(item: ContentItem, exclude: list[str]) -> None:
    """Model validation (slug rules and length, article type), refused as InvalidContent like content errors."""
    try:
        # Uniqueness is checked by the caller (with a friendlier message) and by the database.
        item.full_clean(exclude=exclude, validate_unique=False)
    except ValidationError as error:
        errors = {field: [str(m) for m in messages] for field, messages in error.message_dict.items()}
        details = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
        raise InvalidContent(_("The details are not valid (%(details)s).") % {"details": details}, errors) from None


@overload
def _revision_id(revision: Revision | int) -> int: ...
@overload
def _revision_id(revision: Revision | int | None) -> int | None: ...
def _revision_id(revision: Revision | int | None) -> int | None:
    return revision.pk if isinstance(revision, Revision) else revision


def _expect(
    item: ContentItem, seen: Revision | int | None, current: Revision | None, what: str, *, required: bool = False
) -> None:
    """Refuse when the user acted on a revision that is no longer the current one.

    ``required``: for saves, which write new text. A save that does not name its base would replace
    whatever is latest, however new, so it is refused instead of taken as based on the latest.
    """
    seen_id = _revision_id(seen)
    if required and not seen_id:
        raise NoBaseRevision(
            _(
                "The save did not say which revision of “%(title)s” it builds on, so nothing was saved. Reload and try again."
            )
            % {"title": item.title},
            {"based_on": [_("Required.")]},
        )
    if seen_id is None or current is None or seen_id == current.pk:
        return
    raise StaleVersion(
        _(
            "“%(title)s” changed while you were looking at it: the %(what)s revision is now revision %(n)d, "
            "saved by %(who)s on %(when)s. Reload to see it."
        )
        % {
            "title": item.title,
            "what": what,
            "n": current.number,
            "who": current.created_by_name,
            "when": timezone.localtime(current.created_at).strftime("%Y-%m-%d %H:%M"),
        }
    )


def _clean_comment(comment: str, *, required: bool = False) -> str:
    comment = (comment or "").strip()
    if required and not comment:
        raise InvalidContent(
            _("Please say what needs to change: a comment is required."), {"comment": [_("Required.")]}
        )
    if len(comment) > MAX_COMMENT:
        raise InvalidContent(_("The comment is too long (limit %(n)d characters).") % {"n": MAX_COMMENT})
    return comment


def _intact(item: ContentItem, revision: Revision) -> None:
    if not revision.hash_is_intact():
        raise ContentHashMismatch(
            _("Revision %(n)d of “%(title)s” no longer matches its content hash; it cannot be reviewed or published.")
            % {"n": revision.number, "title": item.title}
        )


def _clean_content(
    item_or_kind: ContentItem | str, content: dict[str, Any], slug: str, pending_slugs: Collection[str] = ()
) -> dict[str, Any]:
    kind = getattr(item_or_kind, "kind", item_or_kind)
    if kind == Kind.ARTICLE:
        return clean_article_content(content)
    known = set(GlossaryTerm.objects.values_list("slug", flat=True)) | set(pending_slugs)
    return clean_term_content(content, known_slugs=known, own_slug=slug)


def _new_revision(item: ContentItem, user: _User, content: dict[str, Any], based_on: Revision | None) -> Revision:
    kind_is_article = item.kind == Kind.ARTICLE
    text = (
        "\n\n".join([content["summary"], content["body"]])
        if kind_is_article
        else "\n\n".join([content["short_definition"], content["full_definition"]])
    )
    stats = measure(render_document(text).html)
    number = (item.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    revision = Revision.objects.create(
        item=item,
        number=number,
        title=content["title"] if kind_is_article else content["term"],
        content=content,
        content_hash=content_hash(content),
        based_on=based_on,
        created_by=user,
        created_by_name=_user_name(user),
        word_count=stats.words,
        readability_grade=stats.grade,
        reading_minutes=stats.reading_minutes,
    )
    RevisionAuthor.objects.bulk_create(
        RevisionAuthor(revision=revision, user_id=pk, user_name=name)
        for pk, name in _text_authors(user, revision, based_on).items()
    )
    item.latest_revision = revision
    item.title = revision.title
    return revision


def _text_authors(user: _User, revision: Revision, based_on: Revision | None) -> dict[int, str]:
    """Who wrote the text of a new ``revision``: the user saving it, and the authors of the text it carries over.

    The text a revision carries over is that of every revision with the same content (in any item:
    a restore, an import of an exported file, a copy, or old text pasted back all repeat it exactly)
    and, unless it was published, that of the revision it was edited from: published text was judged
    by an independent reviewer, so from then on only the changes made to it need one.
    """
    published = WorkflowEvent.objects.filter(revision=OuterRef("revision"), action="healthlib.publish")
    carried = Q(revision__content_hash=revision.content_hash)
    if based_on is not None:
        carried |= Q(revision=based_on) & ~Exists(published)  # type: ignore[assignment]  # django-stubs types Q & Exists as Combinable; it is a Q
    authors = {user.pk: _user_name(user)}
    # Deleted users (user is NULL) cannot judge anything, so they need no row.
    rows = RevisionAuthor.objects.filter(carried, user__isnull=False).exclude(revision=revision)
    for pk, name in rows.values_list("user_id", "user_name").order_by("revision_id"):
        authors.setdefault(pk, name)
    return authors


def _reviewer_credentials(user: _User) -> str:
    profile = getattr(user, "reviewer_profile", None)
    if profile is None:
        return ""
    return one_line(", ".join(part for part in (profile.credentials, profile.specialty) if part))


def _clean_change_summary(summary: str) -> str:
    # One line on a public page: newlines, runs of spaces and control or bidi characters would only garble it.
    summary = one_line(summary)
    if len(summary) > MAX_CHANGE_SUMMARY:
        raise InvalidContent(
            _("The summary of what changed is too long (limit %(n)d characters).") % {"n": MAX_CHANGE_SUMMARY},
            {"change_summary": [_("Too long.")]},
        )
    return summary


def _review(
    item: ContentItem,
    revision: Revision,
    user: _User,
    decision: str,
    comment: str,
    *,
    verification: CredentialVerification | None = None,
    change_summary: str = "",
) -> Review:
    if verification is not None:
        # What was verified, not what the profile says: the two are equal (credentials.require_current).
        shown = ", ".join(part for part in (verification.credentials, verification.specialty) if part)
    else:
        shown = _reviewer_credentials(user)
    return Review.objects.create(
        revision=revision,
        content_hash=revision.content_hash,
        round=item.review_round,
        decision=decision,
        reviewer=user,
        reviewer_name=_user_name(user),
        reviewer_credentials=shown,
        comment=comment,
        change_summary=change_summary,
        credential_check=verification,
    )


def _finish(
    item: ContentItem,
    *,
    action: str,
    from_state: str,
    user: _User | None,
    revision: Revision | None,
    comment: str = "",
    signal: Signal | None = None,
    review: Review | None = None,
) -> WorkflowEvent:
    """Save the item (with its stored reader page), write its one audit event and queue the signal for after commit."""
    # Purges recorded here (healthlib.purge) are sent after commit, after the signal's receivers have
    # retired healthlib's own cached pages: a reader's request in between would hand the edge the old page.
    with purge.holding():
        publishing.save(item)
        if signal in (signals.published, signals.archived):
            # In this transaction, not after it: a glossary term's re-link, run as soon as the term commits,
            # finds the articles through the index, and an article published a moment earlier must be there.
            search.index_item(item)
        if isinstance(item, GlossaryTerm) and signal in (signals.published, signals.archived):
            # Recorded in this transaction, done after commit (healthlib.derived_work): never half-done.
            derived_work.record_term_change(item)
        purge.record_transition(item, action)  # the HTTP cache in front, after commit (healthlib.purge)
        event = WorkflowEvent.objects.create(
            item=item,
            revision=revision,
            action=f"healthlib.{action}",
            from_state=from_state,
            to_state=item.state,
            actor=user if user is not None and user.pk else None,
            actor_name=_user_name(user),
            comment=comment,
        )
        if signal is not None:
            transaction.on_commit(
                partial(
                    _send,
                    signal,
                    sender=type(item),
                    item=item,
                    revision=revision,
                    user=user,
                    review=review,
                    event=event,
                )
            )
    return event


def _clear_submission(item: ContentItem) -> None:
    """The item leaves review: forget its pending submission (the audit log keeps it)."""
    item.submitted_at = None
    item.submitted_by = None
    item.submitted_by_name = ""


def _send(signal: Signal, **kwargs: Any) -> None:
    for receiver, result in signal.send_robust(**kwargs):
        if isinstance(result, Exception):
            logger.error("healthlib signal receiver %r failed", receiver, exc_info=result)


def _sync(original: ContentItem, fresh: _Item) -> _Item:
    """Copy the fresh state back onto the caller's instance, so it is not left stale."""
    if original is not fresh:
        original.refresh_from_db()
    return fresh


# ---------------------------------------------------------------- creating


def create_article(
    user: _User,
    *,
    slug: str,
    article_type: str,
    content: dict[str, Any],
    topics: Sequence[Topic] = (),
    owner: _User | None = None,
    review_interval_days: int | None = None,
) -> Article:
    """Create an article with its first draft revision."""
    _check_permission(user, TRANSITIONS["save_draft"])
    cleaned = clean_article_content(content)
    article = Article(
        slug=slug, article_type=article_type, owner=owner or user, review_interval_days=review_interval_days
    )
    # Before any query: a slug with a NUL byte would be a database error on PostgreSQL, not a refusal.
    _full_clean(article, exclude=["title", "topics", "owner"])
    with transaction.atomic():
        if Article.objects.filter(slug=slug).exists():
            raise InvalidContent(
                _("An article with the address “%(slug)s” already exists.") % {"slug": slug}, {"slug": [_("Taken.")]}
            )
        article.title = cleaned["title"]
        article.save()
        article.topics.set(topics)
        revision = _new_revision(article, user, cleaned, None)
        _finish(article, action="create", from_state="", user=user, revision=revision)
    return article


def create_glossary_term(
    user: _User, *, slug: str, content: dict[str, Any], owner: _User | None = None, pending_slugs: Collection[str] = ()
) -> GlossaryTerm:
    """Create a glossary term with its first draft revision.

    ``pending_slugs`` are glossary terms created later in the same transaction (a content import
    of terms that name each other); ``related_terms`` may name them as well as existing terms.
    """
    _check_permission(user, TRANSITIONS["save_draft"])
    term = GlossaryTerm(slug=slug, owner=owner or user)
    _full_clean(term, exclude=["title", "owner"])  # before any query, as in create_article
    with transaction.atomic():
        if GlossaryTerm.objects.filter(slug=slug).exists():
            raise InvalidContent(
                _("A glossary term with the address “%(slug)s” already exists.") % {"slug": slug},
                {"slug": [_("Taken.")]},
            )
        cleaned = _clean_content(Kind.GLOSSARY_TERM, content, slug, pending_slugs)
        term.title = cleaned["term"]
        term.save()
        revision = _new_revision(term, user, cleaned, None)
        _finish(term, action="create", from_state="", user=user, revision=revision)
    return term


# ---------------------------------------------------------------- transitions


def save_draft(
    item: ContentItem,
    user: _User,
    content: dict[str, Any],
    *,
    based_on: Revision | int,
    pending_slugs: Collection[str] = (),
) -> Revision:
    """Save edited content as a new draft revision.

    ``based_on`` is the revision the editor started from; if someone saved since, the save is
    refused with :class:`StaleVersion` rather than merged. Saving unchanged content does nothing.
    A published item keeps serving its live revision until the new draft is approved and published.
    ``pending_slugs``: as for :func:`create_glossary_term`.
    """
    transition = TRANSITIONS["save_draft"]
    with transaction.atomic():
        fresh = _lock(item)
        _check_permission(user, transition)
        _check_state(fresh, transition)
        _expect(fresh, based_on, fresh.latest_revision, _("latest"), required=True)
        cleaned = _clean_content(fresh, content, fresh.slug, pending_slugs)
        latest = fresh.latest_revision
        assert latest is not None  # every item has a revision from its creation on
        if content_hash(cleaned) == latest.content_hash:
            return latest
        from_state = fresh.state
        revision = _new_revision(fresh, user, cleaned, latest)
        fresh.state = State.DRAFT
        fresh.publish_at = None
        _finish(fresh, action="save_draft", from_state=from_state, user=user, revision=revision)
    _sync(item, fresh)
    return revision


def submit(item: ContentItem, user: _User, *, revision: Revision | int | None = None, comment: str = "") -> ContentItem:
    """Send the latest revision to medical review."""
    transition = TRANSITIONS["submit"]
    with transaction.atomic():
        fresh = _lock(item)
        _check_permission(user, transition)
        _check_state(fresh, transition)
        _expect(fresh, revision, fresh.latest_revision, _("latest"))
        comment = _clean_comment(comment)
        latest = fresh.latest_revision
        assert latest is not None  # every item has a revision from its creation on
        if fresh.live_revision and fresh.live_revision.content_hash == latest.content_hash:
            raise TransitionNotAllowed(
                _("This draft is identical to the live page. Make a change first, or ask a reviewer to reaffirm it.")
            )
        checklist.enforce(fresh, latest)
        from_state = fresh.state
        fresh.review_round += 1
        fresh.state = State.IN_REVIEW
        # Read by the review queue (oldest submission first), which must not search the audit log.
        fresh.submitted_at = timezone.now()
        fresh.submitted_by = user
        fresh.submitted_by_name = _user_name(user)
        _finish(
            fresh,
            action="submit",
            from_state=from_state,
            user=user,
            revision=latest,
            comment=comment,
            signal=signals.submitted,
        )
    return _sync(item, fresh)


def withdraw(
    item: ContentItem, user: _User, *, revision: Revision | int | None = None, comment: str = ""
) -> ContentItem:
    """Take the latest revision out of review and back to draft."""
    transition = TRANSITIONS["withdraw"]
    with transaction.atomic():
        fresh = _lock(item)
        _check_permission(user, transition)
        _check_state(fresh, transition)
        _expect(fresh, revision, fresh.latest_revision, _("latest"))
        comment = _clean_comment(comment)
        fresh.state = State.DRAFT
        _clear_submission(fresh)
        _finish(
            fresh,
            action="withdraw",
            from_state=State.IN_REVIEW,
            user=user,
            revision=fresh.latest_revision,
            comment=comment,
        )
    return _sync(item, fresh)


def request_changes(item: ContentItem, user: _User, *, revision: Revision | int | None = None, comment: str) -> Review:
    """A medical reviewer sends the revision back to its editor. A comment is required."""
    transition = TRANSITIONS["request_changes"]
    with transaction.atomic():
        fresh = _lock(item)
        _check_permission(user, transition)
        _check_state(fresh, transition)
        _expect(fresh, revision, fresh.latest_revision, _("latest"))
        latest = fresh.latest_revision
        assert latest is not None  # every item has a revision from its creation on
        _check_independent(fresh, user, latest, transition)
        comment = _clean_comment(comment, required=True)
        review = _review(fresh, latest, user, Decision.CHANGES_REQUESTED, comment)
        fresh.state = State.CHANGES_REQUESTED
        _clear_submission(fresh)
        _finish(
            fresh, action="request_changes", from_state=State.IN_REVIEW, user=user, revision=latest,
            comment=comment, signal=signals.changes_requested, review=review,
        )  # fmt: skip
    _sync(item, fresh)
    return review


def _approvals(item: ContentItem, revision: Revision) -> QuerySet[Review]:
    return Review.objects.filter(
        revision=revision, round=item.review_round, decision=Decision.APPROVED, content_hash=revision.content_hash
    )


def approve(
    item: ContentItem,
    user: _User,
    *,
    revision: Revision | int | None = None,
    comment: str = "",
    change_summary: str = "",
) -> Review:
    """A medical reviewer approves the exact content of the latest revision.

    With ``REQUIRED_APPROVALS`` > 1 the item stays in review until that many distinct
    reviewers have approved the same content hash. The reviewer's credentials must have a current
    verification (:func:`healthlib.credentials.require_current`). ``change_summary`` ("Added:
    fertility section") is shown to readers in the review history.
    """
    transition = TRANSITIONS["approve"]
    with transaction.atomic():
        fresh = _lock(item)
        _check_permission(user, transition)
        _check_state(fresh, transition)
        _expect(fresh, revision, fresh.latest_revision, _("latest"))
        latest = fresh.latest_revision
        assert latest is not None  # every item has a revision from its creation on
        _intact(fresh, latest)
        _check_independent(fresh, user, latest, transition)
        verification = credentials.require_current(user, transition.label)
        if _approvals(fresh, latest).filter(reviewer=user).exists():
            raise AlreadyReviewed(_("You have already approved this revision; another reviewer must approve it too."))
        comment = _clean_comment(comment)
        change_summary = _clean_change_summary(change_summary)
        review = _review(
            fresh, latest, user, Decision.APPROVED, comment, verification=verification, change_summary=change_summary
        )
        # One approval per reviewer per round is enforced above, so counting reviews counts reviewers.
        if _approvals(fresh, latest).count() >= healthlib_settings.REQUIRED_APPROVALS:
            fresh.state = State.APPROVED
            _clear_submission(fresh)
        _finish(
            fresh, action="approve", from_state=State.IN_REVIEW, user=user, revision=latest,
            comment=comment, signal=signals.approved, review=review,
        )  # fmt: skip
    _sync(item, fresh)
    return review


def publish(item: ContentItem, user: _User, *, revision: Revision | int | None = None) -> ContentItem:
    """Make the approved revision live, replacing any previous live revision atomically."""
    transition = TRANSITIONS["publish"]
    with transaction.atomic():
        fresh = _lock(item)
        _check_permission(user, transition)
        _check_state(fresh, transition)
        _expect(fresh, revision, fresh.latest_revision, _("approved"))
        latest = fresh.latest_revision
        assert latest is not None  # every item has a revision from its creation on
        _intact(fresh, latest)
        approvals = list(_approvals(fresh, latest))
        required = healthlib_settings.REQUIRED_APPROVALS
        if len(approvals) < required:
            raise TransitionNotAllowed(
                _(
                    "“%(title)s” needs %(required)d approvals of this exact content before it can be published; it has %(n)d."
                )
                % {"title": fresh.title, "required": required, "n": len(approvals)}
            )
        reviewed_at = max(review.reviewed_at for review in approvals)
        if fresh.last_reviewed_at and reviewed_at < fresh.last_reviewed_at:
            raise TransitionNotAllowed(
                _("The approval predates the live page's last review; ask a reviewer to approve it again.")
            )
        checklist.enforce(fresh, latest)
        now = timezone.now()
        fresh.live_revision = latest
        fresh.state = State.PUBLISHED
        fresh.first_published_at = fresh.first_published_at or now
        fresh.last_published_at = now
        fresh.last_reviewed_at = reviewed_at
        fresh.live_reviewers = [
            {"name": r.reviewer_name, "credentials": r.reviewer_credentials}
            for r in sorted(approvals, key=lambda r: r.pk)
        ]
        fresh.next_review_due = fresh.compute_next_review_due()
        fresh.publish_at = None
        publishing.set_live_content(fresh, latest)
        _finish(
            fresh, action="publish", from_state=State.APPROVED, user=user, revision=latest, signal=signals.published
        )
    return _sync(item, fresh)


def schedule_publish(
    item: ContentItem, user: _User, *, at: datetime.datetime, revision: Revision | int | None = None
) -> ContentItem:
    """Give the approved revision a go-live time; :func:`healthlib.scheduling.publish_due` publishes it then.

    ``at`` must be timezone-aware and in the future. Scheduling again moves the time. Saving a new
    draft or archiving cancels the schedule; publishing by hand clears it.
    """
    transition = TRANSITIONS["schedule_publish"]
    if not isinstance(at, datetime.datetime) or timezone.is_naive(at):
        raise InvalidContent(
            _("Give the go-live time with its time zone."), {"publish_at": [_("A date and time with a time zone.")]}
        )
    with transaction.atomic():
        fresh = _lock(item)
        _check_permission(user, transition)
        _check_state(fresh, transition)
        _expect(fresh, revision, fresh.latest_revision, _("approved"))
        if at <= timezone.now():
            raise InvalidContent(
                _("The go-live time must be in the future."), {"publish_at": [_("Must be in the future.")]}
            )
        checklist.enforce(fresh, fresh.latest_revision)
        fresh.publish_at = at
        fresh.scheduled_by = user
        _finish(
            fresh, action="schedule", from_state=fresh.state, user=user, revision=fresh.latest_revision,
            comment=_("Scheduled to publish at %(when)s.") % {"when": timezone.localtime(at).strftime("%Y-%m-%d %H:%M %Z")},
        )  # fmt: skip
    return _sync(item, fresh)


def cancel_schedule(item: ContentItem, user: _User) -> ContentItem:
    """Remove the go-live time of a scheduled item; it stays approved."""
    transition = TRANSITIONS["cancel_schedule"]
    with transaction.atomic():
        fresh = _lock(item)
        _check_permission(user, transition)
        _check_state(fresh, transition)
        fresh.publish_at = None
        fresh.scheduled_by = None
        _finish(fresh, action="cancel_schedule", from_state=fresh.state, user=user, revision=fresh.latest_revision)
    return _sync(item, fresh)


def reaffirm(
    item: ContentItem,
    user: _User,
    *,
    revision: Revision | int | None = None,
    comment: str = "",
    change_summary: str = "",
) -> Review:
    """A medical reviewer confirms the live revision is still accurate, stamping a new review date.

    Needs a current verification of the reviewer's credentials, as :func:`approve` does.
    """
    transition = TRANSITIONS["reaffirm"]
    with transaction.atomic():
        fresh = _lock(item)
        _check_permission(user, transition)
        _check_state(fresh, transition)
        _expect(fresh, revision, fresh.live_revision, _("live"))
        live = fresh.live_revision
        assert live is not None  # _check_state refused reaffirm without a live revision
        _intact(fresh, live)
        _check_independent(fresh, user, live, transition)
        verification = credentials.require_current(user, transition.label)
        comment = _clean_comment(comment)
        change_summary = _clean_change_summary(change_summary)
        review = _review(
            fresh, live, user, Decision.REAFFIRMED, comment, verification=verification, change_summary=change_summary
        )
        fresh.last_reviewed_at = review.reviewed_at
        fresh.live_reviewers = [{"name": review.reviewer_name, "credentials": review.reviewer_credentials}]
        fresh.next_review_due = fresh.compute_next_review_due()
        _finish(
            fresh, action="reaffirm", from_state=fresh.state, user=user, revision=live,
            comment=comment, signal=signals.reaffirmed, review=review,
        )  # fmt: skip
    _sync(item, fresh)
    return review


def _replacement(item: ContentItem, replacement: ContentItem | int | None) -> ContentItem | None:
    """The live item of the same kind that readers of the archived item are sent to, or refused.

    Not locked: two editors archiving two pages each in favour of the other must not deadlock, and
    the reader's side sends readers on only while the replacement is live (else the page is 410).
    """
    if replacement is None:
        return None
    pk = replacement.pk if isinstance(replacement, ContentItem) else replacement
    target = ContentItem.objects.filter(pk=pk, kind=item.kind).first()
    if target is None or target.pk == item.pk or target.live_revision_id is None:
        raise InvalidContent(
            _("The replacement must be another live %(kind)s.") % {"kind": item.get_kind_display().lower()},
            {"replacement": [_("Choose a published page.")]},
        )
    return target


def archive(
    item: ContentItem, user: _User, *, comment: str = "", replacement: ContentItem | int | None = None
) -> ContentItem:
    """Take the item off the site. Its revisions, reviews and history stay.

    Readers of a page that was live are answered 410 Gone, or sent (301) to ``replacement``: another
    live item of the same kind, named in the audit event.
    """
    transition = TRANSITIONS["archive"]
    with transaction.atomic():
        fresh = _lock(item)
        _check_permission(user, transition)
        _check_state(fresh, transition)
        comment = _clean_comment(comment)
        target = _replacement(fresh, replacement)
        if target is not None:
            note = _("Replaced by “%(title)s” (%(url)s).") % {
                "title": target.title,
                "url": target.specific().get_absolute_url(),
            }
            comment = f"{comment}\n\n{note}" if comment else note
        from_state = fresh.state
        fresh.state = State.ARCHIVED
        fresh.replaced_by = target
        _clear_submission(fresh)
        fresh.live_revision = None
        fresh.next_review_due = None
        fresh.publish_at = None
        publishing.clear_live_content(fresh)
        _finish(
            fresh, action="archive", from_state=from_state, user=user, revision=fresh.latest_revision,
            comment=comment, signal=signals.archived,
        )  # fmt: skip
    return _sync(item, fresh)


def restore(item: ContentItem, user: _User, *, revision: Revision | int, based_on: Revision | int) -> Revision:
    """Copy an old revision's content into a new draft revision. History is never rewritten.

    ``based_on`` is the latest revision the editor saw, as for :func:`save_draft`. The new draft keeps
    the authors of the text it copies (reviewer independence is judged against them).
    """
    transition = TRANSITIONS["restore"]
    with transaction.atomic():
        fresh = _lock(item)
        _check_permission(user, transition)
        _check_state(fresh, transition)
        _expect(fresh, based_on, fresh.latest_revision, _("latest"), required=True)
        source = Revision.objects.filter(item=fresh, pk=_revision_id(revision)).first()
        if source is None:
            raise InvalidContent(_("That revision does not belong to “%(title)s”.") % {"title": fresh.title})
        cleaned = _clean_content(fresh, source.content, fresh.slug)
        from_state = fresh.state
        new = _new_revision(fresh, user, cleaned, source)
        fresh.state = State.DRAFT
        fresh.replaced_by = None
        _finish(
            fresh, action="restore", from_state=from_state, user=user, revision=new,
            comment=_("Restored from revision %(n)d.") % {"n": source.number},
        )  # fmt: skip
    _sync(item, fresh)
    return new


def set_review_interval(item: ContentItem, user: _User, days: int | None) -> ContentItem:
    """Change how often the item must be re-reviewed (``None``: the library default)."""
    transition = TRANSITIONS["set_review_interval"]
    if days is not None and not is_review_interval(days):
        raise InvalidContent(
            _("The review interval must be between 1 and %(max)d days.") % {"max": MAX_REVIEW_INTERVAL_DAYS}
        )
    with transaction.atomic():
        fresh = _lock(item)
        _check_permission(user, transition)
        if fresh.review_interval_days == days:
            return fresh
        fresh.review_interval_days = days
        fresh.next_review_due = fresh.compute_next_review_due() if fresh.is_live else None
        _finish(
            fresh, action="set_review_interval", from_state=fresh.state, user=user, revision=fresh.latest_revision,
            comment=_("Review interval: %(d)s days.") % {"d": days or healthlib_settings.REVIEW_INTERVAL_DAYS},
            signal=signals.details_changed,
        )  # fmt: skip
    return _sync(item, fresh)


#: Not in TRANSITIONS: type and topics are filing details, not reviewed content, so no state changes.
_SET_DETAILS = Transition("set_details", gettext_lazy("Change article type and topics"), frozenset(S.values), EDIT)


def set_article_details(article: Article, user: _User, *, article_type: str, topics: Sequence[Topic]) -> Article:
    """Change an article's type and topics (how it is filed, not what readers read), with an audit event."""
    if article_type not in ArticleType.values:
        raise InvalidContent(_("Unknown article type “%(type)s”.") % {"type": article_type})
    with transaction.atomic():
        fresh = _lock(article)
        _check_permission(user, _SET_DETAILS)
        wanted = {topic.pk for topic in topics}
        if fresh.article_type == article_type and set(fresh.topics.values_list("pk", flat=True)) == wanted:
            return fresh
        fresh.article_type = article_type
        fresh.topics.set(topics)
        _finish(
            fresh, action="set_details", from_state=fresh.state, user=user, revision=fresh.latest_revision,
            comment=_("Type: %(type)s. Topics: %(topics)s.")
            % {"type": fresh.get_article_type_display(), "topics": ", ".join(t.name for t in topics) or "-"},
            signal=signals.details_changed,
        )  # fmt: skip
    return _sync(article, fresh)
