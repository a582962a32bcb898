"""The demo site's Content-Security-Policy (django-csp 4), used by ``settings_production``.

Nothing inline runs: healthlib's templates, the admin and markdownx load their JavaScript
from files, and JSON-LD ``<script type="application/ld+json">`` blocks are data, which CSP does
not treat as scripts. ``tests/test_browser_csp.py`` opens the admin (with the markdownx live
preview) and the reader pages in Chromium under this policy and fails on any violation.
"""

from csp.constants import NONE, SELF

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # Uploaded images and the admin's icons come from this site; markdown may link images elsewhere
        # over https only.
        "img-src": [SELF, "https:"],
        "font-src": [SELF],
        # The markdownx preview and upload are XHR POSTs to this site.
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
