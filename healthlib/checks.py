"""System checks for the HEALTHLIB settings dict (healthlib.E001 ...).

Each check id means one thing: one row of the README's settings table failing one rule, so the id
alone tells a site what to fix. Ranges: E001-E011 the workflow and editing settings, E020-E029 the
readers' side, E030-E039 reader reports and link checks, E040-E049 the edge-cache purge backend.
Every id is listed in the README and tested in ``tests/test_checks.py``.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from healthlib.conf import DEFAULTS


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _seconds(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@register(Tags.compatibility)
def check_settings(app_configs=None, **kwargs) -> list[Error]:
    user = getattr(settings, "HEALTHLIB", {})
    if not isinstance(user, dict):
        return [Error("HEALTHLIB must be a dict.", id="healthlib.E001")]
    errors: list[Error] = []
    for key in sorted(set(user) - set(DEFAULTS)):
        errors.append(
            Error(
                f"HEALTHLIB has an unknown key {key!r}.",
                hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                id="healthlib.E002",
            )
        )
    if "REQUIRED_APPROVALS" in user and not _positive_int(user["REQUIRED_APPROVALS"]):
        errors.append(Error("HEALTHLIB['REQUIRED_APPROVALS'] must be an integer of at least 1.", id="healthlib.E003"))
    if "REVIEW_INTERVAL_DAYS" in user and not (
        _positive_int(user["REVIEW_INTERVAL_DAYS"]) and user["REVIEW_INTERVAL_DAYS"] <= 3650
    ):
        errors.append(
            Error("HEALTHLIB['REVIEW_INTERVAL_DAYS'] must be an integer from 1 to 3650.", id="healthlib.E004")
        )
    if "DATE_FORMAT" in user and not (isinstance(user["DATE_FORMAT"], str) and user["DATE_FORMAT"]):
        errors.append(
            Error("HEALTHLIB['DATE_FORMAT'] must be a non-empty Django date format string.", id="healthlib.E005")
        )
    function = getattr(settings, "MARKDOWNX_MARKDOWNIFY_FUNCTION", None)
    if "markdownx" in settings.INSTALLED_APPS and function != "healthlib.markup.render_markdown":
        errors.append(
            Error(
                "django-markdownx previews must go through healthlib's sanitizing pipeline.",
                hint="Set MARKDOWNX_MARKDOWNIFY_FUNCTION = 'healthlib.markup.render_markdown'.",
                id="healthlib.E006",
            )
        )
    for key in ("EDITOR_GROUP", "REVIEWER_GROUP", "VERIFIER_GROUP"):
        if key in user and not (isinstance(user[key], str) and user[key].strip()):
            errors.append(Error(f"HEALTHLIB['{key}'] must be a non-empty group name.", id="healthlib.E007"))
    if "READABILITY_TARGET_GRADE" in user and not (
        isinstance(user["READABILITY_TARGET_GRADE"], (int, float)) and 1 <= user["READABILITY_TARGET_GRADE"] <= 20
    ):
        errors.append(
            Error("HEALTHLIB['READABILITY_TARGET_GRADE'] must be a number from 1 to 20.", id="healthlib.E008")
        )
    if "MAX_UPLOAD_BYTES" in user and not (
        _positive_int(user["MAX_UPLOAD_BYTES"]) and user["MAX_UPLOAD_BYTES"] <= 100 * 1024 * 1024
    ):
        errors.append(
            Error(
                "HEALTHLIB['MAX_UPLOAD_BYTES'] must be a number of bytes from 1 to 104857600 (100 MB).",
                id="healthlib.E010",
            )
        )
    if "CREDENTIALS_VALID_MONTHS" in user and not (
        _positive_int(user["CREDENTIALS_VALID_MONTHS"]) and user["CREDENTIALS_VALID_MONTHS"] <= 120
    ):
        errors.append(
            Error(
                "HEALTHLIB['CREDENTIALS_VALID_MONTHS'] must be a whole number of months from 1 to 120.",
                id="healthlib.E011",
            )
        )
    if "CHECKLIST" in user and not _valid_checklist(user["CHECKLIST"]):
        errors.append(
            Error(
                'HEALTHLIB[\'CHECKLIST\'] must map checklist rules to "required", "recommended" or "off".',
                hint=f"Rules: {', '.join(DEFAULTS['CHECKLIST'])}.",
                id="healthlib.E009",
            )
        )
    return errors


def _valid_checklist(value) -> bool:
    return (
        isinstance(value, dict)
        and set(value) <= set(DEFAULTS["CHECKLIST"])
        and all(level in ("required", "recommended", "off") for level in value.values())
    )


_AD_SLOT = re.compile(r"^(after_intro|end|after_section_[1-9][0-9]*)$")


@register(Tags.compatibility)
def check_reader_settings(app_configs=None, **kwargs) -> list[Error]:
    """The readers' side: advertising slots, page cache, policy pages and list lengths (E020-E026, W020)."""
    user = getattr(settings, "HEALTHLIB", {})
    if not isinstance(user, dict):
        return []
    errors: list[Error] = []
    slots = user.get("AD_SLOTS", [])
    if not (isinstance(slots, (list, tuple)) and all(isinstance(s, str) and _AD_SLOT.match(s) for s in slots)):
        errors.append(
            Error(
                "HEALTHLIB['AD_SLOTS'] must be a list of slot positions.",
                hint='Positions: "after_intro", "after_section_N" (N = 1, 2, ...) and "end"; [] turns ads off.',
                id="healthlib.E020",
            )
        )
    caches = getattr(settings, "CACHES", {"default": {}})
    alias = user.get("CACHE_ALIAS", DEFAULTS["CACHE_ALIAS"])
    if alias not in caches:
        errors.append(Error(f"HEALTHLIB['CACHE_ALIAS'] names no cache in CACHES: {alias!r}.", id="healthlib.E021"))
    for key in ("EDITORIAL_POLICY_SLUG", "ADVERTISING_POLICY_SLUG"):
        if key in user and not (isinstance(user[key], str) and _SLUG.match(user[key])):
            errors.append(Error(f"HEALTHLIB['{key}'] must be an article slug.", id="healthlib.E022"))
    bookkeeping = user.get("CACHE_BOOKKEEPING_ALIAS")
    if bookkeeping is not None and bookkeeping not in caches:
        errors.append(
            Error(
                f"HEALTHLIB['CACHE_BOOKKEEPING_ALIAS'] names no cache in CACHES: {bookkeeping!r}.",
                hint="None keeps the content version in the CACHE_ALIAS cache.",
                id="healthlib.E023",
            )
        )
    if not _seconds(user.get("CACHE_TIMEOUT", 0)):
        errors.append(
            Error("HEALTHLIB['CACHE_TIMEOUT'] must be a whole number of seconds (0 or more).", id="healthlib.E024")
        )
    for key in ("CACHE_MAX_AGE", "CACHE_STALE_WHILE_REVALIDATE"):
        if not _seconds(user.get(key, 0)):
            errors.append(
                Error(f"HEALTHLIB['{key}'] must be a whole number of seconds (0 or more).", id="healthlib.E025")
            )
    for key in ("SEARCH_PAGE_SIZE", "RECENT_ARTICLES", "FEED_ITEMS"):
        if key in user and not _positive_int(user[key]):
            errors.append(Error(f"HEALTHLIB['{key}'] must be an integer of at least 1.", id="healthlib.E026"))
    if "django.contrib.sitemaps" not in settings.INSTALLED_APPS:
        errors.append(
            Warning(
                "healthlib's sitemap (/…/sitemap.xml) needs django.contrib.sitemaps in INSTALLED_APPS.",
                id="healthlib.W020",
            )
        )
    return errors


_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


@register(Tags.compatibility)
def check_trust_settings(app_configs=None, **kwargs) -> list[Error]:
    """Reader error reports (E030) and reference link checks (E031, E032)."""
    user = getattr(settings, "HEALTHLIB", {})
    if not isinstance(user, dict):
        return []
    errors: list[Error] = []
    for key in ("REPORT_RATE_LIMIT", "REPORT_RATE_WINDOW"):
        if key in user and not _positive_int(user[key]):
            errors.append(Error(f"HEALTHLIB['{key}'] must be an integer of at least 1.", id="healthlib.E030"))
    if "LINK_CHECK_TIMEOUT" in user and not (
        isinstance(user["LINK_CHECK_TIMEOUT"], (int, float))
        and not isinstance(user["LINK_CHECK_TIMEOUT"], bool)
        and 0 < user["LINK_CHECK_TIMEOUT"] <= 120
    ):
        errors.append(
            Error(
                "HEALTHLIB['LINK_CHECK_TIMEOUT'] must be a number of seconds above 0, at most 120.",
                id="healthlib.E031",
            )
        )
    if "LINK_CHECK_WORKERS" in user and not (
        _positive_int(user["LINK_CHECK_WORKERS"]) and user["LINK_CHECK_WORKERS"] <= 16
    ):
        errors.append(Error("HEALTHLIB['LINK_CHECK_WORKERS'] must be an integer from 1 to 16.", id="healthlib.E032"))
    return errors
