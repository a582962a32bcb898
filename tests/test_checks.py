"""healthlib's system checks: each id means one thing, fires with its own message, and is documented.

``FIRES`` holds, per check id, settings that break its rule and the exact message; ``PASSES`` holds,
per id, the nearest correct settings, which must raise nothing at all. The last tests keep the two
tables, the ids in ``healthlib/checks.py`` and the README's table of checks in step.
"""

import re
from pathlib import Path

import django
import pytest
from django.conf import settings
from django.core.checks import registry
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent
FASTLY_OPTIONS = {"BACKEND": "fastly", "SERVICE_ID": "s", "API_TOKEN": "t"}
# django.tasks from Django 6, the django-tasks backport before.
DUMMY_TASKS = ("django.tasks" if django.VERSION >= (6,) else "django_tasks") + ".backends.dummy.DummyBackend"

FIRES = {
    "healthlib.E001": [({"HEALTHLIB": ["not", "a", "dict"]}, "HEALTHLIB must be a dict.")],
    "healthlib.E002": [({"HEALTHLIB": {"REQUIRED_APPROVAL": 2}}, "HEALTHLIB has an unknown key 'REQUIRED_APPROVAL'.")],
    "healthlib.E003": [
        (
            {"HEALTHLIB": {"REQUIRED_APPROVALS": value}},
            "HEALTHLIB['REQUIRED_APPROVALS'] must be an integer of at least 1.",
        )
        for value in (0, True, "2")
    ],
    "healthlib.E004": [
        (
            {"HEALTHLIB": {"REVIEW_INTERVAL_DAYS": value}},
            "HEALTHLIB['REVIEW_INTERVAL_DAYS'] must be an integer from 1 to 3650.",
        )
        for value in ("365", 0, 5000)
    ],
    "healthlib.E005": [
        (
            {"HEALTHLIB": {"DATE_FORMAT": value}},
            "HEALTHLIB['DATE_FORMAT'] must be a non-empty Django date format string.",
        )
        for value in ("", None)
    ],
    "healthlib.E006": [
        (
            {"MARKDOWNX_MARKDOWNIFY_FUNCTION": "markdownx.utils.markdownify"},
            "django-markdownx previews must go through healthlib's sanitizing pipeline.",
        )
    ],
    "healthlib.E007": [
        ({"HEALTHLIB": {key: value}}, f"HEALTHLIB['{key}'] must be a non-empty group name.")
        for key, value in (("EDITOR_GROUP", " "), ("REVIEWER_GROUP", None), ("VERIFIER_GROUP", ""))
    ],
    "healthlib.E008": [
        (
            {"HEALTHLIB": {"READABILITY_TARGET_GRADE": value}},
            "HEALTHLIB['READABILITY_TARGET_GRADE'] must be a number from 1 to 20.",
        )
        for value in (0, 21, "8")
    ],
    "healthlib.E009": [
        (
            {"HEALTHLIB": {"CHECKLIST": value}},
            'HEALTHLIB[\'CHECKLIST\'] must map checklist rules to "required", "recommended" or "off".',
        )
        for value in (["summary"], {"sumary": "required"}, {"summary": "mandatory"})
    ],
    "healthlib.E010": [
        (
            {"HEALTHLIB": {"MAX_UPLOAD_BYTES": value}},
            "HEALTHLIB['MAX_UPLOAD_BYTES'] must be a number of bytes from 1 to 104857600 (100 MB).",
        )
        for value in (0, "5MB", 100 * 1024 * 1024 + 1)
    ],
    "healthlib.E011": [
        (
            {"HEALTHLIB": {"CREDENTIALS_VALID_MONTHS": value}},
            "HEALTHLIB['CREDENTIALS_VALID_MONTHS'] must be a whole number of months from 1 to 120.",
        )
        for value in (0, 121, "24", True)
    ],
    "healthlib.E020": [
        ({"HEALTHLIB": {"AD_SLOTS": value}}, "HEALTHLIB['AD_SLOTS'] must be a list of slot positions.")
        for value in ("end", ["after_section_0"], ["inside_section_2"])
    ],
    "healthlib.E021": [
        ({"HEALTHLIB": {"CACHE_ALIAS": "nope"}}, "HEALTHLIB['CACHE_ALIAS'] names no cache in CACHES: 'nope'.")
    ],
    "healthlib.E022": [
        ({"HEALTHLIB": {key: "not a slug"}}, f"HEALTHLIB['{key}'] must be an article slug.")
        for key in ("EDITORIAL_POLICY_SLUG", "ADVERTISING_POLICY_SLUG")
    ],
    "healthlib.E023": [
        (
            {"HEALTHLIB": {"CACHE_BOOKKEEPING_ALIAS": "nope"}},
            "HEALTHLIB['CACHE_BOOKKEEPING_ALIAS'] names no cache in CACHES: 'nope'.",
        )
    ],
    "healthlib.E024": [
        (
            {"HEALTHLIB": {"CACHE_TIMEOUT": value}},
            "HEALTHLIB['CACHE_TIMEOUT'] must be a whole number of seconds (0 or more).",
        )
        for value in (-1, None, 1.5)
    ],
    "healthlib.E025": [
        ({"HEALTHLIB": {key: value}}, f"HEALTHLIB['{key}'] must be a whole number of seconds (0 or more).")
        for key, value in (("CACHE_MAX_AGE", -1), ("CACHE_STALE_WHILE_REVALIDATE", "60"))
    ],
    "healthlib.E026": [
        ({"HEALTHLIB": {key: 0}}, f"HEALTHLIB['{key}'] must be an integer of at least 1.")
        for key in ("SEARCH_PAGE_SIZE", "RECENT_ARTICLES", "FEED_ITEMS")
    ],
    "healthlib.W020": [
        (
            {"INSTALLED_APPS": [app for app in settings.INSTALLED_APPS if app != "django.contrib.sitemaps"]},
            "healthlib's sitemap (/…/sitemap.xml) needs django.contrib.sitemaps in INSTALLED_APPS.",
        )
    ],
    "healthlib.E030": [
        ({"HEALTHLIB": {key: value}}, f"HEALTHLIB['{key}'] must be an integer of at least 1.")
        for key, value in (("REPORT_RATE_LIMIT", 0), ("REPORT_RATE_WINDOW", "3600"))
    ],
    "healthlib.E031": [
        (
            {"HEALTHLIB": {"LINK_CHECK_TIMEOUT": value}},
            "HEALTHLIB['LINK_CHECK_TIMEOUT'] must be a number of seconds above 0, at most 120.",
        )
        for value in (0, True, 121)
    ],
    "healthlib.E032": [
        (
            {"HEALTHLIB": {"LINK_CHECK_WORKERS": value}},
            "HEALTHLIB['LINK_CHECK_WORKERS'] must be an integer from 1 to 16.",
        )
        for value in (0, 100, 2.0)
    ],
    # The HTTP cache in front (tests/test_purge_backends.py tests each backend's options further).
    "healthlib.E040": [
        (
            {"HEALTHLIB": {"CACHE_TAG_HEADER": value}},
            "HEALTHLIB['CACHE_TAG_HEADER'] must be one of 'Surrogate-Key', 'Cache-Tag', 'xkey' or None.",
        )
        for value in ("Surrogate-Keys", "", 1)
    ],
    "healthlib.E041": [
        (
            {"HEALTHLIB": {"CACHE_TAG_PREFIX": value}},
            "HEALTHLIB['CACHE_TAG_PREFIX'] must be letters, digits, '-' or '_'.",
        )
        for value in ("has space", "", None)
    ],
    "healthlib.E042": [
        (
            {"HEALTHLIB": {"EDGE_MAX_AGE": value}},
            "HEALTHLIB['EDGE_MAX_AGE'] must be a whole number of seconds (0 or more) or None.",
        )
        for value in (-1, "1d", True)
    ],
    "healthlib.E043": [
        (
            {"HEALTHLIB": {"CACHE_TAG_HEADER": "xkey", "PURGE_BACKENDS": value}},
            "HEALTHLIB['PURGE_BACKENDS'] must map aliases to dicts of options with a 'BACKEND'.",
        )
        for value in (["varnish"], {"edge": "varnish"})
    ],
    "healthlib.E044": [
        (
            {"HEALTHLIB": {"CACHE_TAG_HEADER": "xkey", "PURGE_BACKENDS": {"edge": {"BACKEND": value}}}},
            f"HEALTHLIB['PURGE_BACKENDS']['edge'] names an unknown purge backend: {value!r}.",
        )
        for value in ("akamai", None, "healthlib.conf.DEFAULTS")
    ],
    "healthlib.E045": [
        (
            {
                "HEALTHLIB": {
                    "CACHE_TAG_HEADER": "Surrogate-Key",
                    "PURGE_BACKENDS": {"edge": {"BACKEND": "fastly", "SERVICE_ID": "s"}},
                }
            },
            "HEALTHLIB['PURGE_BACKENDS']['edge']: API_TOKEN is missing.",
        )
    ],
    "healthlib.E046": [
        (
            {
                "HEALTHLIB": {
                    "CACHE_TAG_HEADER": "xkey",
                    "PURGE_BACKENDS": {"edge": {"BACKEND": "varnish", "URLS": ["http://v"], "MODE": "x"}},
                }
            },
            """HEALTHLIB['PURGE_BACKENDS']['edge']: MODE must be "xkey" or "ban".""",
        )
    ],
    "healthlib.E047": [
        (
            {
                "HEALTHLIB": {
                    "CACHE_TAG_HEADER": "xkey",
                    "PURGE_BACKENDS": {"cdn": {"BACKEND": "tests.test_purge_backends.NeedsALibrary"}},
                }
            },
            "HEALTHLIB['PURGE_BACKENDS']['cdn']: somelib is not installed (pip install somelib).",
        )
    ],
    "healthlib.E048": [
        (
            {"HEALTHLIB": {"PURGE_BACKENDS": {"edge": FASTLY_OPTIONS}}},
            "HEALTHLIB['PURGE_BACKENDS'] purge by tag, but no page carries tags.",
        )
    ],
    "healthlib.E050": [
        (
            {"TASKS": {"default": {"BACKEND": DUMMY_TASKS}}},
            "The task backend 'default' is the dummy backend: healthlib's emails, purges and re-linking would "
            "never run.",
        )
    ],
}

PASSES = {
    "healthlib.E001": {"HEALTHLIB": {}},
    "healthlib.E002": {"HEALTHLIB": {"REQUIRED_APPROVALS": 2}},
    "healthlib.E003": {"HEALTHLIB": {"REQUIRED_APPROVALS": 2}},
    "healthlib.E004": {"HEALTHLIB": {"REVIEW_INTERVAL_DAYS": 3650}},
    "healthlib.E005": {"HEALTHLIB": {"DATE_FORMAT": "j F Y"}},
    "healthlib.E006": {"MARKDOWNX_MARKDOWNIFY_FUNCTION": "healthlib.markup.render_markdown"},
    "healthlib.E007": {"HEALTHLIB": {"EDITOR_GROUP": "Writers", "REVIEWER_GROUP": "Doctors", "VERIFIER_GROUP": "HR"}},
    "healthlib.E008": {"HEALTHLIB": {"READABILITY_TARGET_GRADE": 6.5}},
    "healthlib.E009": {"HEALTHLIB": {"CHECKLIST": {"readability": "required", "references": "off"}}},
    "healthlib.E010": {"HEALTHLIB": {"MAX_UPLOAD_BYTES": 100 * 1024 * 1024}},
    "healthlib.E011": {"HEALTHLIB": {"CREDENTIALS_VALID_MONTHS": 120}},
    "healthlib.E020": {"HEALTHLIB": {"AD_SLOTS": ["after_intro", "after_section_2", "end"]}},
    "healthlib.E021": {"HEALTHLIB": {"CACHE_ALIAS": "default"}},
    "healthlib.E022": {"HEALTHLIB": {"EDITORIAL_POLICY_SLUG": "how-we-work", "ADVERTISING_POLICY_SLUG": "ads_2"}},
    "healthlib.E023": {"HEALTHLIB": {"CACHE_BOOKKEEPING_ALIAS": "default"}},
    "healthlib.E024": {"HEALTHLIB": {"CACHE_TIMEOUT": 0}},
    "healthlib.E025": {"HEALTHLIB": {"CACHE_MAX_AGE": 0, "CACHE_STALE_WHILE_REVALIDATE": 0}},
    "healthlib.E026": {"HEALTHLIB": {"SEARCH_PAGE_SIZE": 1, "RECENT_ARTICLES": 1, "FEED_ITEMS": 1}},
    "healthlib.W020": {"INSTALLED_APPS": settings.INSTALLED_APPS},
    "healthlib.E030": {"HEALTHLIB": {"REPORT_RATE_LIMIT": 10, "REPORT_RATE_WINDOW": 60}},
    "healthlib.E031": {"HEALTHLIB": {"LINK_CHECK_TIMEOUT": 2.5}},
    "healthlib.E032": {"HEALTHLIB": {"LINK_CHECK_WORKERS": 16}},
    "healthlib.E040": {"HEALTHLIB": {"CACHE_TAG_HEADER": "Cache-Tag"}},
    "healthlib.E041": {"HEALTHLIB": {"CACHE_TAG_PREFIX": "onco_2"}},
    "healthlib.E042": {"HEALTHLIB": {"EDGE_MAX_AGE": 0}},
    "healthlib.E043": {"HEALTHLIB": {"PURGE_BACKENDS": {}}},
    "healthlib.E044": {"HEALTHLIB": {"PURGE_BACKENDS": {"edge": {"BACKEND": "none"}}}},
    "healthlib.E045": {"HEALTHLIB": {"CACHE_TAG_HEADER": "Surrogate-Key", "PURGE_BACKENDS": {"edge": FASTLY_OPTIONS}}},
    "healthlib.E046": {
        "HEALTHLIB": {
            "CACHE_TAG_HEADER": "xkey",
            "PURGE_BACKENDS": {"edge": {"BACKEND": "varnish", "URLS": ["http://v"], "MODE": "ban"}},
        }
    },
    "healthlib.E047": {"HEALTHLIB": {"PURGE_BACKENDS": {"cdn": {"BACKEND": "cloudfront", "DISTRIBUTION_ID": "E1"}}}},
    "healthlib.E048": {"HEALTHLIB": {"CACHE_TAG_HEADER": "Surrogate-Key", "PURGE_BACKENDS": {"edge": FASTLY_OPTIONS}}},
    "healthlib.E050": {
        "TASKS": {"default": {"BACKEND": DUMMY_TASKS.replace("dummy.DummyBackend", "immediate.ImmediateBackend")}}
    },
}


def healthlib_checks():
    """Every check healthlib registers (model and database checks left out: no database needed)."""
    return [check for check in registry.registry.get_checks() if check.__module__.startswith("healthlib.")]


def messages(**overrides) -> list[tuple[str, str]]:
    with override_settings(**overrides):
        return [(message.id, message.msg) for check in healthlib_checks() for message in check()]


def test_default_settings_pass():
    assert messages() == []


@pytest.mark.parametrize(
    "overrides, check_id, message",
    [(overrides, check_id, message) for check_id, cases in FIRES.items() for overrides, message in cases],
)
def test_each_check_fires_with_its_own_message(overrides, check_id, message):
    assert messages(**overrides) == [(check_id, message)]


@pytest.mark.parametrize("check_id, overrides", PASSES.items())
def test_the_correct_setting_passes(check_id, overrides):
    assert messages(**overrides) == []


def test_each_check_reports_every_bad_key_of_its_row():
    bad = {"EDITOR_GROUP": "", "REVIEWER_GROUP": "", "CACHE_MAX_AGE": -1, "CACHE_STALE_WHILE_REVALIDATE": -1}
    assert (
        sorted(check_id for check_id, _ in messages(HEALTHLIB=bad)) == ["healthlib.E007"] * 2 + ["healthlib.E025"] * 2
    )


def test_unknown_keys_are_named_with_a_hint():
    with override_settings(HEALTHLIB={"REQUIRED_APPROVAL": 2}):
        (error,) = [message for check in healthlib_checks() for message in check()]
    assert "REQUIRED_APPROVALS" in error.hint


def test_every_id_in_the_code_is_tested():
    """A new check needs a row in FIRES and in PASSES (and a renumbered one leaves no stale row)."""
    in_code = {
        check_id
        for path in (ROOT / "healthlib").rglob("*.py")
        for check_id in re.findall(r'id="(healthlib\.[EW]\d{3})"', path.read_text())
    }
    assert in_code == set(FIRES) == set(PASSES)


def test_every_id_is_in_the_readme_checks_table():
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `(healthlib\.[EW]0\d\d)` \|", readme, flags=re.MULTILINE)
    assert sorted(rows) == sorted(FIRES)


def test_every_setting_is_in_the_readme_settings_table():
    """E002 refuses any key not in DEFAULTS, so the README's table must name every one of them."""
    from healthlib.conf import DEFAULTS

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Settings") : readme.index("## System checks")]
    keys = {
        key
        for row in re.findall(r"^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \|", table, flags=re.MULTILINE)
        for key in re.findall(r"`([A-Z_]+)`", row)
    }
    assert keys == set(DEFAULTS)
