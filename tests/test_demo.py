"""load_demo: accounts, the pack through import, a believable review history; safe to run twice."""

from __future__ import annotations

import datetime
import io

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import override_settings

from healthlib.conf import healthlib_settings
from healthlib.models import (
    ContentItem,
    Decision,
    OutgoingEmail,
    Review,
    ReviewerProfile,
    Revision,
    State,
    WorkflowEvent,
)
from immunotherapy.management.commands.load_demo import Command as LoadDemo


def load() -> str:
    out = io.StringIO()
    call_command(LoadDemo(), stdout=out, stderr=out)
    return out.getvalue()


def snapshot() -> tuple[int, ...]:
    return (
        User.objects.count(),
        ContentItem.objects.count(),
        Revision.objects.count(),
        Review.objects.count(),
        WorkflowEvent.objects.count(),
    )


@override_settings(DEMO_PASSWORD="demo-pw")
def test_load_demo_twice(db):
    output = load()
    first = snapshot()
    again = load()
    assert snapshot() == first
    assert "already loaded; nothing changed" in again
    assert not mail.outbox  # the simulated history sends no email
    assert not OutgoingEmail.objects.exists()  # nor records one for a task worker to send later

    # Accounts, with the demo password and the right roles.
    editor = User.objects.get(username="editor")
    assert editor.is_staff and editor.groups.filter(name=healthlib_settings.EDITOR_GROUP).exists()
    assert editor.check_password("demo-pw")
    reviewers = User.objects.filter(groups__name=healthlib_settings.REVIEWER_GROUP)
    assert sorted(reviewers.values_list("username", flat=True)) == ["dr.okafor", "dr.rivera"]
    assert ReviewerProfile.objects.get(user__username="dr.rivera").byline == "Elena Rivera, MD, medical oncology"
    assert User.objects.get(username="admin").is_superuser
    for text in ("http://127.0.0.1:8000/health/", "http://127.0.0.1:8000/admin/", "/health/articles/", "demo-pw"):
        assert text in output
    for username in ("editor", "dr.rivera", "dr.okafor", "verifier", "admin"):
        assert username in output
    assert "Its review history" in output and "/reviews/" in output

    # A realistic spread of states.
    items = [item.specific() for item in ContentItem.objects.all()]
    live = [item for item in items if item.live_revision_id]
    assert len(live) >= 0.8 * len(items)
    never_published_drafts = [i for i in items if i.state == State.DRAFT and not i.live_revision_id]
    assert len(never_published_drafts) >= 2
    assert any(i.state == State.IN_REVIEW for i in items)
    [sent_back] = [i for i in items if i.state == State.CHANGES_REQUESTED]
    review = Review.objects.get(revision=sent_back.latest_revision)
    assert review.decision == Decision.CHANGES_REQUESTED and len(review.comment) > 40
    newer_draft = [i for i in items if i.live_revision_id and i.state == State.DRAFT]
    assert newer_draft and all(i.latest_revision.number > i.live_revision.number for i in newer_draft)
    assert newer_draft[0].live_revision.content != newer_draft[0].latest_revision.content

    # Every live page was approved by a medical reviewer who did not write it.
    reviewer_names = set()
    for item in live:
        approvals = Review.objects.filter(revision=item.live_revision, decision=Decision.APPROVED)
        assert approvals.exists(), item
        for approval in approvals:
            assert approval.reviewer.groups.filter(name=healthlib_settings.REVIEWER_GROUP).exists()
            assert approval.reviewer != item.live_revision.created_by
            reviewer_names.add(approval.reviewer_name)
        assert item.last_reviewed_at == max(a.reviewed_at for a in approvals)
        actions = list(item.events.order_by("pk").values_list("action", flat=True))
        assert actions[:4] == ["healthlib.create", "healthlib.submit", "healthlib.approve", "healthlib.publish"]
    assert reviewer_names == {"Elena Rivera", "James Okafor"}


def test_load_demo_refuses_without_demo_settings(db):
    with pytest.raises(CommandError, match="DEMO_PASSWORD"):
        load()
    assert not User.objects.exists()


@override_settings(DEMO_PASSWORD="demo-pw")
def test_demo_reviewers_are_verified_and_one_is_due_soon(db, client):
    import hashlib

    from healthlib import credentials
    from healthlib.models import Article

    load()
    verifier = User.objects.get(username="verifier")
    assert verifier.groups.filter(name=healthlib_settings.VERIFIER_GROUP).exists()
    statuses = {
        p.user.username: credentials.status(p) for p in ReviewerProfile.objects.select_related("verification", "user")
    }
    assert statuses == {"dr.rivera": credentials.VALID, "dr.okafor": credentials.DUE}
    assert all(p.verification.verified_by == verifier for p in ReviewerProfile.objects.all())
    assert [row.user.username for row in credentials.needing_verification()] == ["dr.okafor"]
    # Every approval carries what changed, and the trail of a live article verifies.
    assert not Review.objects.filter(decision=Decision.APPROVED, change_summary="").exists()
    article = Article.objects.filter(live_revision__isnull=False).order_by("slug").first()
    trail = client.get(f"/health/articles/{article.slug}/reviews/")
    assert trail.status_code == 200 and "First version" in trail.content.decode()
    live = client.get(f"/health/articles/{article.slug}/reviews/live.json").content
    assert hashlib.sha256(live).hexdigest() == article.live_revision.content_hash


@override_settings(DEMO_PASSWORD="demo-pw")
def test_loading_again_renews_lapsed_verifications_only(db):
    """A demo database kept past a verification's end, or made before licences existed, still lets reviewers judge."""
    from healthlib import credentials
    from tests.conftest import verify_for_test

    load()
    rivera = ReviewerProfile.objects.get(user__username="dr.rivera")
    okafor = ReviewerProfile.objects.select_related("verification").get(user__username="dr.okafor")
    kept = okafor.verification_id
    verify_for_test(rivera, datetime.date.today() - datetime.timedelta(days=3 * 365))
    ReviewerProfile.objects.filter(pk=rivera.pk).update(licensing_body="", licence_number="")
    load()
    rivera = ReviewerProfile.objects.select_related("verification").get(pk=rivera.pk)
    assert credentials.status(rivera) == credentials.VALID and rivera.licensing_body == "Demo State Medical Board"
    assert ReviewerProfile.objects.get(pk=okafor.pk).verification_id == kept
