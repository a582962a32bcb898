import types
import typing
from pathlib import Path

import pytest
from django.test import override_settings

import healthlib
from healthlib.conf import (
    DEFAULTS,
    MAX_REVIEW_INTERVAL_DAYS,
    HealthlibSettings,
    healthlib_settings,
    is_review_interval,
)


def _runtime_types(hint: typing.Any) -> tuple[type, ...]:
    """The classes a value of this annotation may be (int counts as float, as type checkers have it)."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (types.UnionType, typing.Union) else (hint,)
    classes = tuple(typing.get_origin(option) or option for option in options)
    return classes + (int,) if float in classes else classes


def test_every_setting_is_typed_and_its_default_fits_the_type():
    hints = typing.get_type_hints(HealthlibSettings)
    assert set(hints) == set(DEFAULTS)
    for name, default in DEFAULTS.items():
        assert isinstance(default, _runtime_types(hints[name])), (name, default, hints[name])


def test_typed_settings_are_still_read_on_every_access():
    # The annotations must not become class attributes, or override_settings would stop working.
    assert healthlib_settings.REQUIRED_APPROVALS == 1
    with override_settings(HEALTHLIB={"REQUIRED_APPROVALS": 2}):
        assert healthlib_settings.REQUIRED_APPROVALS == 2


def test_unknown_setting_is_an_attribute_error():
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


def test_failed_background_work_waits_twice_as_long_each_time_up_to_an_hour():
    import datetime

    from healthlib.conf import retry_delay

    assert [retry_delay(n).total_seconds() for n in range(4)] == [30, 60, 120, 240]
    assert retry_delay(7) == datetime.timedelta(hours=1)  # 3,840 s, capped
    assert retry_delay(10_000) == datetime.timedelta(hours=1)
