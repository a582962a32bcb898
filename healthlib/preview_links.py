"""Shareable review links: a signed, expiring, read-only preview of one revision.

An editor creates a link (:func:`create_link`) for an outside expert who has no account. The
token carries the revision id and how long it stays valid, signed with ``SECRET_KEY``
(:class:`~django.core.signing.TimestampSigner`, salt ``"healthlib.preview"``), so nothing is
stored. The page is rendered through the one sanitizing pipeline, is never indexed or cached,
and a tampered or expired link answers 403. Each time it is opened, the item must not be archived
and the editor who shared it must still be active and allowed to edit (else 410). The review decision itself still needs an account.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from healthlib.exceptions import InvalidContent, NotPermitted
from healthlib.models import Article, Kind, Revision, State
from healthlib.previews import preview_item
from healthlib.roles import EDIT

logger = logging.getLogger(__name__)

SALT = "healthlib.preview"
DEFAULT_EXPIRY = datetime.timedelta(days=7)
MIN_EXPIRY = datetime.timedelta(minutes=1)
MAX_EXPIRY = datetime.timedelta(days=30)
PERMISSION = EDIT
TEMPLATE = "healthlib/shared_preview.html"


class PreviewLinkError(PermissionDenied):
    """The preview link cannot be used. Views answer with ``status_code``."""

    status_code = 403


class PreviewLinkTampered(PreviewLinkError):
    """The link was changed, truncated or signed with another key."""


class PreviewLinkExpired(PreviewLinkError):
    """The link was genuine but is older than the validity it was created with."""


class PreviewLinkRevoked(PreviewLinkError):
    """The link is genuine and in date, but what it shares is gone: the item was archived, or the editor
    who shared it is deactivated or may no longer edit. Views answer 410."""

    status_code = 410


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def _check_expiry(expires_in: datetime.timedelta) -> int:
    if not isinstance(expires_in, datetime.timedelta) or not MIN_EXPIRY <= expires_in <= MAX_EXPIRY:
        raise InvalidContent(
            _("A review link can be valid for at most %(days)d days.") % {"days": MAX_EXPIRY.days},
            {"expires_in": [_("Between one minute and %(days)d days.") % {"days": MAX_EXPIRY.days}]},
        )
    return int(expires_in.total_seconds())


def make_token(revision: Revision, *, expires_in: datetime.timedelta = DEFAULT_EXPIRY, created_by=None) -> str:
    """A signed token for ``revision`` that stays valid for ``expires_in`` (at most 30 days).

    Checks no permission: call :func:`create_link` from views and the admin.
    """
    max_age = _check_expiry(expires_in)
    payload = {"r": revision.pk, "s": max_age, "u": getattr(created_by, "pk", None)}
    return _signer().sign_object(payload, compress=True)


def create_link(user, revision: Revision, expires_in: datetime.timedelta = DEFAULT_EXPIRY) -> str:
    """Create a preview token for ``revision`` as ``user``, who needs the ``healthlib.edit_content`` permission.

    Raises :class:`NotPermitted` or, for an expiry over 30 days, :class:`InvalidContent`.
    Use :func:`url_for` for the link's path.
    """
    if user is None or not user.is_authenticated or not user.has_perm(PERMISSION):
        raise NotPermitted(_("You do not have permission to create review links."))
    token = make_token(revision, expires_in=expires_in, created_by=user)
    logger.info(
        "healthlib review link for revision %s of item %s created by %s, valid for %s",
        revision.pk,
        revision.item_id,
        user.get_username(),
        expires_in,
    )
    return token


def url_for(token: str) -> str:
    """The path of the shared preview page for ``token``."""
    return reverse("healthlib:shared_preview", kwargs={"token": token})


@dataclass(frozen=True)
class SharedPreview:
    revision: Revision
    created_at: datetime.datetime
    expires_at: datetime.datetime
    created_by_id: int | None


def inspect(token: str) -> SharedPreview:
    """Verify ``token`` and return what it grants, or raise PreviewLinkTampered / PreviewLinkExpired."""
    signer = _signer()
    try:
        payload = signer.unsign_object(token)
    except signing.BadSignature as error:
        raise PreviewLinkTampered(_("This review link is not valid. Ask the editor for a new one.")) from error
    if not (
        isinstance(payload, dict)
        and isinstance(payload.get("r"), int)
        and isinstance(payload.get("s"), int)
        and 0 < payload["s"] <= MAX_EXPIRY.total_seconds()
    ):
        raise PreviewLinkTampered(_("This review link is not valid. Ask the editor for a new one."))
    try:
        signer.unsign_object(token, max_age=payload["s"])
    except signing.SignatureExpired as error:
        raise PreviewLinkExpired(_("This review link has expired. Ask the editor for a new one.")) from error
    # The signature is verified, so the timestamp field (before the signature) is genuine.
    created_at = datetime.datetime.fromtimestamp(signing.b62_decode(token.rsplit(signer.sep, 2)[1]), tz=datetime.UTC)
    revision = Revision.objects.select_related("item").filter(pk=payload["r"]).first()
    if revision is None:
        raise PreviewLinkTampered(_("This review link is not valid. Ask the editor for a new one."))
    _check_still_shared(revision, payload.get("u"))
    return SharedPreview(
        revision=revision,
        created_at=created_at,
        expires_at=created_at + datetime.timedelta(seconds=payload["s"]),
        created_by_id=payload.get("u"),
    )


def _check_still_shared(revision: Revision, created_by_id) -> None:
    """Checked each time the link is opened: nothing is stored, so nothing else can revoke a link."""
    if revision.item.state == State.ARCHIVED:
        raise PreviewLinkRevoked(_("This review link no longer works: the content was archived."))
    creator = get_user_model().objects.filter(pk=created_by_id).first() if isinstance(created_by_id, int) else None
    # A token made without a creator (make_token called directly) has nobody who vouches for it.
    if creator is None or not creator.is_active or not creator.has_perm(PERMISSION):
        raise PreviewLinkRevoked(
            _(
                "This review link no longer works: the editor who shared it can no longer edit. Ask another editor for a new one."
            )
        )


def load(token: str) -> Revision:
    """The revision a valid token grants; raises :class:`PreviewLinkTampered` or :class:`PreviewLinkExpired`."""
    return inspect(token).revision


def _document(revision: Revision) -> dict:
    """What the page shows of ``revision``, rendered by the one preview renderer (:mod:`healthlib.previews`)."""
    shown = preview_item(revision)
    if isinstance(shown, Article):
        return {
            "kind": Kind.ARTICLE,
            "title": shown.live_title,
            "summary": shown.live_summary,
            "body_html": shown.live_body_html,
            "toc_html": shown.live_toc_html,
            "references": shown.live_references,
        }
    return {
        "kind": Kind.GLOSSARY_TERM,
        "title": shown.live_term,
        "aliases": shown.live_aliases,
        "pronunciation": shown.live_pronunciation,
        "short_definition": shown.live_short_definition,
        "full_definition_html": shown.live_full_definition_html,
        "professional_definition_html": shown.live_professional_definition_html,
    }


def _private(response):
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    # Links inside the preview must not leak the token to other sites through the Referer header.
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_safe
def shared_preview(request, token: str):
    """Read-only preview of one revision for whoever holds a valid link.

    403 for a bad or expired link; 410 once the item is archived or its creator may no longer edit.
    """
    try:
        shared = inspect(token)
    except PreviewLinkError as error:
        return _private(render(request, TEMPLATE, {"shared_error": str(error)}, status=error.status_code))
    context = {
        "shared": shared,
        "revision": shared.revision,
        "document": _document(shared.revision),
        "now": timezone.now(),
    }
    return _private(render(request, TEMPLATE, context))
