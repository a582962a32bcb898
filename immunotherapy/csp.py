"""The demo site's Content-Security-Policy, used by ``settings_production``.

Django 6.0 and later send it with their own middleware (``SECURE_CSP``); on Django 5.2 the
django-csp 4 package does. The directives are the same either way.

Nothing inline runs: healthlib's templates, the admin and markdownx load their JavaScript
from files, and JSON-LD ``<script type="application/ld+json">`` blocks are data, which CSP does
not treat as scripts. ``tests/test_browser_csp.py`` opens the admin (with the markdownx live
preview) and the reader pages in Chromium under this policy and fails on any violation.
"""

import django

SELF, NONE = "'self'", "'none'"

DIRECTIVES = {
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
}

#: Django's own CSP middleware exists from Django 6.0.
BUILT_IN = django.VERSION >= (6, 0)
MIDDLEWARE = "django.middleware.csp.ContentSecurityPolicyMiddleware" if BUILT_IN else "csp.middleware.CSPMiddleware"
#: The settings that turn the policy on, for the CSP implementation in use.
SETTINGS = {"SECURE_CSP": DIRECTIVES} if BUILT_IN else {"CONTENT_SECURITY_POLICY": {"DIRECTIVES": DIRECTIVES}}
#: Apps the CSP implementation needs installed.
APPS = [] if BUILT_IN else ["csp"]
