"""Random sequences of workflow actions by random actors; DESIGN.md's invariants checked after every step."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.db import transaction
from django.test import Client, TestCase
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from healthlib import publishing, workflow
from healthlib.exceptions import WorkflowError
from healthlib.models import Article, Decision, Review, Revision, WorkflowEvent
from tests.conftest import ARTICLE_CONTENT, make_user

BODIES = [
    "Plain text about T cells.",
    "Text with <script>window.pwned=1</script> inside.",
    "## Heading\n\n[link](javascript:alert(1)) and <img src=x onerror=alert(1)>",
    "Another **reviewed** version.",
]
_slugs = itertools.count()


def text_writers(revision: Revision, memo: dict[int, set[int]]) -> set[int]:
    """Everyone who wrote the words of ``revision`` (DESIGN.md, invariant 7), read from the raw history.

    Its saver; the writers of every earlier revision with the very same content (restored, pasted
    back, imported, copied); and the writers of the revision it was edited from, unless that one
    had been published (independently reviewed) by then. Fixed once the revision exists, so
    ``memo`` keeps the answers (without it the walk over repeated texts grows exponentially).
    """
    if revision.pk not in memo:
        writers = {revision.created_by_id}
        for same in Revision.objects.filter(content_hash=revision.content_hash, pk__lt=revision.pk):
            writers |= text_writers(same, memo)
        parent = revision.based_on
        if parent is not None and not WorkflowEvent.objects.filter(
            revision=parent, action="healthlib.publish", created_at__lte=revision.created_at
        ):
            writers |= text_writers(parent, memo)
        memo[revision.pk] = writers
    return memo[revision.pk]


class WorkflowMachine(RuleBasedStateMachine):
    actors: dict = {}

    def __init__(self):
        super().__init__()
        self.client = Client()
        self.article = None
        self.state = None
        # Each example starts from the same database: text written in an earlier example (all run
        # in one test) must not count as this one's history.
        self._example = transaction.atomic()
        self._example.__enter__()

    def teardown(self):
        transaction.set_rollback(True)
        self._example.__exit__(None, None, None)

    @initialize(author=st.sampled_from(["editor", "dual"]))
    def create(self, author):
        self.article = workflow.create_article(
            self.actors[author], slug=f"item-{next(_slugs)}", article_type="treatment", content=ARTICLE_CONTENT
        )
        self.state = "draft"
        self.successes = 1  # the create event
        self.last_reviewed_seen = None
        self.live_seen = None
        self.writers: dict[int, set[int]] = {}

    def snapshot(self):
        a = Article.objects.get(pk=self.article.pk)
        fields = {f.attname: getattr(a, f.attname) for f in Article._meta.concrete_fields if f.attname != "updated_at"}
        return fields, Revision.objects.count(), Review.objects.count(), WorkflowEvent.objects.count()

    def attempt(self, action, actor, **kwargs):
        user = self.actors[actor]
        article = Article.objects.get(pk=self.article.pk)
        before = self.snapshot()
        live_before = article.live_revision_id
        if action == "save_draft":
            base = article.revisions.order_by("number").first() if kwargs.pop("stale") else article.latest_revision
            kwargs = {"content": {**ARTICLE_CONTENT, "body": kwargs.pop("body")}, "based_on": base}
        elif action == "restore":
            revisions = list(article.revisions.order_by("number"))
            kwargs = {"revision": revisions[kwargs.pop("index") % len(revisions)], "based_on": article.latest_revision}
        elif action == "paste_back":
            # An editor pastes an old revision's text back in by hand: the same words as a restore.
            revisions = list(article.revisions.order_by("number"))
            old = revisions[kwargs.pop("index") % len(revisions)]
            action, kwargs = "save_draft", {"content": old.content, "based_on": article.latest_revision}
        try:
            # The test runs inside one transaction; run on-commit work (signals, cache invalidation) as a commit would.
            with TestCase.captureOnCommitCallbacks(execute=True):
                result = getattr(workflow, action)(article, user, **kwargs)
        except WorkflowError:
            # Invariant 5: a refused action changes nothing.
            assert self.snapshot() == before
            return
        if action != "save_draft" or result.pk != before[0]["latest_revision_id"]:
            self.successes += 1
        after = Article.objects.get(pk=self.article.pk)
        self.state = after.state
        # Invariant 2: only publish and archive change what readers see.
        if action not in ("publish", "archive"):
            assert after.live_revision_id == live_before

    @precondition(lambda self: self.state in ("draft", "changes_requested"))
    @rule(
        submitter=st.sampled_from(["editor", "dual"]),
        approver=st.sampled_from(["reviewer", "dual", "root"]),
        publisher=st.sampled_from(["editor", "dual", "reviewer"]),
    )
    def review_cycle(self, submitter, approver, publisher):
        """Submit, approve and publish in a row, so random runs reach live content often."""
        self.attempt("submit", submitter)
        self.attempt("approve", approver)
        self.attempt("publish", publisher)

    @rule(
        action=st.sampled_from(["submit", "withdraw", "approve", "publish", "reaffirm", "archive"]),
        actor=st.sampled_from(["editor", "reviewer", "dual", "root", "nobody"]),
    )
    def anything(self, action, actor):
        """Any action in any state: mostly refused, which must change nothing."""
        self.attempt(action, actor)

    @rule(
        actor=st.sampled_from(["editor", "editor2", "dual", "root", "nobody"]),
        body=st.sampled_from(BODIES),
        stale=st.booleans(),
    )
    def save_draft(self, actor, body, stale):
        self.attempt("save_draft", actor, body=body, stale=stale)

    @rule(actor=st.sampled_from(["editor", "editor2", "dual", "reviewer"]))
    @precondition(lambda self: self.state in ("draft", "changes_requested"))
    def submit(self, actor):
        self.attempt("submit", actor)

    @rule(actor=st.sampled_from(["editor", "dual", "nobody"]))
    @precondition(lambda self: self.state in ("in_review",))
    def withdraw(self, actor):
        self.attempt("withdraw", actor)

    @rule(actor=st.sampled_from(["reviewer", "dual", "root", "editor"]))
    @precondition(lambda self: self.state in ("in_review",))
    def request_changes(self, actor):
        self.attempt("request_changes", actor, comment="Please fix.")

    @rule(actor=st.sampled_from(["reviewer", "dual", "root", "editor"]))
    @precondition(lambda self: self.state in ("in_review",))
    def approve(self, actor):
        self.attempt("approve", actor)

    @rule(actor=st.sampled_from(["editor", "dual", "reviewer"]))
    @precondition(lambda self: self.state in ("approved",))
    def publish(self, actor):
        self.attempt("publish", actor)

    @rule(actor=st.sampled_from(["reviewer", "dual", "root", "nobody"]))
    @precondition(lambda self: self.state in ("published", "draft"))
    def reaffirm(self, actor):
        self.attempt("reaffirm", actor)

    @rule(actor=st.sampled_from(["editor", "reviewer"]))
    @precondition(lambda self: self.state in ("published", "draft", "approved"))
    def archive(self, actor):
        self.attempt("archive", actor)

    @rule(actor=st.sampled_from(["editor", "editor2", "dual", "root", "nobody"]), index=st.integers(0, 20))
    def restore(self, actor, index):
        """Any revision, from any state: restoring is how old text (maybe a reviewer's own) comes back."""
        self.attempt("restore", actor, index=index)

    @rule(actor=st.sampled_from(["editor", "editor2"]), index=st.integers(0, 20))
    def paste_back(self, actor, index):
        self.attempt("paste_back", actor, index=index)

    @invariant()
    def readers_see_only_approved_content(self):
        article = Article.objects.select_related("live_revision").get(pk=self.article.pk)
        response = self.client.get(f"/health/articles/{article.slug}/")
        live = article.live_revision
        if live is None:
            assert response.status_code == (410 if article.is_retired else 404)
            self.last_reviewed_seen = None
            return
        assert response.status_code == 200
        # Invariant 1: the live revision was approved, with the same hash, by someone who did not write it.
        approvals = Review.objects.filter(revision=live, decision=Decision.APPROVED, content_hash=live.content_hash)
        assert approvals.exists()
        assert live.hash_is_intact()
        writers = text_writers(live, self.writers) | set(
            WorkflowEvent.objects.filter(revision=live, action="healthlib.submit").values_list("actor_id", flat=True)
        )
        for review in approvals:
            assert review.reviewer_id not in workflow.contributors(article, live)
            # Invariant 7, from the raw history rather than from the code under test.
            assert review.reviewer_id not in writers, "a reviewer approved text they wrote"
        expected = Article()
        publishing.set_live_content(expected, live)
        assert (article.live_title, article.live_body_html) == (expected.live_title, expected.live_body_html)
        # Invariant 6: nothing active reaches the browser.
        html = response.content.decode().lower()
        assert "<script>window.pwned" not in html and "onerror" not in html and "javascript:" not in html
        # Invariant 3: last reviewed = latest approving/reaffirming review of the live revision; never backward or future.
        stamps = Review.objects.filter(
            revision=live, decision__in=[Decision.APPROVED, Decision.REAFFIRMED]
        ).values_list("reviewed_at", flat=True)
        assert article.last_reviewed_at == max(stamps)
        assert article.last_reviewed_at <= timezone.now()
        if self.last_reviewed_seen is not None:
            assert article.last_reviewed_at >= self.last_reviewed_seen
        self.last_reviewed_seen = article.last_reviewed_at
        assert article.next_review_due == article.last_reviewed_at.date() + datetime.timedelta(days=365)

    @invariant()
    def nobody_judged_text_they_wrote(self):
        # Invariant 7 for every review of the item (approvals, requests for changes, reaffirmations),
        # judged from the raw history rather than from the code under test.
        for review in Review.objects.filter(revision__item_id=self.article.pk).select_related("revision"):
            assert review.reviewer_id not in text_writers(review.revision, self.writers), (
                "a reviewer judged text they wrote"
            )

    @invariant()
    def one_event_per_successful_transition(self):
        # Invariant 4.
        assert WorkflowEvent.objects.filter(item_id=self.article.pk).count() == self.successes


@pytest.mark.django_db
def test_random_action_sequences_keep_the_invariants(reviewer2):
    WorkflowMachine.actors = {
        "editor": make_user("ed", "Editors"),
        "editor2": make_user("ed2", "Editors"),
        "reviewer": make_user("rev", "Medical reviewers", credentials="MD"),
        "dual": make_user("both", "Editors", "Medical reviewers", credentials="MD"),
        "root": make_user("root", superuser=True),
        "nobody": make_user("no"),
    }
    test = WorkflowMachine.TestCase
    test.settings = settings(
        max_examples=30, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck)
    )
    test().runTest()
