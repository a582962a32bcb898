import types
import typing

import pytest
from django.test import override_settings

from healthlib.conf import DEFAULTS, HealthlibSettings, healthlib_settings


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
