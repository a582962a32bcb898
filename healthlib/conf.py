"""The ``HEALTHLIB`` settings dict, merged with defaults on every read.

Reading lazily (instead of copying values at import time) keeps
``override_settings(HEALTHLIB=...)`` working in tests.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # How many distinct medical reviewers must approve the same content before it can be published.
    "REQUIRED_APPROVALS": 1,
    # Days between reviews of live content, unless an item sets its own interval.
    "REVIEW_INTERVAL_DAYS": 365,
    # Django date format for "Last reviewed on" (default MM/DD/YYYY).
    "DATE_FORMAT": "m/d/Y",
    # Show "Next review due" to readers.
    "SHOW_NEXT_REVIEW_DUE": False,
    # Name of the library, used in page titles, feeds and structured data.
    "SITE_NAME": "Health library",
    # Publisher name used in structured data.
    "PUBLISHER": "Health library",
    # Flesch-Kincaid grade that content should not exceed.
    "READABILITY_TARGET_GRADE": 8.0,
    # Largest markdown body accepted, in characters.
    "MAX_BODY_CHARS": 200_000,
    # Largest image an editor may upload through the markdown editor, in bytes.
    "MAX_UPLOAD_BYTES": 5 * 1024 * 1024,
    # Words per minute used for the reading-time estimate.
    "READING_WORDS_PER_MINUTE": 200,
    # Names of the groups that healthlib creates and fills with its permissions.
    "EDITOR_GROUP": "Editors",
    "REVIEWER_GROUP": "Medical reviewers",
    "VERIFIER_GROUP": "Credential verifiers",
    # Months a verification of a reviewer's credentials stays valid; after that they cannot approve or reaffirm.
    "CREDENTIALS_VALID_MONTHS": 24,
    # Sender of workflow emails; None means DEFAULT_FROM_EMAIL.
    "EMAIL_FROM": None,
    # Pre-publish checklist: each rule is "required" (blocks submit and publish), "recommended" (warns) or "off".
    # A partial dict is merged with these defaults.
    "CHECKLIST": {
        "summary": "required",
        "references": "required",
        "readability": "recommended",
        "glossary_published": "required",
        "comments_resolved": "required",
        "references_reachable": "recommended",
    },
    # Slugs of the policy articles (article type "policy") that every article page links to.
    "EDITORIAL_POLICY_SLUG": "editorial-process",
    "ADVERTISING_POLICY_SLUG": "advertising-policy",
    # Where article pages show advertising: "after_intro", "after_section_N" (N >= 1), "end". Empty: no ads.
    "AD_SLOTS": [],
    # Ad markup placed inside each slot by the default healthlib/ad_slot.html (trusted HTML from the site).
    "AD_HTML": "",
    # Page cache: which cache, how long entries live, and the Cache-Control sent to CDNs and browsers.
    "CACHE_ALIAS": "default",
    "CACHE_TIMEOUT": 86400,
    "CACHE_MAX_AGE": 300,
    "CACHE_STALE_WHILE_REVALIDATE": 60,
    # The cache holding the generations of the pages' tags, out of reach of the page cache's culling; None: the page
    # cache itself (for a FileBasedCache, a subdirectory it never culls).
    "CACHE_BOOKKEEPING_ALIAS": None,
    # Items per page of search results, recently reviewed articles on the home page, and feed entries.
    "SEARCH_PAGE_SIZE": 20,
    "RECENT_ARTICLES": 6,
    "FEED_ITEMS": 30,
    # Reader error reports: how many one client (by IP address) may send per window of seconds.
    "REPORT_RATE_LIMIT": 5,
    "REPORT_RATE_WINDOW": 3600,
    # Reference link checks (healthlib_check_links): seconds to wait for each server, parallel requests.
    "LINK_CHECK_TIMEOUT": 10,
    "LINK_CHECK_WORKERS": 4,
    # The HTTP cache in front (Varnish, a CDN): the response header carrying each reader page's cache
    # tags ("Surrogate-Key", "Cache-Tag" or "xkey"; None: no tags), a prefix for the tags (sites
    # sharing one CDN account keep theirs apart), and how long the edge may keep a page (seconds, in
    # Surrogate-Control and CDN-Cache-Control; None: the edge follows Cache-Control like a browser).
    "CACHE_TAG_HEADER": None,
    "CACHE_TAG_PREFIX": "hl",
    "EDGE_MAX_AGE": None,
    # Where purges by cache tag go after each commit: alias -> {"BACKEND": "varnish" | "fastly" |
    # "cloudflare" | "cloudfront" | "none", plus that backend's options}. Empty: nothing is purged.
    "PURGE_BACKENDS": {},
}


#: The longest review interval in days (ten years): for ``REVIEW_INTERVAL_DAYS`` and for any one item.
#: Waits between attempts at failed background work (purges, emails, derived work): the first, then
#: doubling per failed attempt up to the longest.
FIRST_RETRY_DELAY = datetime.timedelta(seconds=30)
MAX_RETRY_DELAY = datetime.timedelta(hours=1)


def retry_delay(attempts: int) -> datetime.timedelta:
    """How long to wait before trying failed work again, after ``attempts`` failed attempts."""
    return min(FIRST_RETRY_DELAY * 2 ** min(attempts, 10), MAX_RETRY_DELAY)


MAX_REVIEW_INTERVAL_DAYS = 3650


def is_review_interval(value: object) -> bool:
    """True for a whole number of days from 1 to :data:`MAX_REVIEW_INTERVAL_DAYS` (``True`` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_REVIEW_INTERVAL_DAYS


class HealthlibSettings:
    """Attribute access to HEALTHLIB settings: ``conf.healthlib_settings.REQUIRED_APPROVALS``.

    The annotations give each setting's type to type checkers (the system checks hold the values to
    them); they are not attributes, so every read goes through ``__getattr__``. One per DEFAULTS key.
    """

    REQUIRED_APPROVALS: int
    REVIEW_INTERVAL_DAYS: int
    DATE_FORMAT: str
    SHOW_NEXT_REVIEW_DUE: bool
    SITE_NAME: str
    PUBLISHER: str
    READABILITY_TARGET_GRADE: float
    MAX_BODY_CHARS: int
    MAX_UPLOAD_BYTES: int
    READING_WORDS_PER_MINUTE: int
    EDITOR_GROUP: str
    REVIEWER_GROUP: str
    VERIFIER_GROUP: str
    CREDENTIALS_VALID_MONTHS: int
    EMAIL_FROM: str | None
    CHECKLIST: dict[str, str]
    EDITORIAL_POLICY_SLUG: str
    ADVERTISING_POLICY_SLUG: str
    AD_SLOTS: Sequence[str]
    AD_HTML: str
    CACHE_ALIAS: str
    CACHE_TIMEOUT: int
    CACHE_MAX_AGE: int
    CACHE_STALE_WHILE_REVALIDATE: int
    CACHE_BOOKKEEPING_ALIAS: str | None
    SEARCH_PAGE_SIZE: int
    RECENT_ARTICLES: int
    FEED_ITEMS: int
    REPORT_RATE_LIMIT: int
    REPORT_RATE_WINDOW: int
    LINK_CHECK_TIMEOUT: float
    LINK_CHECK_WORKERS: int
    CACHE_TAG_HEADER: str | None
    CACHE_TAG_PREFIX: str
    EDGE_MAX_AGE: int | None
    PURGE_BACKENDS: dict[str, dict[str, Any]]

    def _user_settings(self) -> dict[str, Any]:
        value = getattr(settings, "HEALTHLIB", {})
        return value if isinstance(value, dict) else {}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown healthlib setting {name!r}")
        return self._user_settings().get(name, DEFAULTS[name])


healthlib_settings = HealthlibSettings()
