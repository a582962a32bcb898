"""Reader error reports: the rate limit, sending a report and closing it.

A report is open until an editor or medical reviewer closes it with a note (what was done:
often a new revision, which goes through the normal workflow). The article's responsible
editor and the live revision's author get an email once the report is committed.

The rate limit counts POSTs per client and fixed window in the page cache
(``HEALTHLIB["CACHE_ALIAS"]``, shared between processes), so it needs no table and no
third-party service. The client is ``REMOTE_ADDR``: behind a proxy, set it from the proxy's
header in a middleware of your own (Django does not trust ``X-Forwarded-For`` by itself).
"""

from __future__ import annotations

import hashlib
import math
import time

from django.core.cache import caches
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from healthlib import notifications
from healthlib.conf import healthlib_settings
from healthlib.exceptions import InvalidContent, NotPermitted, TransitionNotAllowed
from healthlib.models import Article, ProblemReport, ReportStatus
from healthlib.models.reports import MAX_NOTE
from healthlib.roles import is_editor_or_reviewer

RATE_KEY = "healthlib:report-rate:{client}:{window}"


def _client(request: HttpRequest) -> str:
    # Hashed: the cache then holds no IP addresses.
    address = request.META.get("REMOTE_ADDR") or "unknown"
    return hashlib.sha256(address.encode()).hexdigest()[:32]


def throttle(request: HttpRequest) -> int | None:
    """Count one report attempt by this client; the seconds to wait if it is over the limit, else None."""
    window = healthlib_settings.REPORT_RATE_WINDOW
    now = time.time()
    key = RATE_KEY.format(client=_client(request), window=int(now // window))
    cache = caches[healthlib_settings.CACHE_ALIAS]
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=window)
        count = 1
    if count <= healthlib_settings.REPORT_RATE_LIMIT:
        return None
    return max(1, math.ceil(window - now % window))


def send_report(article: Article, *, message: str, email: str = "") -> ProblemReport:
    """Store a reader's report on the live article and notify its editors once it is committed."""
    with transaction.atomic():
        live_revision_id = Article.objects.filter(pk=article.pk).values_list("live_revision_id", flat=True).first()
        if live_revision_id is None:
            raise TransitionNotAllowed(_("This page is no longer published, so it cannot be reported."))
        report = ProblemReport.objects.create(
            article=article, revision_id=live_revision_id, message=message, email=email
        )
        # Recorded with the report, sent after the commit (healthlib.notifications).
        notifications.record_problem_report(report)
    return report


def may_close(user) -> bool:
    return is_editor_or_reviewer(user)


def close_report(report: ProblemReport, user, *, note: str) -> ProblemReport:
    """Close an open report with a note saying what was done. Editors and medical reviewers only."""
    if not may_close(user):
        raise NotPermitted(_("Only editors and medical reviewers may close reader reports."))
    note = (note or "").strip()
    if not note:
        raise InvalidContent(_("Say what was done: a closing note is required."), {"note": [_("Required.")]})
    if len(note) > MAX_NOTE:
        raise InvalidContent(_("The note is too long (limit %(n)d characters).") % {"n": MAX_NOTE})
    with transaction.atomic():
        fresh = ProblemReport.objects.select_for_update().get(pk=report.pk)
        if not fresh.is_open:
            raise TransitionNotAllowed(
                _("This report was already closed by %(who)s.") % {"who": fresh.closed_by_name or _("someone")}
            )
        fresh.status = ReportStatus.CLOSED
        fresh.closed_at = timezone.now()
        fresh.closed_by = user
        fresh.closed_by_name = user.get_full_name() or user.get_username()
        fresh.closing_note = note
        fresh.save(update_fields=["status", "closed_at", "closed_by", "closed_by_name", "closing_note"])
    return fresh
