"""1,020 racing workflow actions on PostgreSQL: every outcome is one a serial order allows.

Six threads (six database connections) fire at the same moment, 170 rounds, mixing approve,
publish, save-draft, reaffirm and archive on one article brought to a chosen state before each
round. Row locks serialise the transitions; the audit events record the order they took. For
every round the test replays that order through a small model of the state machine and checks:

* every success was allowed at its place in the order, and every refusal is the error that
  some point of that order gives (so the outcome is *linearizable*);
* at most one of a set of mutually exclusive actions won (one approval, one publish, one save
  from the same base);
* no lost update: every successful save's revision is stored with its text, and the newest
  revision is the last winner;
* exactly one audit event per success, with its actor;
* DESIGN.md's invariants hold (``tests.invariants.assert_invariants``) after every round.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.db import connection, connections
from django.test import Client

from healthlib import workflow
from healthlib.exceptions import WorkflowError
from healthlib.models import Article, Review, Revision, State, WorkflowEvent
from tests.conftest import ARTICLE_CONTENT, edited, make_user
from tests.invariants import assert_invariants

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (make test runs it)"),
]

ROUNDS = 170  # x 6 threads = 1,020 racing attempts
THREADS = 6
S = State

# Round plans: the starting state, and what each of the six threads attempts.
PLANS = [
    (S.IN_REVIEW, ["approve:rev1", "approve:rev2", "approve:rev3", "publish:ed1", "reaffirm:rev4", "save_draft:ed2"]),
    (S.APPROVED, ["publish:ed1", "publish:ed2", "publish:ed3", "save_draft:ed1", "save_draft:ed2", "reaffirm:rev1"]),
    (S.PUBLISHED, ["reaffirm:rev1", "reaffirm:rev2", "reaffirm:rev3", "save_draft:ed1", "save_draft:ed2", "archive:ed3"]),
    (S.DRAFT, ["save_draft:ed1", "save_draft:ed2", "save_draft:ed3", "save_draft:ed1", "reaffirm:rev1", "reaffirm:rev2"]),
    (S.IN_REVIEW, ["approve:rev1", "approve:rev2", "publish:ed1", "publish:ed2", "archive:ed3", "reaffirm:rev3"]),
]  # fmt: skip
SOURCES = {name: set(t.sources) for name, t in workflow.TRANSITIONS.items()}


class Racers:
    """Six long-lived threads, each with its own connection, released together for every round."""

    def __init__(self, n: int):
        self.tasks: list = [None] * n
        self.results: list = [None] * n
        self.go = threading.Barrier(n + 1)
        self.done = threading.Barrier(n + 1)
        self.stopping = False
        self.threads = [threading.Thread(target=self._work, args=(i,), daemon=True) for i in range(n)]
        for thread in self.threads:
            thread.start()

    def _work(self, index: int) -> None:
        try:
            while True:
                self.go.wait(timeout=60)
                if self.stopping:
                    return
                try:
                    self.results[index] = ("ok", self.tasks[index]())
                except WorkflowError as error:
                    self.results[index] = (type(error).__name__, error)
                except Exception as error:  # anything else is a bug the test reports
                    self.results[index] = ("crash", error)
                self.done.wait(timeout=60)
        finally:
            connections.close_all()

    def race(self, tasks: list) -> list:
        self.tasks, self.results = tasks, [None] * len(tasks)
        self.go.wait(timeout=60)
        self.done.wait(timeout=60)
        return list(self.results)

    def close(self) -> None:
        self.stopping = True
        self.go.wait(timeout=60)
        for thread in self.threads:
            thread.join(timeout=60)


@dataclass
class Model:
    """The workflow rules that matter for these five actions, for replaying one round."""

    state: str
    latest: int
    live: int | None
    approved_at: object  # time of the approval of the latest revision in this round, if any
    last_reviewed: object

    def outcome(self, action: str, seen: int | None) -> str:
        """The error class name this action gets now, or "ok"."""
        if self.state not in SOURCES[action]:
            return "TransitionNotAllowed"
        if action == "reaffirm":
            if self.live is None:
                return "TransitionNotAllowed"
            return "ok" if seen is None or seen == self.live else "StaleVersion"
        if action in ("approve", "publish", "save_draft") and seen is not None and seen != self.latest:
            return "StaleVersion"
        if action == "publish" and self.last_reviewed and self.approved_at < self.last_reviewed:
            return "TransitionNotAllowed"  # the approval predates the live page's last review
        return "ok"

    def apply(self, action: str, result) -> None:
        if action == "approve":
            self.state, self.approved_at = S.APPROVED, result.reviewed_at
        elif action == "publish":
            self.state, self.live, self.last_reviewed = S.PUBLISHED, self.latest, self.approved_at
        elif action == "save_draft":
            self.state, self.latest, self.approved_at = S.DRAFT, result.pk, None
        elif action == "reaffirm":
            self.last_reviewed = result.reviewed_at
        elif action == "archive":
            self.state, self.live = S.ARCHIVED, None


@dataclass
class Tally:
    attempts: int = 0
    rounds: int = 0
    successes: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)

    def report(self) -> str:
        ok = sum(self.successes.values())
        lines = [
            f"racing attempts: {self.attempts} in {self.rounds} rounds x {THREADS} threads",
            f"successes: {ok} ({', '.join(f'{k} {v}' for k, v in sorted(self.successes.items()))})",
            f"refusals: {sum(self.refusals.values())} ({', '.join(f'{k} {v}' for k, v in sorted(self.refusals.items()))})",
        ]
        return "\n".join(lines)


class Library:
    """The one article and the people who race over it; brings the article to a round's start state."""

    def __init__(self):
        self.users = {f"ed{i}": make_user(f"ed{i}", "Editors") for i in (1, 2, 3)}
        self.users |= {f"rev{i}": make_user(f"rev{i}", "Medical reviewers", credentials="MD") for i in (1, 2, 3, 4)}
        self.setup_editor = make_user("setup_editor", "Editors")
        self.setup_reviewer = make_user("setup_reviewer", "Medical reviewers", credentials="MD")
        self.article = workflow.create_article(
            self.setup_editor, slug="racing", article_type="treatment", content=ARTICLE_CONTENT
        )
        self.serial = 0

    def fresh(self) -> Article:
        return Article.objects.get(pk=self.article.pk)

    def new_body(self, label: str) -> dict:
        self.serial += 1
        return edited(ARTICLE_CONTENT, body=f"## Overview\n\nDraft {self.serial} {label}\n\nCall your care team.")

    def bring_to(self, state: str) -> Article:
        """Take the shortest way to ``state`` from wherever the last round left the article."""
        ed, rev = self.setup_editor, self.setup_reviewer
        item = self.fresh()
        if item.state == state:
            return item
        if item.state == S.ARCHIVED:
            workflow.restore(item, ed, revision=item.latest_revision, based_on=item.latest_revision)
        elif item.state == S.IN_REVIEW:
            workflow.withdraw(item, ed)
        elif item.state != S.DRAFT or item.latest_revision_id == item.live_revision_id:
            workflow.save_draft(item, ed, self.new_body("setup"), based_on=item.latest_revision)
        path = [S.DRAFT, S.IN_REVIEW, S.APPROVED, S.PUBLISHED]
        for step in ["submit", "approve", "publish"][: path.index(state)]:
            getattr(workflow, step)(self.fresh(), rev if step == "approve" else ed)
        item = self.fresh()
        assert item.state == state
        return item

    def task(self, action: str, who: str, start: Article):
        user, pk = self.users[who], start.pk
        if action == "save_draft":
            content = self.new_body(f"from {who}")
            seen = start.latest_revision_id
            return content, seen, lambda: workflow.save_draft(Article.objects.get(pk=pk), user, content, based_on=seen)
        seen = start.live_revision_id if action == "reaffirm" else start.latest_revision_id
        call = getattr(workflow, action)
        if action == "archive":
            return None, None, lambda: call(Article.objects.get(pk=pk), user)
        return None, seen, lambda: call(Article.objects.get(pk=pk), user, revision=seen)


def check_round(library: Library, start: Article, plan: list[str], attempts: list, results: list, first_event: int):
    crashes = [r for r in results if r[0] == "crash"]
    assert not crashes, crashes
    actions = [entry.split(":") for entry in plan]
    events = list(WorkflowEvent.objects.filter(item=start, pk__gt=first_event).order_by("pk"))
    winners = [i for i, r in enumerate(results) if r[0] == "ok"]

    # One audit event per success, in the order the row lock let them through.
    assert len(events) == len(winners), (plan, results, [e.action for e in events])
    order = []
    for event in events:
        action = event.action.removeprefix("healthlib.")
        match = [i for i in winners if actions[i][0] == action and library.users[actions[i][1]].pk == event.actor_id]
        match = [i for i in match if i not in order]
        assert match, f"event {event.action} by {event.actor_name} matches no success"
        order.append(match[0])

    # Replay: each success allowed where it happened; each refusal the error of some point in that order.
    states = replay_states(start, order, actions, results)
    for position, index in enumerate(order):
        assert states[position].outcome(actions[index][0], attempts[index][1]) == "ok", (plan, results, position)
    for i, (kind, _) in enumerate(actions):
        if results[i][0] != "ok":
            allowed = {state.outcome(kind, attempts[i][1]) for state in states} - {"ok"}
            assert results[i][0] in allowed, (plan[i], results[i], allowed)
    model = states[-1]

    # Mutually exclusive actions: at most one winner each.
    won = Counter(actions[i][0] for i in winners)
    assert won["approve"] <= 1 and won["publish"] <= 1 and won["save_draft"] <= 1 and won["archive"] <= 1

    # No lost update: the winning save is stored, with its text, and is the newest revision.
    item = Article.objects.get(pk=start.pk)
    for i in winners:
        if actions[i][0] == "save_draft":
            revision = results[i][1]
            assert Revision.objects.get(pk=revision.pk).content == attempts[i][0]
            assert item.latest_revision_id == revision.pk
    before = Revision.objects.filter(item=item, pk__lte=start.latest_revision_id).count()
    assert Revision.objects.filter(item=item).count() == before + won["save_draft"]
    assert item.state == model.state and item.live_revision_id == model.live and item.latest_revision_id == model.latest
    return won


def replay_states(start: Article, order: list[int], actions, results):
    """The model at every point of the serial order (before the first success, between, after the last)."""
    approval = (
        Review.objects.filter(revision_id=start.latest_revision_id, decision="approved", round=start.review_round)
        .values_list("reviewed_at", flat=True)
        .first()
    )
    model = Model(start.state, start.latest_revision_id, start.live_revision_id, approval, start.last_reviewed_at)
    states = [Model(**vars(model))]
    for index in order:
        model.apply(actions[index][0], results[index][1])
        states.append(Model(**vars(model)))
    return states


def test_a_thousand_racing_attempts_keep_every_invariant(capsys):
    library = Library()
    tally = Tally()
    client = Client()
    racers = Racers(THREADS)
    try:
        for round_number in range(ROUNDS):
            state, plan = PLANS[round_number % len(PLANS)]
            start = library.bring_to(state)
            first_event = WorkflowEvent.objects.filter(item=start).order_by("-pk").values_list("pk", flat=True)[0]
            attempts = [library.task(*entry.split(":"), start) for entry in plan]
            results = racers.race([call for _, _, call in attempts])
            won = check_round(library, start, plan, attempts, results, first_event)
            assert_invariants(start, client=client if round_number % 10 == 0 else None)
            tally.rounds += 1
            tally.attempts += len(plan)
            tally.successes.update(won)
            tally.refusals.update(
                f"{entry.split(':')[0]}: {r[0]}" for entry, r in zip(plan, results, strict=True) if r[0] != "ok"
            )
    finally:
        racers.close()
    assert_invariants(library.fresh(), client=client)
    assert tally.attempts >= 1000
    assert sum(tally.successes.values()) >= ROUNDS  # the races were real: something won every round
    with capsys.disabled():
        print("\n" + tally.report())
