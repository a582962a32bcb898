import pytest
from django.test import override_settings

from healthlib.checks import check_settings, check_trust_settings


def ids(**settings):
    with override_settings(**settings):
        return [error.id for error in check_settings()]


def test_default_settings_pass():
    assert ids() == []


@pytest.mark.parametrize(
    "settings, expected",
    [
        ({"HEALTHLIB": ["not", "a", "dict"]}, "healthlib.E001"),
        ({"HEALTHLIB": {"REQUIRED_APPROVAL": 2}}, "healthlib.E002"),
        ({"HEALTHLIB": {"REQUIRED_APPROVALS": 0}}, "healthlib.E003"),
        ({"HEALTHLIB": {"REQUIRED_APPROVALS": True}}, "healthlib.E003"),
        ({"HEALTHLIB": {"REVIEW_INTERVAL_DAYS": "365"}}, "healthlib.E004"),
        ({"HEALTHLIB": {"REVIEW_INTERVAL_DAYS": 5000}}, "healthlib.E004"),
        ({"HEALTHLIB": {"DATE_FORMAT": ""}}, "healthlib.E005"),
        ({"MARKDOWNX_MARKDOWNIFY_FUNCTION": "markdownx.utils.markdownify"}, "healthlib.E006"),
        ({"HEALTHLIB": {"EDITOR_GROUP": " "}}, "healthlib.E007"),
        ({"HEALTHLIB": {"READABILITY_TARGET_GRADE": 0}}, "healthlib.E008"),
        ({"HEALTHLIB": {"VERIFIER_GROUP": ""}}, "healthlib.E007"),
        ({"HEALTHLIB": {"CREDENTIALS_VALID_MONTHS": 0}}, "healthlib.E011"),
        ({"HEALTHLIB": {"CREDENTIALS_VALID_MONTHS": 121}}, "healthlib.E011"),
        ({"HEALTHLIB": {"CREDENTIALS_VALID_MONTHS": "24"}}, "healthlib.E011"),
        ({"HEALTHLIB": {"CREDENTIALS_VALID_MONTHS": True}}, "healthlib.E011"),
        ({"HEALTHLIB": {"CHECKLIST": ["summary"]}}, "healthlib.E009"),
        ({"HEALTHLIB": {"CHECKLIST": {"sumary": "required"}}}, "healthlib.E009"),
        ({"HEALTHLIB": {"CHECKLIST": {"summary": "mandatory"}}}, "healthlib.E009"),
    ],
)
def test_each_check_fires(settings, expected):
    assert ids(**settings) == [expected]


def test_partial_checklist_is_valid():
    assert ids(HEALTHLIB={"CHECKLIST": {"readability": "required", "references": "off"}}) == []


@pytest.mark.parametrize(
    "healthlib, expected",
    [
        ({"AD_SLOTS": "end"}, "healthlib.E020"),
        ({"AD_SLOTS": ["after_section_0"]}, "healthlib.E020"),
        ({"AD_SLOTS": ["inside_section_2"]}, "healthlib.E020"),
        ({"CACHE_ALIAS": "nope"}, "healthlib.E021"),
        ({"CACHE_BOOKKEEPING_ALIAS": "nope"}, "healthlib.E021"),
        ({"CACHE_MAX_AGE": -1}, "healthlib.E021"),
        ({"EDITORIAL_POLICY_SLUG": "not a slug"}, "healthlib.E022"),
        ({"SEARCH_PAGE_SIZE": 0}, "healthlib.E022"),
    ],
)
def test_each_reader_check_fires(healthlib, expected):
    from healthlib.checks import check_reader_settings

    with override_settings(HEALTHLIB=healthlib):
        assert [error.id for error in check_settings() + check_reader_settings()] == [expected]


def test_valid_reader_settings_pass():
    from healthlib.checks import check_reader_settings

    with override_settings(HEALTHLIB={"AD_SLOTS": ["after_intro", "after_section_2", "end"], "CACHE_MAX_AGE": 0}):
        assert check_settings() + check_reader_settings() == []


def test_missing_sitemaps_app_warns():
    from django.conf import settings

    from healthlib.checks import check_reader_settings

    apps = [app for app in settings.INSTALLED_APPS if app != "django.contrib.sitemaps"]
    with override_settings(INSTALLED_APPS=apps):
        assert [error.id for error in check_reader_settings()] == ["healthlib.W020"]


@pytest.mark.parametrize(
    "healthlib, expected",
    [
        ({"REPORT_RATE_LIMIT": 0}, "healthlib.E030"),
        ({"REPORT_RATE_WINDOW": "3600"}, "healthlib.E030"),
        ({"LINK_CHECK_TIMEOUT": 0}, "healthlib.E031"),
        ({"LINK_CHECK_TIMEOUT": True}, "healthlib.E031"),
        ({"LINK_CHECK_WORKERS": 100}, "healthlib.E031"),
    ],
)
def test_each_trust_check_fires(healthlib, expected):
    with override_settings(HEALTHLIB=healthlib):
        assert [error.id for error in check_settings() + check_trust_settings()] == [expected]


def test_valid_trust_settings_pass():
    healthlib = {"REPORT_RATE_LIMIT": 10, "REPORT_RATE_WINDOW": 60, "LINK_CHECK_TIMEOUT": 2.5, "LINK_CHECK_WORKERS": 8}
    with override_settings(HEALTHLIB=healthlib):
        assert check_settings() + check_trust_settings() == []


@pytest.mark.parametrize("months", [1, 24, 120])
def test_credential_validity_in_range_passes(months):
    assert ids(HEALTHLIB={"CREDENTIALS_VALID_MONTHS": months}) == []
