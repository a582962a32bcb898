"""Who else has an item's edit form open: a best-effort notice, kept in Django's cache.

One cache key per item holds ``{user id: (display name, username, opened at)}``. Each load of
the change form refreshes the viewer's entry and the key's time-to-live; entries older than
:data:`TTL_SECONDS` are dropped on read. This is a courtesy notice, not a lock: the stale-version
check in :func:`healthlib.workflow.save_draft` is what actually protects edits.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

#: How long an open form counts as "open" without being reloaded.
TTL_SECONDS = 15 * 60
KEY = "healthlib:presence:{pk}"


@dataclass(frozen=True)
class Presence:
    user_id: int
    name: str
    username: str
    opened_at: datetime.datetime

    @property
    def just_now(self) -> bool:
        return (timezone.now() - self.opened_at).total_seconds() < 60


def _key(item_pk: int) -> str:
    return KEY.format(pk=item_pk)


def _fresh(entries: dict, now: datetime.datetime) -> dict:
    cutoff = now.timestamp() - TTL_SECONDS
    return {uid: entry for uid, entry in entries.items() if entry[2] >= cutoff}


def touch(item_pk: int, user, now: datetime.datetime | None = None) -> None:
    """Record that ``user`` has just opened (or reloaded) the item's edit form."""
    if user is None or not user.is_authenticated:
        return
    now = now or timezone.now()
    entries = _fresh(cache.get(_key(item_pk)) or {}, now)
    entries[user.pk] = (user.get_full_name() or user.get_username(), user.get_username(), now.timestamp())
    cache.set(_key(item_pk), entries, TTL_SECONDS)


def leave(item_pk: int, user) -> None:
    """Forget ``user``'s entry (after they saved or left)."""
    entries = cache.get(_key(item_pk)) or {}
    if entries.pop(getattr(user, "pk", None), None) is not None:
        cache.set(_key(item_pk), entries, TTL_SECONDS)


def others(item_pk: int, user, now: datetime.datetime | None = None) -> list[Presence]:
    """Everyone but ``user`` who opened the item's form within the time-to-live, most recent first."""
    now = now or timezone.now()
    entries = _fresh(cache.get(_key(item_pk)) or {}, now)
    people = [
        Presence(uid, name, username, datetime.datetime.fromtimestamp(ts, tz=datetime.UTC))
        for uid, (name, username, ts) in entries.items()
        if uid != getattr(user, "pk", None)
    ]
    return sorted(people, key=lambda p: p.opened_at, reverse=True)
