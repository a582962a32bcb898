"""The "someone else has this draft open" notice."""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.utils import timezone

from healthlib import presence


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_nobody_else_when_alone(editor):
    presence.touch(1, editor)
    assert presence.others(1, editor) == []


def test_other_editor_is_listed_with_name_and_time(editor, editor2):
    editor2.first_name, editor2.last_name = "Dana", "Smith"
    now = timezone.now()
    presence.touch(1, editor2, now=now - datetime.timedelta(minutes=2))
    presence.touch(1, editor, now=now)
    [other] = presence.others(1, editor, now=now)
    assert (other.user_id, other.name, other.username) == (editor2.pk, "Dana Smith", "editor2")
    assert abs((other.opened_at - (now - datetime.timedelta(minutes=2))).total_seconds()) < 1
    # The other editor sees the first one too.
    assert [p.username for p in presence.others(1, editor2, now=now)] == ["editor"]


def test_entries_are_per_item(editor, editor2):
    presence.touch(1, editor2)
    assert presence.others(2, editor) == []


def test_old_entries_expire(editor, editor2):
    now = timezone.now()
    presence.touch(1, editor2, now=now - datetime.timedelta(seconds=presence.TTL_SECONDS + 1))
    assert presence.others(1, editor, now=now) == []


def test_reloading_refreshes_the_time(editor, editor2):
    now = timezone.now()
    presence.touch(1, editor2, now=now - datetime.timedelta(seconds=presence.TTL_SECONDS - 10))
    presence.touch(1, editor2, now=now)
    assert presence.others(1, editor, now=now + datetime.timedelta(seconds=60))


def test_leave_removes_only_that_user(editor, editor2, reviewer):
    presence.touch(1, editor2)
    presence.touch(1, reviewer)
    presence.leave(1, editor2)
    assert [p.username for p in presence.others(1, editor)] == ["reviewer"]


def test_anonymous_is_never_recorded(editor):
    presence.touch(1, AnonymousUser())
    assert presence.others(1, editor) == []
