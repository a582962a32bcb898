"""healthlib.conf: settings read lazily, and the bounds settings share with content."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings

import healthlib
from healthlib.conf import MAX_REVIEW_INTERVAL_DAYS, healthlib_settings, is_review_interval


def test_settings_are_read_on_every_access():
    assert healthlib_settings.REVIEW_INTERVAL_DAYS == 365
    with override_settings(HEALTHLIB={"REVIEW_INTERVAL_DAYS": 30}):
        assert healthlib_settings.REVIEW_INTERVAL_DAYS == 30
    with pytest.raises(AttributeError):
        healthlib_settings.NO_SUCH_SETTING  # noqa: B018


@pytest.mark.parametrize("value", [1, 365, MAX_REVIEW_INTERVAL_DAYS])
def test_review_intervals_are_whole_days_up_to_ten_years(value):
    assert is_review_interval(value)


@pytest.mark.parametrize("value", [0, -1, MAX_REVIEW_INTERVAL_DAYS + 1, True, "365", 365.0, None])
def test_anything_else_is_not_a_review_interval(value):
    assert not is_review_interval(value)


def test_the_review_interval_bound_is_written_once():
    package = Path(healthlib.__file__).parent
    spelled = sorted(
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if "migrations" not in path.parts and str(MAX_REVIEW_INTERVAL_DAYS) in path.read_text(encoding="utf-8")
    )
    assert spelled == ["conf.py"]
