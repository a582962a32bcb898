"""Verified reviewer credentials (healthlib.credentials): who may verify, and what an unverified reviewer may not do."""

from __future__ import annotations

import calendar
import datetime

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.test import Client, override_settings
from django.utils import timezone

from healthlib import credentials, workflow
from healthlib.conf import healthlib_settings
from healthlib.exceptions import CredentialsNotVerified, InvalidContent, NotPermitted
from healthlib.models import AppendOnlyError, CredentialVerification, Review, ReviewerProfile, WorkflowEvent
from tests.conftest import make_user, verify_for_test

#: Every transition that judges content and lets readers rely on it (healthlib.workflow.TRANSITIONS).
JUDGING = ["approve", "reaffirm"]


def today() -> datetime.date:
    return timezone.localdate()


def months_ago(months: int, plus_days: int = 0) -> datetime.date:
    """The day ``months`` calendar months before today (clamped to the month's end), plus ``plus_days``."""
    day = today()
    month0 = day.month - 1 - months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])) + (
        datetime.timedelta(days=plus_days)
    )


@pytest.fixture
def verifier(db):
    return make_user("verifier", healthlib_settings.VERIFIER_GROUP)


def ready(action: str, article, editor, reviewer2):
    """The article in the state ``action`` judges: in review (approve) or published (reaffirm, by reviewer2)."""
    workflow.submit(article, editor)
    if action == "reaffirm":
        workflow.approve(article, reviewer2)
        workflow.publish(article, editor)
    article.refresh_from_db()
    return article


def judge(action: str, article, user):
    revision = article.live_revision if action == "reaffirm" else article.latest_revision
    return getattr(workflow, action)(article, user, revision=revision, change_summary="Checked")


def snapshot(article) -> tuple:
    article.refresh_from_db()
    return (
        article.state,
        article.last_reviewed_at,
        Review.objects.filter(revision__item=article).count(),
        WorkflowEvent.objects.filter(item=article).count(),
    )


def set_verified_on(user, verified_on: datetime.date) -> CredentialVerification:
    return verify_for_test(ReviewerProfile.objects.get(user=user), verified_on)


# ---------------------------------------------------------------- the guard on judging transitions


@pytest.mark.parametrize("action", JUDGING)
def test_valid_verification_allows_judging(action, article, editor, reviewer, reviewer2):
    ready(action, article, editor, reviewer2)
    review = judge(action, article, reviewer)
    assert review.credential_check == ReviewerProfile.objects.get(user=reviewer).verification


@pytest.mark.parametrize("action", JUDGING)
def test_missing_profile_is_refused(action, article, editor, reviewer2):
    ready(action, article, editor, reviewer2)
    bare = make_user("bare", healthlib_settings.REVIEWER_GROUP)  # a reviewer with no profile at all
    before = snapshot(article)
    with pytest.raises(CredentialsNotVerified, match="have not been verified"):
        judge(action, article, bare)
    assert snapshot(article) == before


@pytest.mark.parametrize("action", JUDGING)
def test_never_verified_profile_is_refused(action, article, editor, reviewer2):
    ready(action, article, editor, reviewer2)
    unverified = make_user("unverified", healthlib_settings.REVIEWER_GROUP, credentials="MD", verified=False)
    before = snapshot(article)
    # can() still says yes: the admin shows the button with the reason beside it, and the workflow refuses.
    assert workflow.can(unverified, action, article)
    with pytest.raises(CredentialsNotVerified) as error:
        judge(action, article, unverified)
    assert error.value.status_code == 403
    assert snapshot(article) == before


@pytest.mark.parametrize("action", JUDGING)
def test_expired_verification_is_refused_on_the_boundary_day(action, article, editor, reviewer, reviewer2):
    """Verified exactly 24 months ago: the verification ran out today."""
    ready(action, article, editor, reviewer2)
    verified_on = months_ago(24)
    set_verified_on(reviewer, verified_on)
    before = snapshot(article)
    with pytest.raises(CredentialsNotVerified) as error:
        judge(action, article, reviewer)
    assert verified_on.isoformat() in error.value.message
    assert today().isoformat() in error.value.message  # when it ran out
    assert snapshot(article) == before


@pytest.mark.parametrize("action", JUDGING)
def test_last_valid_day_is_allowed(action, article, editor, reviewer, reviewer2):
    """Verified 24 months ago less one day: today is the verification's last valid day."""
    ready(action, article, editor, reviewer2)
    set_verified_on(reviewer, months_ago(24, plus_days=1))
    judge(action, article, reviewer)


@pytest.mark.parametrize("action", JUDGING)
def test_long_expired_verification_is_refused(action, article, editor, reviewer, reviewer2):
    ready(action, article, editor, reviewer2)
    set_verified_on(reviewer, months_ago(30))
    with pytest.raises(CredentialsNotVerified, match="ran out"):
        judge(action, article, reviewer)


@pytest.mark.parametrize("action", JUDGING)
def test_credentials_changed_since_verification_are_refused(action, article, editor, reviewer, reviewer2):
    """Readers are shown the profile's credentials, so they must be the ones that were verified."""
    ready(action, article, editor, reviewer2)
    ReviewerProfile.objects.filter(user=reviewer).update(credentials="MD, PhD")
    before = snapshot(article)
    with pytest.raises(CredentialsNotVerified, match="changed after they were verified"):
        judge(action, article, reviewer)
    assert snapshot(article) == before
    ReviewerProfile.objects.filter(user=reviewer).update(credentials="MD", licence_number="L-other")
    with pytest.raises(CredentialsNotVerified):
        judge(action, article, reviewer)


@pytest.mark.parametrize("action", JUDGING)
@override_settings(HEALTHLIB={"CREDENTIALS_VALID_MONTHS": 6})
def test_validity_period_is_configurable(action, article, editor, reviewer, reviewer2):
    set_verified_on(reviewer2, today())  # reviewer2 approves in ready()
    ready(action, article, editor, reviewer2)
    set_verified_on(reviewer, months_ago(6))
    with pytest.raises(CredentialsNotVerified, match="last 6 months"):
        judge(action, article, reviewer)
    set_verified_on(reviewer, months_ago(6, plus_days=1))
    judge(action, article, reviewer)


@pytest.mark.parametrize("action", JUDGING)
def test_superuser_without_verified_credentials_is_refused(action, article, editor, reviewer2, superuser):
    ready(action, article, editor, reviewer2)
    with pytest.raises(CredentialsNotVerified):
        judge(action, article, superuser)


def test_request_changes_needs_no_verification(article, editor):
    """Sending a revision back puts nothing in front of readers; a lapsed reviewer may still flag harm."""
    workflow.submit(article, editor)
    unverified = make_user("unverified", healthlib_settings.REVIEWER_GROUP, credentials="MD", verified=False)
    review = workflow.request_changes(article, unverified, comment="The dose is wrong.")
    assert review.credential_check is None


def test_permission_and_independence_come_before_credentials(article, editor, editor2):
    """Outsiders learn nothing about credentials: they are refused for who they are."""
    workflow.submit(article, editor)
    with pytest.raises(NotPermitted) as error:
        workflow.approve(article, editor2)
    assert not isinstance(error.value, CredentialsNotVerified)


# ---------------------------------------------------------------- the snapshot on each review


def test_review_keeps_what_was_verified_then(article, editor, reviewer, reviewer2, verifier):
    workflow.submit(article, editor)
    first_check = ReviewerProfile.objects.get(user=reviewer).verification
    review = workflow.approve(article, reviewer, change_summary="First version")
    workflow.publish(article, editor)
    # The reviewer moves state and is verified again with the new licence.
    profile = ReviewerProfile.objects.get(user=reviewer)
    profile.credentials, profile.licensing_body, profile.licence_number = "MD, FACP", "Other Board", "Z-9"
    profile.save()
    credentials.verify(profile, verifier)
    article.refresh_from_db()
    reaffirmed = workflow.reaffirm(article, reviewer)

    review = Review.objects.select_related("credential_check").get(pk=review.pk)
    assert review.credential_check == first_check
    assert (review.credential_check.licensing_body, review.credential_check.licence_number) == (
        "State Medical Board",
        "L-reviewer",
    )
    assert review.reviewer_credentials == "MD"
    assert reaffirmed.credential_check.licence_number == "Z-9"
    assert reaffirmed.reviewer_credentials == "MD, FACP"
    assert reaffirmed.credential_check.verified_by_name == "verifier"


def test_verifications_are_append_only_and_survive_user_deletion(reviewer, verifier):
    profile = ReviewerProfile.objects.get(user=reviewer)
    record = credentials.verify(profile, verifier)
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        CredentialVerification.objects.filter(pk=record.pk).update(licence_number="forged")
    verifier.delete()
    record = CredentialVerification.objects.get(pk=record.pk)
    assert record.verified_by is None and record.verified_by_name == "verifier"


# ---------------------------------------------------------------- who may verify


@pytest.fixture
def everyone(db, editor, reviewer, reviewer2, verifier, superuser):
    plain = User.objects.create_user("plain", "plain@example.org", "pw")
    return {
        "anonymous": AnonymousUser(),
        "plain": plain,
        "editor": editor,
        "reviewer": reviewer,
        "verifier": verifier,
        "superuser": superuser,
    }


@pytest.mark.parametrize("role", ["anonymous", "plain", "editor", "reviewer", "verifier", "superuser"])
def test_only_holders_of_the_permission_may_verify(role, everyone, reviewer2):
    profile = ReviewerProfile.objects.get(user=reviewer2)
    before = profile.verification_id
    count = CredentialVerification.objects.count()
    if role in ("verifier", "superuser"):
        record = credentials.verify(profile, everyone[role])
        assert ReviewerProfile.objects.get(pk=profile.pk).verification == record
        assert record.verified_on == today() and record.credentials == "PharmD"
        assert CredentialVerification.objects.count() == count + 1
    else:
        with pytest.raises(NotPermitted, match="permission to verify"):
            credentials.verify(profile, everyone[role])
        assert ReviewerProfile.objects.get(pk=profile.pk).verification_id == before
        assert CredentialVerification.objects.count() == count


def test_nobody_verifies_their_own_credentials(verifier, superuser):
    for user in (verifier, superuser):
        profile = ReviewerProfile.objects.create(
            user=user, display_name="Self", credentials="MD", licensing_body="Board", licence_number="1"
        )
        with pytest.raises(NotPermitted, match="your own credentials"):
            credentials.verify(profile, user)
        assert ReviewerProfile.objects.get(pk=profile.pk).verification_id is None


def test_reviewer_with_verify_permission_still_cannot_verify_self(reviewer):
    reviewer.groups.add(Group.objects.get(name=healthlib_settings.VERIFIER_GROUP))
    reviewer = User.objects.get(pk=reviewer.pk)  # a fresh permission cache
    with pytest.raises(NotPermitted):
        credentials.verify(ReviewerProfile.objects.get(user=reviewer), reviewer)


@pytest.mark.parametrize(
    "verified_on, message",
    [
        (lambda: today() + datetime.timedelta(days=1), "in the future"),
        (lambda: months_ago(24), "already have run out"),
    ],
)
def test_verification_date_must_be_plausible(verified_on, message, reviewer2, verifier):
    profile = ReviewerProfile.objects.get(user=reviewer2)
    before = profile.verification_id
    with pytest.raises(InvalidContent, match=message):
        credentials.verify(profile, verifier, verified_on=verified_on())
    assert ReviewerProfile.objects.get(pk=profile.pk).verification_id == before


def test_back_dated_verification_counts_from_its_date(reviewer2, verifier):
    record = credentials.verify(ReviewerProfile.objects.get(user=reviewer2), verifier, verified_on=months_ago(3))
    assert record.verified_on == months_ago(3)
    assert credentials.status(ReviewerProfile.objects.get(user=reviewer2)) == credentials.VALID


@pytest.mark.parametrize("missing", ["credentials", "licensing_body", "licence"])
def test_profile_must_say_what_to_verify(missing, verifier):
    user = make_user("new", healthlib_settings.REVIEWER_GROUP)
    fields = {"credentials": "MD", "licensing_body": "Board", "licence_number": "1", "registry_url": ""}
    if missing == "licence":
        fields["licence_number"] = ""
    else:
        fields[missing] = ""
    profile = ReviewerProfile.objects.create(user=user, display_name="New", **fields)
    with pytest.raises(InvalidContent, match="does not say what to verify"):
        credentials.verify(profile, verifier)
    assert not CredentialVerification.objects.filter(reviewer=user).exists()


def test_registry_link_is_enough_without_a_number(verifier):
    user = make_user("new", healthlib_settings.REVIEWER_GROUP)
    profile = ReviewerProfile.objects.create(
        user=user, display_name="New", credentials="MD", licensing_body="Board", registry_url="https://example.org/r/1"
    )
    assert credentials.verify(profile, verifier).registry_url == "https://example.org/r/1"


# ---------------------------------------------------------------- status and the dashboard


def test_status_of_each_kind(reviewer, reviewer2):
    profile = ReviewerProfile.objects.get(user=reviewer)
    assert credentials.status(None) == credentials.MISSING
    assert credentials.status(profile) == credentials.VALID
    verify_for_test(profile, months_ago(24, plus_days=10))
    assert credentials.status(profile) == credentials.DUE
    verify_for_test(profile, months_ago(24))
    assert credentials.status(profile) == credentials.EXPIRED
    profile.specialty = "Hematology"
    assert credentials.status(profile) == credentials.CHANGED


def test_dashboard_lists_reviewers_due_or_expired(client, reviewer, reviewer2, editor, superuser):
    due = make_user("due", healthlib_settings.REVIEWER_GROUP, credentials="MD")
    set_verified_on(due, months_ago(24, plus_days=10))
    set_verified_on(reviewer2, months_ago(25))
    make_user("never", healthlib_settings.REVIEWER_GROUP, credentials="DO", verified=False)
    make_user("noprofile", healthlib_settings.REVIEWER_GROUP)
    rows = {row.user.username: row.status for row in credentials.needing_verification()}
    assert rows == {
        "due": credentials.DUE,
        "reviewer2": credentials.EXPIRED,
        "never": credentials.MISSING,
        "noprofile": credentials.MISSING,
    }
    client.force_login(editor)
    page = client.get("/admin/healthlib/reviewdates/").content.decode()
    section = page.split('id="reviewer_credentials"', 1)[1]
    for name in ("Due", "Reviewer2", "Never", "noprofile"):
        assert name in section
    assert ">Reviewer</a>" not in section  # the valid reviewer is not listed
    assert "Verification expired" in section and "Verification due soon" in section and "Never verified" in section


# ---------------------------------------------------------------- the admin


def post(client, article, action, data):
    return client.post(f"/admin/healthlib/article/{article.pk}/workflow/{action}/", data)


@pytest.mark.parametrize("action", JUDGING)
def test_admin_shows_a_403_for_expired_credentials(action, client, article, editor, reviewer, reviewer2):
    ready(action, article, editor, reviewer2)
    set_verified_on(reviewer, months_ago(25))
    before = snapshot(article)
    client.force_login(reviewer)
    revision = article.live_revision_id if action == "reaffirm" else article.latest_revision_id
    response = post(client, article, action, {"revision": revision, "change_summary": "Checked"})
    assert response.status_code == 403
    assert "ran out" in response.content.decode()
    assert snapshot(article) == before


def test_admin_action_verifies_for_verifiers_only(reviewer, reviewer2, verifier):
    profile = ReviewerProfile.objects.get(user=reviewer2)
    before = profile.verification_id
    data = {"action": "verify_credentials", "_selected_action": [profile.pk]}
    as_reviewer = Client()
    as_reviewer.force_login(reviewer)
    as_reviewer.post("/admin/healthlib/reviewerprofile/", data)
    assert ReviewerProfile.objects.get(pk=profile.pk).verification_id == before

    as_verifier = Client()
    as_verifier.force_login(verifier)
    listing = as_verifier.get("/admin/healthlib/reviewerprofile/")
    assert listing.status_code == 200 and "verify_credentials" in listing.content.decode()
    response = as_verifier.post("/admin/healthlib/reviewerprofile/", data, follow=True)
    assert "Credentials of Reviewer2 verified." in response.content.decode()
    check = ReviewerProfile.objects.get(pk=profile.pk).verification
    assert check.pk != before and check.verified_by == verifier and check.verified_on == today()


def test_admin_action_on_own_profile_says_why_and_changes_nothing(verifier):
    profile = ReviewerProfile.objects.create(
        user=verifier, display_name="Verifier", credentials="MD", licensing_body="Board", licence_number="1"
    )
    client = Client()
    client.force_login(verifier)
    response = client.post(
        "/admin/healthlib/reviewerprofile/",
        {"action": "verify_credentials", "_selected_action": [profile.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "cannot verify your own credentials" in response.content.decode()
    assert ReviewerProfile.objects.get(pk=profile.pk).verification_id is None


def test_review_page_says_before_approving_that_credentials_lapsed(client, article, editor, reviewer):
    workflow.submit(article, editor)
    client.force_login(reviewer)
    page = client.get(f"/admin/healthlib/reviewqueue/{article.pk}/").content.decode()
    assert "healthlib-credentials-problem" not in page
    set_verified_on(reviewer, months_ago(25))
    page = client.get(f"/admin/healthlib/reviewqueue/{article.pk}/").content.decode()
    assert "healthlib-credentials-problem" in page and "ran out" in page


@pytest.mark.parametrize("n", [2, 40])
def test_reviewers_needing_verification_cost_one_query(n, db, django_assert_num_queries):
    for i in range(n):
        user = make_user(f"r{i}", healthlib_settings.REVIEWER_GROUP, credentials="MD")
        set_verified_on(user, months_ago(25))
    with django_assert_num_queries(1):
        assert len(credentials.needing_verification()) == n
