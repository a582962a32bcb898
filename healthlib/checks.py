"""System checks for the HEALTHLIB settings dict (healthlib.E001 ...).

Each check id means one thing: one row of the README's settings table failing one rule, so the id
alone tells a site what to fix. Ranges: E001-E011 the workflow and editing settings, E020-E029 the
readers' side, E030-E039 reader reports and link checks, E040-E049 the edge-cache purge backend,
E050-E053 the task backend of healthlib's background work.
Every id is listed in the README and tested in ``tests/test_checks.py``.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from healthlib import tasks
from healthlib.cache_tags import HEADERS
from healthlib.conf import DEFAULTS, MAX_REVIEW_INTERVAL_DAYS, is_review_interval
from healthlib.purge.backends import INVALID, MISSING, NAMES, backend_class


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
    if "REVIEW_INTERVAL_DAYS" in user and not is_review_interval(user["REVIEW_INTERVAL_DAYS"]):
        errors.append(
            Error(
                f"HEALTHLIB['REVIEW_INTERVAL_DAYS'] must be an integer from 1 to {MAX_REVIEW_INTERVAL_DAYS}.",
                id="healthlib.E004",
            )
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
                hint="None keeps the generations of the pages' tags in the CACHE_ALIAS cache.",
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


@register(Tags.compatibility)
def check_edge_settings(app_configs=None, **kwargs) -> list[Error]:
    """The HTTP cache in front: tag header (E040), tag prefix (E041), edge lifetime (E042), purge backends (E043-E048)."""
    user = getattr(settings, "HEALTHLIB", {})
    if not isinstance(user, dict):
        return []
    errors: list[Error] = []
    header = user.get("CACHE_TAG_HEADER")
    if header is not None and header not in HEADERS:
        errors.append(
            Error(
                f"HEALTHLIB['CACHE_TAG_HEADER'] must be one of {', '.join(map(repr, HEADERS))} or None.",
                id="healthlib.E040",
            )
        )
    if "CACHE_TAG_PREFIX" in user and not (
        isinstance(user["CACHE_TAG_PREFIX"], str) and _SLUG.match(user["CACHE_TAG_PREFIX"])
    ):
        errors.append(Error("HEALTHLIB['CACHE_TAG_PREFIX'] must be letters, digits, '-' or '_'.", id="healthlib.E041"))
    max_age = user.get("EDGE_MAX_AGE")
    if max_age is not None and not (isinstance(max_age, int) and not isinstance(max_age, bool) and max_age >= 0):
        errors.append(
            Error(
                "HEALTHLIB['EDGE_MAX_AGE'] must be a whole number of seconds (0 or more) or None.", id="healthlib.E042"
            )
        )
    backends = user.get("PURGE_BACKENDS", {})
    if not (isinstance(backends, dict) and all(isinstance(o, dict) for o in backends.values())):
        return [
            *errors,
            Error(
                "HEALTHLIB['PURGE_BACKENDS'] must map aliases to dicts of options with a 'BACKEND'.",
                id="healthlib.E043",
            ),
        ]
    for alias, options in backends.items():
        name = options.get("BACKEND")
        try:
            cls = backend_class(name) if isinstance(name, str) and name else None
        except (ImportError, TypeError):
            cls = None
        if cls is None:
            errors.append(
                Error(
                    f"HEALTHLIB['PURGE_BACKENDS'][{alias!r}] names an unknown purge backend: {name!r}.",
                    hint=f"Use one of {', '.join(NAMES)} or the dotted path of a PurgeBackend subclass.",
                    id="healthlib.E044",
                )
            )
            continue
        for kind, problem in cls.problems(options):
            message = f"HEALTHLIB['PURGE_BACKENDS'][{alias!r}]: {problem}."
            if kind == MISSING:
                errors.append(Error(message, id="healthlib.E045"))
            elif kind == INVALID:
                errors.append(Error(message, id="healthlib.E046"))
            else:
                errors.append(Error(message, id="healthlib.E047"))
    if backends and header is None and any(o.get("BACKEND") not in ("none", "cloudfront") for o in backends.values()):
        errors.append(
            Error(
                "HEALTHLIB['PURGE_BACKENDS'] purge by tag, but no page carries tags.",
                hint="Set HEALTHLIB['CACHE_TAG_HEADER'] (Surrogate-Key for Fastly, Cache-Tag for Cloudflare, xkey for Varnish).",
                id="healthlib.E048",
            )
        )
    return errors


@register(Tags.compatibility)
def check_task_backend(app_configs=None, **kwargs) -> list[Error]:
    """The task backend that runs healthlib's background work (E050).

    A backend that cannot be loaded, or that lacks healthlib's queue, already stops start-up when
    :mod:`healthlib.tasks` defines its tasks; what would pass silently is a backend that accepts
    tasks and never runs them: no workflow email, purge or re-link would ever happen.
    """
    backend = tasks.send_emails.get_backend()
    if type(backend).__name__ == "DummyBackend" and type(backend).__module__.endswith(".backends.dummy"):
        return [
            Error(
                f"The task backend {backend.alias!r} is the dummy backend: healthlib's emails, purges and "
                "re-linking would never run.",
                hint="Use the immediate backend (the default) or a database backend with its worker (docs/deploy.md).",
                id="healthlib.E050",
            )
        ]
    return []
