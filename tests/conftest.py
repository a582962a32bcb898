from __future__ import annotations

import datetime

import hypothesis
import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.utils import timezone

from healthlib import workflow
from healthlib.conf import healthlib_settings
from healthlib.models import CredentialVerification, ReviewerProfile
from immunotherapy.mail import mail_settings
from tests.browser import quiet_live_server  # noqa: F401  (a fixture the browser test modules use)

# No time limit per example: timing is for the benchmarks (bench/), and on a loaded 2-core CI machine
# Hypothesis's default 200 ms deadline failed a property test that passes (or reported it flaky when
# the re-run was fast). Each test's own @settings still sets its number of examples.
hypothesis.settings.register_profile("healthlib", deadline=None)
hypothesis.settings.load_profile("healthlib")

ARTICLE_CONTENT = {
    "title": "Checkpoint inhibitors",
    "summary": "Drugs that take the brakes off your immune system.",
    "body": "## Overview\n\nThese drugs help T cells attack cancer.\n\n## Side effects\n\nCall your care team about a rash.",
    "references": [
        {"title": "Checkpoint inhibitors", "publisher": "NCI", "url": "https://www.cancer.gov/", "year": 2022}
    ],
}


def make_user(
    username: str, *groups: str, superuser: bool = False, credentials: str = "", verified: bool = True
) -> User:
    """A staff user in ``groups``; with ``credentials``, a reviewer profile, verified a month ago unless not ``verified``."""
    user = User.objects.create_user(username, f"{username}@example.org", "pw", is_staff=True, is_superuser=superuser)
    for group in groups:
        user.groups.add(Group.objects.get(name=group))
    if credentials:
        profile = ReviewerProfile.objects.create(
            user=user,
            display_name=username.title(),
            credentials=credentials,
            licensing_body="State Medical Board",
            licence_number=f"L-{username}",
        )
        if verified:
            verify_for_test(profile, timezone.localdate() - datetime.timedelta(days=30))
    return user


def verify_for_test(profile: ReviewerProfile, verified_on: datetime.date) -> CredentialVerification:
    """Record a verification directly (tests of the workflow are not about who verified, nor when they could)."""
    record = CredentialVerification.objects.create(
        reviewer=profile.user,
        reviewer_name=profile.display_name,
        **profile.verified_values(),
        verified_on=verified_on,
        verified_by_name="Test set-up",
    )
    ReviewerProfile.objects.filter(pk=profile.pk).update(verification=record)
    profile.verification = record
    return record


@pytest.fixture
def editor(db):
    return make_user("editor", healthlib_settings.EDITOR_GROUP)


@pytest.fixture
def editor2(db):
    return make_user("editor2", healthlib_settings.EDITOR_GROUP)


@pytest.fixture
def reviewer(db):
    return make_user("reviewer", healthlib_settings.REVIEWER_GROUP, credentials="MD")


@pytest.fixture
def reviewer2(db):
    return make_user("reviewer2", healthlib_settings.REVIEWER_GROUP, credentials="PharmD")


@pytest.fixture
def author_reviewer(db):
    """Both an editor and a reviewer: may review other people's work but never their own."""
    return make_user(
        "dual", healthlib_settings.EDITOR_GROUP, healthlib_settings.REVIEWER_GROUP, credentials="MD, oncology"
    )


@pytest.fixture
def nobody(db):
    user = User.objects.create_user("nobody", "nobody@example.org", "pw")
    return user


@pytest.fixture
def anonymous():
    return AnonymousUser()


@pytest.fixture
def superuser(db):
    return make_user("root", superuser=True)


@pytest.fixture
def article(editor):
    return workflow.create_article(
        editor, slug="checkpoint-inhibitors", article_type="treatment", content=ARTICLE_CONTENT
    )


def edited(content: dict, **changes) -> dict:
    return {**content, **changes}


@pytest.fixture
def published_article(article, editor, reviewer):
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    workflow.publish(article, editor)
    article.refresh_from_db()
    return article


@pytest.fixture(autouse=True)
def _page_cache_off(request, monkeypatch):
    """Reader pages are cached only in tests marked ``page_cache``.

    The cache is invalidated by workflow signals, which are sent after commit; inside a test's
    transaction nothing commits, so elsewhere a cached page would go stale between two requests.
    """
    if request.node.get_closest_marker("page_cache") is None:
        from django.core.cache.backends.dummy import DummyCache

        dummy = DummyCache("healthlib-pages-off", {})
        monkeypatch.setattr("healthlib.cache._cache", lambda: dummy)


#: Modules that take minutes. They start first, so that under pytest-xdist (as ``make test`` runs it,
#: ``--dist loadgroup --no-loadscope-reorder``) no worker is left running one of them alone at the end.
#: Each builds and rolls back its own data, so it does not depend on running in pytest-django's usual place.
SLOW_MODULES = ("test_xss.py",)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name not in SLOW_MODULES)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadgroup`` with ``--dist loadfile`` for the tests in no group.

    xdist's own loadgroup sends each unmarked test to any worker, so a module's module-scoped fixtures
    would be built once per worker it lands on. Here a test marked ``xdist_group`` goes with its group
    (tests/test_xss.py: one group per part of its corpus) and every other test stays with its file.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class FileOrGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            group = super()._split_scope(nodeid)
            return group if group != nodeid else nodeid.split("::", 1)[0]

    return FileOrGroupScheduling(config, log)


@pytest.fixture
def email_backend(settings):
    """Point outgoing mail at another backend: ``email_backend(path, host=..., port=..., timeout=...)``.

    ``MAILERS`` on Django 6.1, ``EMAIL_*`` settings before (``immunotherapy/mail.py``).
    """

    def use(backend: str, **options) -> None:
        for name, value in mail_settings(backend, **options).items():
            setattr(settings, name, value)

    return use
