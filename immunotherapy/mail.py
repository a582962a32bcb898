"""The demo site's outgoing-mail settings, spelled for the Django version that runs them.

Django 6.1 configures mail as ``MAILERS`` (a backend and its options by name) and deprecates
``EMAIL_BACKEND`` and the ``EMAIL_*`` connection settings; Django 5.2 and 6.0 know only those.
Both spellings cannot be mixed on 6.1, so every place that picks a backend goes through here.
"""

from __future__ import annotations

from typing import Any

import django

#: ``EMAIL_*`` setting for each backend option whose name is not simply the option upper-cased.
_LEGACY_NAMES = {"username": "EMAIL_HOST_USER", "password": "EMAIL_HOST_PASSWORD"}


def mail_settings(backend: str, **options: Any) -> dict[str, Any]:
    """Settings that send mail through ``backend`` with ``options`` (``host``, ``port``, ``timeout``...)."""
    if django.VERSION >= (6, 1):
        return {"MAILERS": {"default": {"BACKEND": backend, "OPTIONS": options}}}
    legacy = {_LEGACY_NAMES.get(name, f"EMAIL_{name.upper()}"): value for name, value in options.items()}
    return {"EMAIL_BACKEND": backend, **legacy}
